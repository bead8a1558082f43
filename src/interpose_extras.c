/* interpose_extras.c: the malloc family's less common names: reallocarray,
 * cfree, valloc, pvalloc, free_sized, free_aligned_sized, and glibc's
 * __libc_ names of the common calls. Each is the common call it amounts
 * to, reached through the dynamic linker, as glibc's own versions are.
 *
 * So they follow whichever allocator the process's common calls reach.
 * Another allocator may take malloc, free and realloc but lack some of
 * these, which the dynamic linker then binds here: LD_PRELOAD with
 * jemalloc or tcmalloc listed before this library, or valgrind, whose
 * tools redirect this library's malloc, free and realloc but not its
 * reallocarray. Served from this library's pool, their blocks reached the
 * other allocator's free and realloc, which aborted or crashed (a
 * program's reallocarray under valgrind; sort and ls with jemalloc or
 * tcmalloc first). When this library is the one in use, each costs one
 * indirect jump more.
 *
 * Compiled apart from interpose.c on purpose: there, -fno-semantic-
 * interposition binds free, realloc and memalign to this library's own
 * definitions; here they are references the dynamic linker binds. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

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

PM_PUBLIC void *reallocarray(void *ptr, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(ptr, total);
}

PM_PUBLIC void cfree(void *ptr) {
  free(ptr);
}

PM_PUBLIC void *valloc(size_t size) {
  return memalign(PM_PAGE_SIZE, size);
}

/* The size rounded up to whole pages, and one page for 0, as glibc. */
PM_PUBLIC void *pvalloc(size_t size) {
  if (size > SIZE_MAX - PM_PAGE_SIZE) {
    errno = ENOMEM;
    return NULL;
  }
  return memalign(PM_PAGE_SIZE, size != 0 ? pm_align_up(size, PM_PAGE_SIZE) : PM_PAGE_SIZE);
}

/* C23's sized frees: the sizes are promises a free does without. */
PM_PUBLIC void free_sized(void *ptr, size_t size) {
  (void)size;
  free(ptr);
}

PM_PUBLIC void free_aligned_sized(void *ptr, size_t alignment, size_t size) {
  (void)alignment;
  (void)size;
  free(ptr);
}

PM_PUBLIC void *__libc_malloc(size_t size) {
  return malloc(size);
}
PM_PUBLIC void __libc_free(void *ptr) {
  free(ptr);
}
PM_PUBLIC void *__libc_calloc(size_t count, size_t size) {
  return calloc(count, size);
}
PM_PUBLIC void *__libc_realloc(void *ptr, size_t size) {
  return realloc(ptr, size);
}
PM_PUBLIC void *__libc_memalign(size_t alignment, size_t size) {
  return memalign(alignment, size);
}
PM_PUBLIC void *__libc_valloc(size_t size) {
  return valloc(size);
}
PM_PUBLIC void *__libc_pvalloc(size_t size) {
  return pvalloc(size);
}
