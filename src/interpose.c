/* interpose.c: the unprefixed malloc family, glibc's internal aliases and
 * glibc's introspection and tuning calls (mallinfo, malloc_stats,
 * malloc_info, mallopt, malloc_trim). With LD_PRELOAD (or plain linking) these
 * replace glibc's definitions for the whole process; C++ operator new and
 * delete reach them through libstdc++'s calls to malloc and free. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fastpath.h"
#include "internal.h"

#define PM_PUBLIC __attribute__((visibility("default")))

/* Not declared by every libc header. */
void cfree(void *ptr);
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);
void *__libc_malloc(size_t size);
void __libc_free(void *ptr);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void *__libc_memalign(size_t alignment, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);

PM_PUBLIC void *malloc(size_t size) {
  return _pm_malloc_fast(size);
}
PM_PUBLIC void free(void *ptr) {
  _pm_free_fast(ptr, "free");
}
PM_PUBLIC void cfree(void *ptr) {
  _pm_free_fast(ptr, "cfree");
}
PM_PUBLIC void *calloc(size_t count, size_t size) {
  return _pm_calloc(count, size);
}
PM_PUBLIC void *realloc(void *ptr, size_t size) {
  return _pm_realloc(ptr, size);
}
PM_PUBLIC void *reallocarray(void *ptr, size_t count, size_t size) {
  return _pm_reallocarray(ptr, count, size);
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
PM_PUBLIC void *valloc(size_t size) {
  return _pm_valloc(size);
}
PM_PUBLIC void *pvalloc(size_t size) {
  return _pm_pvalloc(size);
}
PM_PUBLIC size_t malloc_usable_size(void *ptr) {
  return _pm_usable_size(ptr);
}
PM_PUBLIC void free_sized(void *ptr, size_t size) {
  _pm_free_sized(ptr, size);
}
PM_PUBLIC void free_aligned_sized(void *ptr, size_t alignment, size_t size) {
  _pm_free_aligned_sized(ptr, alignment, size);
}

PM_PUBLIC void *__libc_malloc(size_t size) {
  return _pm_malloc_fast(size);
}
PM_PUBLIC void __libc_free(void *ptr) {
  _pm_free_fast(ptr, "free");
}
PM_PUBLIC void *__libc_calloc(size_t count, size_t size) {
  return _pm_calloc(count, size);
}
PM_PUBLIC void *__libc_realloc(void *ptr, size_t size) {
  return _pm_realloc(ptr, size);
}
PM_PUBLIC void *__libc_memalign(size_t alignment, size_t size) {
  return _pm_memalign(alignment, size);
}
PM_PUBLIC void *__libc_valloc(size_t size) {
  return _pm_valloc(size);
}
PM_PUBLIC void *__libc_pvalloc(size_t size) {
  return _pm_pvalloc(size);
}

PM_PUBLIC int malloc_trim(size_t pad) {
  return _pm_trim(pad);
}

/* glibc's fields, filled with this allocator's figures: arena and hblkhd
 * split the mapped bytes into segments and huge mappings, uordblks is what
 * the program holds, fordblks what is mapped but not held, keepcost what is
 * free and still resident. */
PM_PUBLIC struct mallinfo2 mallinfo2(void) {
  pm_stats_t s;
  _pm_stats(&s);
  _pm_lock(&_pm_pages_lock);
  size_t huge_mapped = _pm_pool.huge_live_bytes + _pm_pool.huge_cached_bytes;
  size_t huge_count = _pm_pool.huge_allocations - _pm_pool.huge_frees;
  _pm_unlock(&_pm_pages_lock);
  struct mallinfo2 info;
  memset(&info, 0, sizeof info);
  info.arena = s.mapped_bytes > huge_mapped ? s.mapped_bytes - huge_mapped : 0;
  info.hblks = huge_count;
  info.hblkhd = huge_mapped;
  info.usmblks = s.peak_allocated_bytes;
  info.uordblks = s.allocated_bytes;
  info.fordblks = s.mapped_bytes > s.allocated_bytes ? s.mapped_bytes - s.allocated_bytes : 0;
  info.keepcost = s.retained_bytes;
  return info;
}

static int clamp_int(size_t value) {
  return value > (size_t)__INT_MAX__ ? __INT_MAX__ : (int)value;
}

PM_PUBLIC struct mallinfo mallinfo(void) {
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

/* glibc prints its arenas' figures to stderr; these are the allocator's,
 * in the form POOLMALLOC_STATS=text prints at exit. */
PM_PUBLIC void malloc_stats(void) {
  (void)_pm_stats_print(STDERR_FILENO, PM_STATS_TEXT);
}

/* glibc's XML layout (malloc_info(3)) with the figures mallinfo2 gives:
 * one heap for the whole page pool, its free bytes as "rest", huge
 * mappings as "mmap". glibc's per-size <sizes> rows and its high-water
 * marks have no counterpart here and are left out. */
PM_PUBLIC int malloc_info(int options, FILE *stream) {
  if (options != 0 || stream == NULL) {
    errno = EINVAL;
    return -1;
  }
  struct mallinfo2 info = mallinfo2();
  size_t total = info.arena + info.hblkhd;
  int written = fprintf(stream,
                        "<malloc version=\"1\">\n"
                        "<heap nr=\"0\">\n"
                        "<sizes>\n"
                        "</sizes>\n"
                        "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                        "<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n"
                        "<system type=\"current\" size=\"%zu\"/>\n"
                        "<aspace type=\"total\" size=\"%zu\"/>\n"
                        "</heap>\n"
                        "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                        "<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n"
                        "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
                        "<system type=\"current\" size=\"%zu\"/>\n"
                        "<aspace type=\"total\" size=\"%zu\"/>\n"
                        "</malloc>\n",
                        info.fordblks, info.arena, info.arena, info.fordblks, info.hblks,
                        info.hblkhd, total, total);
  return written < 0 ? -1 : 0;
}

/* glibc's tuning calls. M_TRIM_THRESHOLD, the free memory glibc keeps
 * before it gives memory back, sets retain_max, its counterpart here. The
 * others tune glibc's own layout (arenas, fastbins, its mmap threshold,
 * heap checks) and have no counterpart: accepted without effect, as
 * glibc accepts them with another allocator preloaded. Returns 1 on
 * success and 0 for an unknown parameter or a bad value, as glibc does. */
PM_PUBLIC int mallopt(int param, int value) {
  switch (param) {
  case M_TRIM_THRESHOLD:
    if (value < 0) return 0;
    _pm_init();
    _pm_lock(&_pm_pages_lock);
    _pm_options.retain_max = (uint64_t)value;
    _pm_unlock(&_pm_pages_lock);
    return 1;
  case M_MXFAST:
  case M_TOP_PAD:
  case M_MMAP_THRESHOLD:
  case M_MMAP_MAX:
  case M_CHECK_ACTION:
  case M_PERTURB:
  case M_ARENA_TEST:
  case M_ARENA_MAX:
    return 1;
  default:
    return 0;
  }
}
