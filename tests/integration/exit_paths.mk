# tests/integration/exit_paths.mk: statistics however a program ends
# (return, exit, abort, a bad free), included by the top-level Makefile.am.
check_PROGRAMS += tests/integration/exit_paths
tests_integration_exit_paths_SOURCES = tests/integration/exit_paths.c
tests_integration_exit_paths_LDADD = $(PTHREAD_LIBS)
TESTS += tests/integration/exit_paths.sh
EXTRA_DIST += tests/integration/exit_paths.sh
