# tests/integration/abandoned_idle.mk: memory of an exited thread, freed by
# an idle one; included by the top-level Makefile.am.

check_PROGRAMS += tests/integration/abandoned_idle
tests_integration_abandoned_idle_SOURCES = tests/integration/abandoned_idle.c
tests_integration_abandoned_idle_LDADD = $(PTHREAD_LIBS)
TESTS += tests/integration/abandoned_idle.sh
EXTRA_DIST += tests/integration/abandoned_idle.sh
