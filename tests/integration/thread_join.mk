# tests/integration/thread_join.mk: joins whose frees run under glibc's
# stack-cache lock, included by the top-level Makefile.am.

check_PROGRAMS += tests/integration/thread_join
tests_integration_thread_join_SOURCES = tests/integration/thread_join.c
tests_integration_thread_join_LDADD = $(PTHREAD_LIBS)
TESTS += tests/integration/thread_join.sh
EXTRA_DIST += tests/integration/thread_join.sh
