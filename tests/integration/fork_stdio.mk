# tests/integration/fork_stdio.mk: fork beside threads inside stdio, included
# by the top-level Makefile.am.
check_PROGRAMS += tests/integration/fork_stdio
tests_integration_fork_stdio_SOURCES = tests/integration/fork_stdio.c
tests_integration_fork_stdio_LDADD = $(PTHREAD_LIBS)
TESTS += tests/integration/fork_stdio.sh
EXTRA_DIST += tests/integration/fork_stdio.sh
