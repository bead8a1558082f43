# bench/planner.mk: the planner's solver benchmark, included by the
# top-level Makefile.am. `make bench-planner` builds bench/plan_bench and
# runs it on the MiniMalloc problems in $(MINIMALLOC_DIR) (override on the
# command line or with $POOLMALLOC_MINIMALLOC_DIR) and on a synthetic
# 10,000-tensor problem. Not part of make check: its figures are timings.
noinst_PROGRAMS += bench/plan_bench
bench_plan_bench_SOURCES = bench/plan_bench.c src/planner/csv.c src/planner/csv.h \
	$(planner_solver_sources)
bench_plan_bench_CPPFLAGS = $(AM_CPPFLAGS) -D_GNU_SOURCE
bench_plan_bench_CFLAGS = $(AM_CFLAGS) -O2

MINIMALLOC_DIR = $(top_srcdir)/../shared/data/minimalloc
.PHONY: bench-planner
bench-planner: bench/plan_bench$(EXEEXT)
	bench/plan_bench$(EXEEXT) "$(MINIMALLOC_DIR)"
