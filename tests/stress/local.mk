# tests/stress/local.mk: build rules for tests/stress/, included by the top-level Makefile.am.
#
# Stress programs are built normally and run with libpoolmalloc preloaded
# by the shell wrappers, which make check runs in a bounded time. `make
# stress` runs the same programs far longer (a soak test, not part of check).

stress_util_sources = tests/stress/stress_util.c tests/stress/stress_util.h
stress_programs = \
	tests/stress/stress_threads \
	tests/stress/thread_churn \
	tests/stress/fork_busy \
	tests/stress/oom_limit \
	tests/stress/map_failure \
	tests/stress/size_sweep
check_PROGRAMS += $(stress_programs)
tests_stress_stress_threads_SOURCES = tests/stress/stress_threads.c $(stress_util_sources)
tests_stress_stress_threads_LDADD = $(PTHREAD_LIBS)
tests_stress_thread_churn_SOURCES = tests/stress/thread_churn.c $(stress_util_sources)
tests_stress_thread_churn_LDADD = $(PTHREAD_LIBS)
tests_stress_fork_busy_SOURCES = tests/stress/fork_busy.c $(stress_util_sources)
tests_stress_fork_busy_LDADD = $(PTHREAD_LIBS)
tests_stress_oom_limit_SOURCES = tests/stress/oom_limit.c $(stress_util_sources)
tests_stress_oom_limit_CFLAGS = $(PM_NO_BUILTIN_ALLOC_CFLAGS)
tests_stress_map_failure_SOURCES = tests/stress/map_failure.c
tests_stress_map_failure_CFLAGS = $(PM_NO_BUILTIN_ALLOC_CFLAGS)
tests_stress_size_sweep_SOURCES = tests/stress/size_sweep.c $(stress_util_sources)
# A preloadable module whose fork handlers allocate (fork_busy.sh); -rpath
# makes libtool build it shared although it is never installed.
check_LTLIBRARIES += tests/stress/fork_alloc.la
tests_stress_fork_alloc_la_SOURCES = tests/stress/fork_alloc.c
tests_stress_fork_alloc_la_LDFLAGS = -module -avoid-version -rpath /nowhere
tests_stress_fork_alloc_la_LIBADD = $(PTHREAD_LIBS)

stress_tests = \
	tests/stress/stress_threads.sh \
	tests/stress/thread_churn.sh \
	tests/stress/fork_busy.sh \
	tests/stress/oom_limit.sh \
	tests/stress/map_failure.sh \
	tests/stress/size_sweep.sh
TESTS += $(stress_tests)
EXTRA_DIST += $(stress_tests)

# The soak run: STRESS_SECONDS (default 60) of random operations, 30000
# short-lived threads, 1000 forks under 4 allocating threads.
.PHONY: stress
stress: $(lib_LTLIBRARIES) $(stress_programs)
	@$(AM_TESTS_ENVIRONMENT) \
	STRESS_SECONDS=$${STRESS_SECONDS:-60} STRESS_CHURN_THREADS=30000 \
	STRESS_FORKS=1000 STRESS_FORK_WORKERS=4 PM_TEST_TIMEOUT=1200; \
	export STRESS_SECONDS STRESS_CHURN_THREADS STRESS_FORKS STRESS_FORK_WORKERS PM_TEST_TIMEOUT; \
	failed=0; \
	for test in $(stress_tests); do \
	  echo "== $$test"; \
	  $(SHELL) $(srcdir)/$$test || failed=1; \
	done; \
	test $$failed -eq 0
