# tests/unit/planner.mk: Criterion tests of the planner's solvers, included
# by the top-level Makefile.am. The solvers' functions are internal (hidden
# in the library), so the tests compile their sources directly; they run
# with the library preloaded all the same (tests/run_test.sh), which then
# serves their allocations.
if HAVE_CRITERION
solver_unit_tests = tests/unit/test_solver tests/unit/test_solver_minimalloc
check_PROGRAMS += $(solver_unit_tests)
TESTS += $(solver_unit_tests)

solver_unit_cppflags = $(AM_CPPFLAGS) -D_GNU_SOURCE
solver_unit_cflags = $(AM_CFLAGS) $(CRITERION_CFLAGS)
solver_unit_ldadd = $(CRITERION_LIBS) $(PTHREAD_LIBS)

tests_unit_test_solver_SOURCES = tests/unit/test_solver.c $(planner_solver_sources)
tests_unit_test_solver_CPPFLAGS = $(solver_unit_cppflags)
tests_unit_test_solver_CFLAGS = $(solver_unit_cflags)
tests_unit_test_solver_LDADD = $(solver_unit_ldadd)

tests_unit_test_solver_minimalloc_SOURCES = tests/unit/test_solver_minimalloc.c \
	src/planner/csv.c src/planner/csv.h $(planner_solver_sources)
tests_unit_test_solver_minimalloc_CPPFLAGS = $(solver_unit_cppflags)
tests_unit_test_solver_minimalloc_CFLAGS = $(solver_unit_cflags)
tests_unit_test_solver_minimalloc_LDADD = $(solver_unit_ldadd)
endif
