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
