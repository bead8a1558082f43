# src/planner/graph.mk: the planner's public side (graph, lifetimes, plans,
# shape cache, arenas, CSV and SVG helpers of poolmalloc-plan), included by
# the top-level Makefile.am.
libpoolmalloc_la_SOURCES += \
	src/planner/graph_internal.h \
	src/planner/arena.c
