# src/planner/graph.mk: the planner's public side (graph construction,
# lifetimes, plans and their shape cache, arenas, and the CSV reader and
# SVG writer behind poolmalloc-plan), included by the top-level Makefile.am.
libpoolmalloc_la_SOURCES += \
	src/planner/graph_internal.h \
	src/planner/graph.c \
	src/planner/lifetime.c \
	src/planner/plan.c \
	src/planner/plan_cache.c \
	src/planner/arena.c
include_HEADERS += include/poolmalloc_runtime.h

# Built for size, as the run-once files of the core (src/local.mk): an
# engine plans once per shape, and the solvers, which do the work, keep -O2.
PM_PLANNER_BUILT_FOR_SIZE = graph lifetime plan plan_cache arena
$(PM_PLANNER_BUILT_FOR_SIZE:%=src/planner/libpoolmalloc_la-%.lo): CFLAGS += -Os
