# tests/integration/dlopen_unload.mk: the library loaded and unloaded with
# dlopen and dlclose, included by the top-level Makefile.am.

# Loads the library itself, by the path it is given.
check_PROGRAMS += tests/integration/dlopen_unload
tests_integration_dlopen_unload_SOURCES = tests/integration/dlopen_unload.c
tests_integration_dlopen_unload_LDADD = $(PTHREAD_LIBS) -ldl
TESTS += tests/integration/dlopen_unload.sh
EXTRA_DIST += tests/integration/dlopen_unload.sh
