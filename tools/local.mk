# tools/local.mk: poolmalloc-plan, the command-line planner, included by the
# top-level Makefile.am. Its CSV reader and SVG writer live with the planner
# in src/planner/ and are built into the tool (the library keeps internal
# symbols hidden).
bin_PROGRAMS += poolmalloc-plan
poolmalloc_plan_SOURCES = \
	tools/poolmalloc-plan.c \
	src/planner/csv.c \
	src/planner/csv.h \
	src/planner/svg.c \
	src/planner/svg.h \
	src/utf8.h
poolmalloc_plan_LDADD = libpoolmalloc.la
dist_man_MANS += man/poolmalloc-plan.1
