# tests/unit/graph.mk: Criterion tests of the planner's public side (graph,
# lifetimes, shape cache, arenas) and of poolmalloc-plan's CSV reader,
# included by the top-level Makefile.am.
if HAVE_CRITERION
graph_unit_tests = \
	tests/unit/test_graph \
	tests/unit/test_graph_errors \
	tests/unit/test_graph_cache \
	tests/unit/test_arena \
	tests/unit/test_csv
check_PROGRAMS += $(graph_unit_tests)
TESTS += $(graph_unit_tests)

graph_unit_cppflags = $(AM_CPPFLAGS) -D_GNU_SOURCE
graph_unit_cflags = $(AM_CFLAGS) $(CRITERION_CFLAGS)
graph_unit_ldadd = libpoolmalloc.la $(CRITERION_LIBS) $(PTHREAD_LIBS)

tests_unit_test_graph_SOURCES = tests/unit/test_graph.c tests/unit/plan_test.h
tests_unit_test_graph_CPPFLAGS = $(graph_unit_cppflags)
tests_unit_test_graph_CFLAGS = $(graph_unit_cflags)
tests_unit_test_graph_LDADD = $(graph_unit_ldadd)

tests_unit_test_graph_errors_SOURCES = tests/unit/test_graph_errors.c tests/unit/plan_test.h
tests_unit_test_graph_errors_CPPFLAGS = $(graph_unit_cppflags)
tests_unit_test_graph_errors_CFLAGS = $(graph_unit_cflags)
tests_unit_test_graph_errors_LDADD = $(graph_unit_ldadd)

tests_unit_test_graph_cache_SOURCES = tests/unit/test_graph_cache.c tests/unit/plan_test.h
tests_unit_test_graph_cache_CPPFLAGS = $(graph_unit_cppflags)
tests_unit_test_graph_cache_CFLAGS = $(graph_unit_cflags)
tests_unit_test_graph_cache_LDADD = $(graph_unit_ldadd)

tests_unit_test_arena_SOURCES = tests/unit/test_arena.c tests/unit/plan_test.h
tests_unit_test_arena_CPPFLAGS = $(graph_unit_cppflags)
tests_unit_test_arena_CFLAGS = $(graph_unit_cflags)
tests_unit_test_arena_LDADD = $(graph_unit_ldadd)

# The reader is built into poolmalloc-plan, not exported by the library.
tests_unit_test_csv_SOURCES = tests/unit/test_csv.c src/planner/csv.c src/planner/csv.h
tests_unit_test_csv_CPPFLAGS = $(graph_unit_cppflags)
tests_unit_test_csv_CFLAGS = $(graph_unit_cflags)
tests_unit_test_csv_LDADD = $(CRITERION_LIBS)
endif
