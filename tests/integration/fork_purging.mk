# tests/integration/fork_purging.mk: fork and _Fork while the background
# thread purges, included by the top-level Makefile.am.
check_PROGRAMS += tests/integration/fork_purging
tests_integration_fork_purging_SOURCES = tests/integration/fork_purging.c
TESTS += tests/integration/fork_purging.sh
EXTRA_DIST += tests/integration/fork_purging.sh
