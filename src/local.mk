# src/local.mk: the allocator core of libpoolmalloc.la (src/planner/ has its
# own fragment), included by the top-level Makefile.am.
PM_CORE_SOURCES = \
	src/types.h src/internal.h src/prim.h src/fastpath.h src/emitter.h src/utf8.h \
	src/prim_linux.c src/error.c src/options.c src/size_class.c \
	src/lock.c src/segment.c src/slab.c src/idle.c src/heap.c src/large.c src/large_cache.c src/huge.c src/decay.c \
	src/stats.c src/emitter.c src/alloc.c src/init.c
libpoolmalloc_la_SOURCES += $(PM_CORE_SOURCES) src/interpose.c src/interpose_extras.c
# The linker script of COLD_LDFLAGS (configure.ac): a change relinks.
EXTRA_DIST += src/cold.ld
EXTRA_libpoolmalloc_la_DEPENDENCIES = src/cold.ld

# Code that runs once per program or only on request (options, statistics
# and their emitter, error reports, the planner's API) is built for size:
# the library's code pages are resident in every process that loads it,
# the kernel maps them 64 KiB at a time, and these files shrink by about
# 8 KiB at -Os. The solvers keep -O2. A target-specific variable (GNU make)
# appends -Os after the user's CFLAGS, where the last -O wins.
PM_BUILT_FOR_SIZE = emitter options stats error
$(PM_BUILT_FOR_SIZE:%=src/libpoolmalloc_la-%.lo): CFLAGS += -Os
