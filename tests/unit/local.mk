# tests/unit/local.mk: the allocator's unit tests, included by the
# top-level Makefile.am.
#
# The white-box tests link the whole library as a convenience archive, so
# they can reach internal _pm_ state, and its malloc family serves the test
# process itself (Criterion and its forked workers included).
# alloc_preload.sh checks the shared library preloaded into programs that
# do not know it, with two helper programs.
EXTRA_DIST += tests/unit/alloc_preload.sh

if HAVE_CRITERION
check_LTLIBRARIES += tests/unit/libpm-whitebox.la
tests_unit_libpm_whitebox_la_SOURCES = $(libpoolmalloc_la_SOURCES)
tests_unit_libpm_whitebox_la_CFLAGS = $(libpoolmalloc_la_CFLAGS)

check_PROGRAMS += tests/unit/alloc_unit
TESTS += tests/unit/alloc_unit
tests_unit_alloc_unit_SOURCES = \
	tests/unit/alloc_test.h \
	tests/unit/alloc_size_class.c \
	tests/unit/alloc_api.c \
	tests/unit/alloc_threads.c \
	tests/unit/alloc_lock.c \
	tests/unit/alloc_decay.c \
	tests/unit/alloc_background.c \
	tests/unit/alloc_idle.c \
	tests/unit/alloc_options.c \
	tests/unit/alloc_stats.c \
	tests/unit/alloc_large_cache.c \
	tests/unit/alloc_bad_pointer.c
tests_unit_alloc_unit_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) -D_GNU_SOURCE
tests_unit_alloc_unit_LDADD = tests/unit/libpm-whitebox.la $(CRITERION_LIBS) $(PTHREAD_LIBS)
endif

# The preload checks need no Criterion: they run without it too.
check_PROGRAMS += tests/unit/alloc_preload_helper tests/unit/alloc_preload_cxx
TESTS += tests/unit/alloc_preload.sh
tests_unit_alloc_preload_helper_SOURCES = tests/unit/alloc_preload_helper.c
tests_unit_alloc_preload_helper_CFLAGS = $(PM_NO_BUILTIN_ALLOC_CFLAGS)
tests_unit_alloc_preload_helper_LDADD = $(PTHREAD_LIBS)
tests_unit_alloc_preload_cxx_SOURCES = tests/unit/alloc_preload_cxx.cc
