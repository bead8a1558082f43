/* interpose.c: the unprefixed malloc family, glibc's internal aliases and
 * glibc's introspection calls. With LD_PRELOAD (or plain linking) these
 * replace glibc's definitions for the whole process; C++ operator new and
 * delete reach them through libstdc++'s calls to malloc and free. */
#include <malloc.h>
#include <string.h>

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
