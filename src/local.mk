# src/local.mk: the allocator core of libpoolmalloc.la (src/planner/ has its
# own fragment), included by the top-level Makefile.am.
PM_CORE_SOURCES = \
	src/types.h src/internal.h src/prim.h src/fastpath.h src/emitter.h src/utf8.h \
	src/prim_linux.c src/error.c src/options.c src/size_class.c \
	src/lock.c src/segment.c src/slab.c src/idle.c src/heap.c src/large.c src/huge.c src/decay.c \
	src/stats.c src/emitter.c src/alloc.c src/init.c
libpoolmalloc_la_SOURCES += $(PM_CORE_SOURCES) src/interpose.c
