/* interpose.c: the unprefixed malloc family (its less common names are in
 * interpose_extras.c) and glibc's introspection and tuning calls
 * (mallinfo, malloc_stats, malloc_info, mallopt, malloc_trim). With
 * LD_PRELOAD (or plain linking) these replace glibc's definitions for the
 * whole process; C++ operator new and delete reach them through
 * libstdc++'s calls to malloc and free. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fastpath.h"
#include "internal.h"

#define PM_PUBLIC __attribute__((visibility("default")))

/* Not declared by every libc header. */
struct mallinfo __libc_mallinfo(void);
int __libc_mallopt(int param, int value);

PM_PUBLIC void *malloc(size_t size) {
  return _pm_malloc_fast(size);
}
PM_PUBLIC void free(void *ptr) {
  _pm_free_fast(ptr, "free");
}
PM_PUBLIC void *calloc(size_t count, size_t size) {
  return _pm_calloc(count, size);
}
PM_PUBLIC void *realloc(void *ptr, size_t size) {
  return _pm_realloc(ptr, size);
}
PM_PUBLIC void *aligned_alloc(size_t alignment, size_t size) {
  return _pm_aligned_alloc(alignment, size);
}
PM_PUBLIC int posix_memalign(void **out, size_t alignment, size_t size) {
  return _pm_posix_memalign(out, alignment, size);
}
PM_PUBLIC void *memalign(size_t alignment, size_t size) {
  return _pm_memalign(alignment, size);
}
PM_PUBLIC size_t malloc_usable_size(void *ptr) {
  return _pm_usable_size(ptr);
}

PM_PUBLIC int malloc_trim(size_t pad) {
  return _pm_trim(pad);
}

/* The pool as glibc's introspection calls split it: huge blocks in use as
 * its mmapped chunks, everything else mapped (segments, and the huge
 * mappings cached for reuse, free memory glibc has no place for) as its
 * arenas. So, as in glibc, a huge block counts in hblkhd only, and the
 * arenas' held and free bytes add up to their size. */
typedef struct pool_split_s {
  pm_stats_t stats;
  size_t heap_bytes;      /* mapped, except huge blocks in use */
  size_t heap_held_bytes; /* of those, held by the program */
  size_t huge_live_bytes, huge_count;
} pool_split_t;

PM_COLD static pool_split_t pool_split(void) {
  pool_split_t split;
  pm_pool_stats_t pool;
  _pm_stats_with_pool(&split.stats, &pool);
  const pm_stats_t *s = &split.stats;
  split.huge_live_bytes = pool.huge_live_bytes;
  split.huge_count = pool.huge_allocations - pool.huge_frees;
  split.heap_bytes =
      s->mapped_bytes > split.huge_live_bytes ? s->mapped_bytes - split.huge_live_bytes : 0;
  size_t held =
      s->allocated_bytes > split.huge_live_bytes ? s->allocated_bytes - split.huge_live_bytes : 0;
  split.heap_held_bytes = held < split.heap_bytes ? held : split.heap_bytes;
  return split;
}

/* glibc's fields, filled with this allocator's figures (glibc 2.36's
 * meanings): arena the mapped bytes but huge blocks in use, which are
 * hblks and hblkhd; uordblks and fordblks the arena's held and free bytes;
 * keepcost what is free and still resident (a part of fordblks). */
PM_COLD PM_PUBLIC struct mallinfo2 mallinfo2(void) {
  pool_split_t split = pool_split();
  const pm_stats_t *s = &split.stats;
  struct mallinfo2 info;
  memset(&info, 0, sizeof info);
  info.arena = split.heap_bytes;
  info.hblks = split.huge_count;
  info.hblkhd = split.huge_live_bytes;
  info.usmblks = s->peak_allocated_bytes;
  info.uordblks = split.heap_held_bytes;
  info.fordblks = split.heap_bytes - split.heap_held_bytes;
  info.keepcost = s->retained_bytes < info.fordblks ? s->retained_bytes : info.fordblks;
  return info;
}

static int clamp_int(size_t value) {
  return value > (size_t)__INT_MAX__ ? __INT_MAX__ : (int)value;
}

