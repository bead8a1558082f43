# bench/local.mk: the allocator benchmark suite. `make bench` builds the
# workload programs and runs bench/run.py, which preloads each allocator in
# turn (see bench/README.md); `make check` runs a quick smoke pass of it.
BENCH_BINARIES = bench/wl-churn bench/wl-larson bench/wl-xmalloc bench/wl-cache-scratch \
	bench/wl-realloc bench/wl-large bench/wl-aligned bench/wl-inference
check_PROGRAMS += $(BENCH_BINARIES) bench/wl-tail
BENCH_UTIL = bench/bench_util.c bench/bench_util.h

bench_wl_churn_SOURCES = bench/wl_churn.c $(BENCH_UTIL)
bench_wl_larson_SOURCES = bench/wl_larson.c $(BENCH_UTIL)
bench_wl_larson_LDADD = $(PTHREAD_LIBS)
bench_wl_xmalloc_SOURCES = bench/wl_xmalloc.c $(BENCH_UTIL)
bench_wl_xmalloc_LDADD = $(PTHREAD_LIBS)
bench_wl_cache_scratch_SOURCES = bench/wl_cache_scratch.c $(BENCH_UTIL)
bench_wl_cache_scratch_LDADD = $(PTHREAD_LIBS)
bench_wl_realloc_SOURCES = bench/wl_realloc.c $(BENCH_UTIL)
bench_wl_large_SOURCES = bench/wl_large.c $(BENCH_UTIL)
bench_wl_large_LDADD = -lm
bench_wl_aligned_SOURCES = bench/wl_aligned.c $(BENCH_UTIL)
bench_wl_tail_SOURCES = bench/wl_tail.c $(BENCH_UTIL)
bench_wl_tail_LDADD = $(PTHREAD_LIBS)
bench_wl_inference_SOURCES = bench/wl_inference.c bench/network.c bench/network.h $(BENCH_UTIL)
# Header-only planner API: the one binary runs under every allocator.
bench_wl_inference_CPPFLAGS = $(AM_CPPFLAGS) -DPOOLMALLOC_RUNTIME_LINK

# The library without its hardening (free-list link encoding, double-free
# scan of emptied slabs), preloaded by the benchmark only, so the table
# states what those checks cost. Built on demand by `make bench`.
EXTRA_LTLIBRARIES = bench/libpoolmalloc_unhardened.la
bench_libpoolmalloc_unhardened_la_SOURCES = $(libpoolmalloc_la_SOURCES)
bench_libpoolmalloc_unhardened_la_CFLAGS = $(libpoolmalloc_la_CFLAGS) -DPM_HARDENING=0
bench_libpoolmalloc_unhardened_la_LDFLAGS = $(libpoolmalloc_la_LDFLAGS) -rpath $(libdir) \
	-avoid-version
CLEANFILES += bench/libpoolmalloc_unhardened.la

BENCH_PY_SOURCES_DIST = bench/run.py bench/instructions.py bench/latency.py bench/bench_report.py \
	bench/bench_chart.py \
	bench/py_common.py bench/py_sqlite.py bench/py_objects.py
EXTRA_DIST += $(BENCH_PY_SOURCES_DIST) bench/smoke.sh bench/README.md bench/HISTORY.md \
	bench/results/latest.csv bench/results/latest.svg bench/results/instructions.csv \
	bench/results/latency.csv

# The runner and the Python workloads use Debian's python3, standard library
# only.
PYTHON_FOR_BENCH = python3
BENCH_ENV = JEMALLOC_SO='$(JEMALLOC_SO)' MIMALLOC_SO='$(MIMALLOC_SO)' \
	TCMALLOC_SO='$(TCMALLOC_SO)' POOLMALLOC_SO='$(abs_top_builddir)/.libs/libpoolmalloc.so' \
	POOLMALLOC_UNHARDENED_SO='$(abs_top_builddir)/bench/.libs/libpoolmalloc_unhardened.so'
BENCH_DIRS = --builddir '$(abs_top_builddir)' --srcdir '$(abs_top_srcdir)'
BENCH_RUN = $(BENCH_ENV) $(PYTHON_FOR_BENCH) $(srcdir)/bench/run.py $(BENCH_DIRS)

bench: $(BENCH_BINARIES) libpoolmalloc.la bench/libpoolmalloc_unhardened.la
	$(BENCH_RUN)

# The same workloads under cachegrind: instruction and cache-miss counts,
# which a noisy machine does not blur (bench/instructions.py).
bench-instructions: $(BENCH_BINARIES) libpoolmalloc.la
	$(BENCH_ENV) $(PYTHON_FOR_BENCH) $(srcdir)/bench/instructions.py $(BENCH_DIRS)

# Tail latency of large allocations beside a thread that frees big blocks,
# with each allocator's default decay and with a short one (bench/latency.py).
bench-latency: bench/wl-tail libpoolmalloc.la
	$(BENCH_ENV) $(PYTHON_FOR_BENCH) $(srcdir)/bench/latency.py $(BENCH_DIRS)

TESTS += bench/smoke.sh
CLEANFILES += bench/smoke-results/latest.csv bench/smoke-results/latest.svg \
	bench/smoke-results/progress.log bench/smoke-results/instructions.csv \
	bench/smoke-results/latency.csv
