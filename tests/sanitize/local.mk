# tests/sanitize/local.mk: sanitizer and valgrind runs, included by the top-level Makefile.am.
#
# test_threads (pm_* from several threads: remote frees, thread exit,
# statistics during churn) and runtime_threads (first planner calls through
# the runtime-link header, from several threads at once) are part of
# `make check`. Two more targets, not
# part of `make check` (see tests/README.md):
#   make check-sanitize   unit tests + test_threads built from the library's
#                         sources with UBSan, then with TSan, and run
#   make check-valgrind   unit tests, test_threads and infer under memcheck
# `make check-sanitize SANITIZE_CC=clang` picks the compiler (default: CC).
check_PROGRAMS += tests/sanitize/test_threads tests/sanitize/runtime_threads
TESTS += tests/sanitize/test_threads tests/sanitize/runtime_threads
tests_sanitize_test_threads_SOURCES = tests/sanitize/test_threads.c
tests_sanitize_test_threads_LDADD = libpoolmalloc.la $(PTHREAD_LIBS)
# Linked without the library: the runtime header finds it when preloaded.
tests_sanitize_runtime_threads_SOURCES = tests/sanitize/runtime_threads.c
tests_sanitize_runtime_threads_LDADD = $(PTHREAD_LIBS)

SANITIZE_CC = $(CC)
VALGRIND = valgrind
EXTRA_DIST += tests/README.md tests/sanitize/run.sh tests/sanitize/valgrind.sh
CLEANFILES += tests/sanitize/*.log tests/sanitize/ubsan-* tests/sanitize/tsan-*

.PHONY: check-sanitize check-valgrind
check-sanitize: config.h
	$(AM_V_at)top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	SANITIZE_CC='$(SANITIZE_CC)' LIB_SOURCES='$(libpoolmalloc_la_SOURCES)' \
	CRITERION_CFLAGS='$(CRITERION_CFLAGS)' CRITERION_LIBS='$(CRITERION_LIBS)' \
	$(SHELL) $(top_srcdir)/tests/sanitize/run.sh

# The programs among the unit tests (and test_threads); the shell picks them
# out of TESTS, as automake wants portable make syntax here.
check-valgrind: $(check_PROGRAMS) $(noinst_PROGRAMS) $(lib_LTLIBRARIES)
	$(AM_V_at)programs=; for p in $(TESTS); do \
	  case $$p in *.sh) ;; tests/unit/*|tests/sanitize/*) programs="$$programs $$p";; esac; \
	done; \
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	LIBTOOL='$(LIBTOOL)' VALGRIND='$(VALGRIND)' PROGRAMS="$$programs" \
	$(SHELL) $(top_srcdir)/tests/sanitize/valgrind.sh
