# tests/integration/remote_free_window.mk: a remote free held by gdb in the
# window after it publishes its block, included by the top-level
# Makefile.am.

# Run preloaded, under gdb.
check_PROGRAMS += tests/integration/remote_free_window
tests_integration_remote_free_window_SOURCES = tests/integration/remote_free_window.c
tests_integration_remote_free_window_LDADD = $(PTHREAD_LIBS)
TESTS += tests/integration/remote_free_window.sh
EXTRA_DIST += tests/integration/remote_free_window.sh tests/integration/remote_free_window.py