/* mallinfo2's figures in the old struct's int fields, clamped. */
PM_COLD static struct mallinfo mallinfo_narrow(void) {
  struct mallinfo2 wide = mallinfo2();
  struct mallinfo info;
  memset(&info, 0, sizeof info);
  info.arena = clamp_int(wide.arena);
  info.hblks = clamp_int(wide.hblks);
  info.hblkhd = clamp_int(wide.hblkhd);
  info.usmblks = clamp_int(wide.usmblks);
  info.uordblks = clamp_int(wide.uordblks);
  info.fordblks = clamp_int(wide.fordblks);
  info.keepcost = clamp_int(wide.keepcost);
  return info;
}

PM_PUBLIC struct mallinfo mallinfo(void) {
  return mallinfo_narrow();
}

/* glibc prints its arenas' figures to stderr; these are the allocator's,
 * in the form POOLMALLOC_STATS=text prints at exit. */
PM_PUBLIC void malloc_stats(void) {
  (void)_pm_stats_print(STDERR_FILENO, PM_STATS_TEXT);
}

/* glibc's XML layout (malloc_info(3)): the arena of mallinfo2 as one heap,
 * whose free bytes are "rest", and huge blocks in use as "mmap". All of it
 * is readable and writable, so "mprotect" equals "total". glibc's per-size
 * <sizes> rows and its high-water mark of mapped memory (<system
 * type="max">) are not kept here and are left out. */
PM_COLD PM_PUBLIC int malloc_info(int options, FILE *stream) {
  /* As glibc 2.36: the error number is returned, errno stays. */
  if (options != 0 || stream == NULL) return EINVAL;
  pool_split_t split = pool_split();
  size_t heap = split.heap_bytes, heap_free = heap - split.heap_held_bytes;
  int written = fprintf(stream,
                        "<malloc version=\"1\">\n"
                        "<heap nr=\"0\">\n"
                        "<sizes>\n"
                        "</sizes>\n"
                        "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                        "<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n"
                        "<system type=\"current\" size=\"%zu\"/>\n"
                        "<aspace type=\"total\" size=\"%zu\"/>\n"
                        "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
                        "</heap>\n"
                        "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                        "<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n"
                        "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
                        "<system type=\"current\" size=\"%zu\"/>\n"
                        "<aspace type=\"total\" size=\"%zu\"/>\n"
                        "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
                        "</malloc>\n",
                        heap_free, heap, heap, heap, heap_free, split.huge_count,
                        split.huge_live_bytes, heap, heap, heap);
  return written < 0 ? -1 : 0;
}

/* glibc's tuning calls. M_TRIM_THRESHOLD, how much free memory glibc
 * keeps before it gives memory back, sets retain_max, its counterpart
 * here; -1 turns that release off, as it turns off glibc's trimming. The
 * other parameters tune glibc's own layout (arenas, fastbins, its mmap
 * threshold, heap checks) and have no counterpart: accepted without
 * effect. The results are glibc 2.36's: 1, also for a parameter it does
 * not know, and 0 only for an M_MXFAST outside 0..80 * sizeof(size_t) / 4. */
PM_COLD PM_PUBLIC int mallopt(int param, int value) {
  switch (param) {
  case M_TRIM_THRESHOLD:
    _pm_init();
    _pm_lock(&_pm_pages_lock);
    _pm_options.retain_max = value < 0 ? UINT64_MAX : (uint64_t)value;
    _pm_unlock(&_pm_pages_lock);
    return 1;
  case M_MXFAST:
    return value >= 0 && (size_t)value <= 80 * sizeof(size_t) / 4;
  default:
    return 1;
  }
}

/* glibc's own names of the tuning calls (interpose_extras.c has those of
 * the allocation calls): mallinfo is deprecated, so no alias names it. */
PM_PUBLIC struct mallinfo __libc_mallinfo(void) {
  return mallinfo_narrow();
}
PM_PUBLIC __typeof__(mallopt) __libc_mallopt __attribute__((alias("mallopt")))
PM_COPY_ATTRIBUTES(mallopt);
