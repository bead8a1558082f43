# src/planner/local.mk: build rules for the planner's solvers (where each
# buffer goes), included by the top-level Makefile.am.
#
# The solver sources are named once: the library builds them, and the test
# and bench programs that link them directly (without the preloadable
# library) reuse the list.
planner_solver_sources = \
	src/planner/planner.h \
	src/planner/solver.h \
	src/planner/algorithm.c \
	src/planner/bounds.c \
	src/planner/sections.c \
	src/planner/time_index.c \
	src/planner/greedy.c \
	src/planner/search.c \
	src/planner/best.c \
	src/planner/validate.c
libpoolmalloc_la_SOURCES += $(planner_solver_sources)
