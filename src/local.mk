# src/local.mk: the allocator core of libpoolmalloc.la (src/planner/ has its
# own fragment), included by the top-level Makefile.am.
# registry.c comes last: the linker lays out .bss in this order, and its
# 1 MiB region bitmap, of which a program touches a page or two, would
# otherwise sit between the small globals the allocator writes all the
# time and spread them over one more resident page.
PM_CORE_SOURCES = \
	src/types.h src/internal.h src/prim.h src/fastpath.h src/emitter.h \
	src/prim_linux.c src/error.c src/options.c src/size_class.c \
	src/lock.c src/segment.c src/slab.c src/idle.c src/heap.c src/large.c src/huge.c src/decay.c \
	src/stats.c src/emitter.c src/alloc.c src/init.c src/registry.c
libpoolmalloc_la_SOURCES += $(PM_CORE_SOURCES) src/interpose.c
