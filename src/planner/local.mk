# src/planner/local.mk: build rules for the planner's solvers (where each
# buffer goes), included by the top-level Makefile.am.
libpoolmalloc_la_SOURCES += \
	src/planner/solver.h \
	src/planner/algorithm.c \
	src/planner/bounds.c \
	src/planner/sections.c \
	src/planner/time_index.c \
	src/planner/greedy.c \
	src/planner/search.c \
	src/planner/best.c \
	src/planner/validate.c

# The solver sources alone, for the test and bench programs that link them
# directly instead of the preloadable library.
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
