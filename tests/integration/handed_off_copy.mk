# tests/integration/handed_off_copy.mk: blocks holding copied bytes of
# recycled pages, freed on another thread; included by the top-level
# Makefile.am.

check_PROGRAMS += tests/integration/handed_off_copy
tests_integration_handed_off_copy_SOURCES = tests/integration/handed_off_copy.c
tests_integration_handed_off_copy_LDADD = $(PTHREAD_LIBS)
TESTS += tests/integration/handed_off_copy.sh
EXTRA_DIST += tests/integration/handed_off_copy.sh
