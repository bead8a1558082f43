# tests/fuzz/local.mk: libFuzzer targets, included by the top-level Makefile.am.
#
# `make check-fuzz` (not part of `make check`) builds tests/fuzz/fuzz_alloc
# and tests/fuzz/fuzz_plan with clang -fsanitize=fuzzer,address,undefined
# straight from the library's sources and runs each for FUZZ_TIME seconds;
# see tests/README.md. Override the compiler or the time with
# `make check-fuzz FUZZ_CC=clang-14 FUZZ_TIME=300`.
FUZZ_CC = clang
FUZZ_TIME = 20

fuzz_dist = \
	tests/fuzz/run.sh \
	tests/fuzz/fuzz_alloc.c \
	tests/fuzz/fuzz_plan.c \
	tests/fuzz/corpus/fuzz_alloc/aligned_mix \
	tests/fuzz/corpus/fuzz_alloc/calloc_edges \
	tests/fuzz/corpus/fuzz_alloc/large_trim \
	tests/fuzz/corpus/fuzz_alloc/realloc_grow \
	tests/fuzz/corpus/fuzz_alloc/small_churn \
	tests/fuzz/corpus/fuzz_plan/bad_row.csv \
	tests/fuzz/corpus/fuzz_plan/basic.csv \
	tests/fuzz/corpus/fuzz_plan/chain.csv \
	tests/fuzz/corpus/fuzz_plan/columns_reordered.csv \
	tests/fuzz/corpus/fuzz_plan/huge_sizes.csv \
	tests/fuzz/corpus/fuzz_plan/missing_column.csv
EXTRA_DIST += $(fuzz_dist)
CLEANFILES += tests/fuzz/fuzz_alloc tests/fuzz/fuzz_plan tests/fuzz/*.log \
	tests/fuzz/fuzz_alloc-* tests/fuzz/fuzz_plan-*

.PHONY: check-fuzz
check-fuzz: config.h
	$(AM_V_at)top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	FUZZ_CC='$(FUZZ_CC)' FUZZ_TIME='$(FUZZ_TIME)' LIB_SOURCES='$(libpoolmalloc_la_SOURCES)' \
	$(SHELL) $(top_srcdir)/tests/fuzz/run.sh
