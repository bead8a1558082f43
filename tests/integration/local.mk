# tests/integration/local.mk: build rules for tests/integration/, included by the top-level Makefile.am.
#
# Unmodified programs (a shell pipeline, python3, sqlite3, gcc, a threaded
# C++ program) run with libpoolmalloc preloaded and must print what they
# print on glibc, while the statistics each process writes prove that their
# allocations went through the library. contract.sh checks the documented
# environment variables on a small deterministic C program.

check_PROGRAMS += tests/integration/cxx_threads tests/integration/stats_probe
tests_integration_cxx_threads_SOURCES = tests/integration/cxx_threads.cc
tests_integration_cxx_threads_LDADD = $(PTHREAD_LIBS)
tests_integration_stats_probe_SOURCES = tests/integration/stats_probe.c

integration_tests = \
	tests/integration/shell_sort.sh \
	tests/integration/python_heavy.sh \
	tests/integration/sqlite.sh \
	tests/integration/gcc_compile.sh \
	tests/integration/cxx_threads.sh \
	tests/integration/contract.sh \
	tests/integration/conf_variants.sh \
	tests/integration/address_limit.sh
TESTS += $(integration_tests)
EXTRA_DIST += $(integration_tests) \
	tests/integration/preload_lib.sh \
	tests/integration/stats_check.py \
	tests/integration/stats_text_value.py \
	tests/integration/python_workload.py \
	tests/integration/address_refill.py \
	tests/integration/gcc_sample.c
