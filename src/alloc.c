/* alloc.c: the pm_* entry points declared in include/poolmalloc.h, and the
 * slow paths they share with the interposed malloc family. */
#include <string.h>

#include "fastpath.h"
#include "internal.h"

static _Noreturn void invalid_pointer(const char *func, const void *ptr) {
  _pm_fatal_pointer(func, "invalid pointer", ptr);
}

/* Error path: whether ptr's page lies in a free run. The descriptor that
 * head_offsets led to may be one that headed a free run once: an inner page
 * of a large block keeps a stale offset. Reports a double free as before
 * when the lock cannot be had soon, and when the segment left the registry
 * meanwhile: a purge forgets a wholly free segment under the lock and
 * unmaps it once the lock is dropped, so its descriptors are read only
 * while the lookup still finds it. */
static bool in_free_run(pm_segment_t *segment, const void *ptr) {
  if (_pm_lock_within(&_pm_pages_lock, 100) != 0) return true;
  if (_pm_span_segment_lookup(ptr) != segment) {
    _pm_unlock(&_pm_pages_lock);
    return true;
  }
  pm_span_t *span = _pm_span_containing(segment, ptr);
  bool free_run = span != NULL && span->kind == PM_SPAN_FREE;
  _pm_unlock(&_pm_pages_lock);
  return free_run;
}

/* The span holding ptr, after checking ptr is one of our block starts. */
static pm_span_t *span_of_checked(pm_segment_t *segment, const void *ptr, const char *func) {
  pm_span_t *span = _pm_span_of(segment, ptr);
  switch ((pm_span_kind_t)span->kind) {
  case PM_SPAN_SLAB:
    _pm_slab_check_pointer(span, ptr, func);
    return span;
  case PM_SPAN_LARGE:
    if ((const uint8_t *)ptr != _pm_span_start(span)) invalid_pointer(func, ptr);
    return span;
  case PM_SPAN_CACHED: /* a large block its thread freed and keeps */
    if ((const uint8_t *)ptr == _pm_span_start(span)) _pm_fatal_pointer(func, "double free", ptr);
    invalid_pointer(func, ptr);
  case PM_SPAN_FREE:
    /* Free memory: a page start is most likely a large block freed again;
     * elsewhere it may be a block of a slab given back since its first
     * free (idle.c) or a pointer that was never ours, and the freed slab's
     * layout is gone, so the message names both. */
    if (in_free_run(segment, ptr))
      _pm_fatal_pointer(func,
                        ((uintptr_t)ptr & (PM_PAGE_SIZE - 1)) == 0
                            ? "double free"
                            : "double free or invalid pointer",
                        ptr);
    invalid_pointer(func, ptr);
  case PM_SPAN_HEADER:
    break;
  }
  invalid_pointer(func, ptr);
}

static void free_to_slab(pm_span_t *span, void *ptr, const char *func);

PM_NOINLINE void _pm_free_generic(void *ptr, const char *func) {
  /* Most often a block another thread's slab holds: found as on the fast
   * path, since only a live slab's head page is marked PM_SPAN_SLAB. */
  pm_segment_t *spans = _pm_span_segment_lookup(ptr);
  if (spans != NULL) {
    pm_span_t *candidate = _pm_slab_candidate(spans, ptr);
    uint8_t kind = pm_span_get(candidate, kind);
    if (kind == PM_SPAN_SLAB) {
      _pm_slab_check_pointer(candidate, ptr, func);
      free_to_slab(candidate, ptr, func);
      return;
    }
    /* A large block starting on a slab boundary heads the descriptor just
     * read (a head's start is its own page), which spares the lookups
     * below; _pm_large_free checks the kind again under the lock. */
    if (kind == PM_SPAN_LARGE && _pm_span_start(candidate) == (uint8_t *)ptr) {
      _pm_large_free(candidate, ptr, func);
      return;
    }
  }
  if (ptr == NULL) return;
  /* Outside the segments of spans: a huge block, or nothing of ours. Its
   * header is read only under the pages lock (huge.c): a racing free of
   * the same pointer may unmap it until then. */
  if (spans == NULL) {
    _pm_huge_free(ptr, func);
    return;
  }
  if (((uintptr_t)ptr & (PM_ALIGNMENT - 1)) != 0) invalid_pointer(func, ptr);
  pm_span_t *span = span_of_checked(spans, ptr, func);
  if (span->kind == PM_SPAN_LARGE) {
    _pm_large_free(span, ptr, func);
    return;
  }
  free_to_slab(span, ptr, func);
}

static void free_to_slab(pm_span_t *span, void *ptr, const char *func) {
  pm_heap_t *heap = _pm_heap_default;
  if (atomic_load_explicit(&span->heap, memory_order_relaxed) == heap) {
    /* The fast path's cheap test looked suspicious: check for a repeat. A
     * slab with no block out can take no free (its count would wrap), even
     * when the list scan misses the repeat. */
    pm_block_t *block = ptr;
    _pm_slab_check_double_free(span, block, func);
    if (span->used == 0) _pm_fatal_pointer(func, "double free", ptr);
    _pm_block_mark_freed(block);
    block->next = _pm_block_encode(span->free);
    span->free = block;
    pm_stat_add(&heap->stats.frees[span->size_class], 1);
    if (--span->used == 0 || span->in_full) _pm_heap_slab_freed(heap, span);
    return;
  }
  /* A block of a slab another thread owns (or nobody, after its thread
   * ended): hand it back through the slab's remote list. */
  if (heap != &_pm_heap_empty)
    pm_stat_add(&heap->stats.frees[span->size_class], 1);
  else
    atomic_fetch_add_explicit(&_pm_pool.orphan_frees[span->size_class], 1, memory_order_relaxed);
  _pm_slab_free_remote(span, ptr, func);
}

PM_WARM size_t _pm_usable_size_checked(const void *ptr, const char *func) {
  if (ptr == NULL) return 0;
  /* Outside the segments of spans: as for free, huge.c reads the header
   * under the pages lock. */
  pm_segment_t *segment = _pm_span_segment_lookup(ptr);
  if (segment == NULL) return _pm_huge_usable_size(ptr, func);
  if (((uintptr_t)ptr & (PM_ALIGNMENT - 1)) != 0) invalid_pointer(func, ptr);
  pm_span_t *span = span_of_checked(segment, ptr, func);
  if (span->kind == PM_SPAN_LARGE) return span->page_count * PM_PAGE_SIZE;
  return span->block_size;
}

static pm_heap_t *heap_ready(void) {
  pm_heap_t *heap = _pm_heap_default;
  if (pm_unlikely(heap == &_pm_heap_empty)) heap = _pm_heap_for_thread();
  return heap;
}

/* Whether blocks can be had from the page pool: the allocator is set up,
 * by this thread's first request or an earlier thread's. A thread past
 * its exit hook has no heap (_pm_thread_exited) but still uses the pool. */
static bool pool_ready(void) {
  return _pm_thread_exited || heap_ready() != NULL;
}

PM_WARM void *_pm_alloc_aligned(size_t alignment, size_t size, bool zero) {
  if (alignment <= PM_ALIGNMENT) return zero ? _pm_alloc_zeroed(size) : _pm_malloc_fast(size);
  void *block;
  if (size <= PM_SMALL_MAX && alignment <= PM_PAGE_SIZE && !_pm_thread_exited) {
    /* The heap first: this may be the process's first call (from a
     * preinit function or another library's constructor), and setting up
     * fills the class tables read below; read before, they were all zero
     * and memalign(64, 1000) handed out a 16-byte block. */
    pm_heap_t *heap = heap_ready();
    if (heap == NULL) {
      errno = ENOMEM;
      return NULL;
    }
    /* Slabs start on a page, so a class whose block size is a multiple of
     * the alignment aligns every block; the power-of-two classes always do. */
    size_t size_class = _pm_class_of(size < alignment ? alignment : size);
    while (_pm_class_size[size_class] % alignment != 0)
      size_class++;
    block = _pm_heap_malloc_small(heap, size_class);
    if (block != NULL && zero) memset(block, 0, size);
    return block;
  }
  if (!pool_ready()) {
    errno = ENOMEM;
    return NULL;
  }
  /* A zero-byte request still needs a real block: a zero-page run would
   * have no page of its own to free or to measure. */
  if (size == 0) size = 1;
  if (size <= PM_LARGE_MAX) return _pm_large_alloc(size, alignment, zero);
  return _pm_huge_alloc(size, alignment, zero);
}

void *_pm_alloc_zeroed(size_t size) {
  if (size <= PM_SMALL_MAX) {
    void *block = _pm_malloc_fast(size);
    if (block != NULL) memset(block, 0, size);
    return block;
  }
  if (!pool_ready()) {
    errno = ENOMEM;
    return NULL;
  }
  if (size <= PM_LARGE_MAX) return _pm_large_alloc(size, PM_PAGE_SIZE, true);
  return _pm_huge_alloc(size, PM_PAGE_SIZE, true);
}

PM_EXPORT void *pm_malloc(size_t size) {
  return _pm_malloc_fast(size);
}

PM_EXPORT void pm_free(void *ptr) {
  _pm_free_fast(ptr, "free");
}

PM_EXPORT void *pm_calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return _pm_alloc_zeroed(total);
}

/* realloc of a small block that carries the freed mark: most likely a
 * block already freed, which realloc would hand back or free again. The
 * owner confirms it on the slab's lists, another thread trusts the mark,
 * as free does (glibc lets this call through). */
PM_WARM static void slab_check_not_freed(pm_span_t *span, pm_block_t *block, const char *func) {
  if (!_pm_block_carries_mark(block)) return;
  if (atomic_load_explicit(&span->heap, memory_order_relaxed) == _pm_heap_default)
    _pm_slab_check_double_free(span, block, func);
  else
    _pm_fatal_pointer(func, "double free", block);
}

PM_WARM static void *realloc_in_place(void *ptr, size_t size, size_t usable, const char *func) {
  pm_segment_t *segment = _pm_span_segment_lookup(ptr);
  if (segment == NULL) return _pm_huge_realloc(ptr, size, func);
  pm_span_t *span = _pm_span_of(segment, ptr);
  /* A run above PM_LARGE_MAX (taken at the limit, huge.c) still shrinks
   * in place; it grows only by moving. */
  if (span->kind == PM_SPAN_LARGE)
    return size > PM_SMALL_MAX && (size <= PM_LARGE_MAX || size <= usable)
               ? _pm_large_realloc_in_place(span, size)
               : NULL;
  slab_check_not_freed(span, ptr, func);
  /* A slab block stays put while the new size still fills half of it. */
  return size <= usable && size >= usable / 2 ? ptr : NULL;
}

/* Above this, a page run that realloc must move goes to a mapping of its
 * own; high enough that few blocks ever need one (each is a mapping). */
#define REALLOC_MAP_MIN ((size_t)256 << 10)

PM_WARM static void *realloc_named(void *ptr, size_t size, const char *func) {
  if (ptr == NULL) return _pm_malloc_fast(size);
  size_t usable = _pm_usable_size_checked(ptr, func);
  if (size == 0) { /* glibc frees and returns NULL */
    _pm_free_fast(ptr, func);
    return NULL;
  }
  void *same = realloc_in_place(ptr, size, usable, func);
  if (same != NULL) return same;
  /* A page run that must move to grow past REALLOC_MAP_MIN goes to a
   * mapping of its own, which later growth resizes with mremap instead of
   * copying, and whose move leaves no freed run behind (glibc grows its
   * mmapped chunks the same way). */
  int saved_errno = errno;
  void *moved = size > usable && usable > PM_SMALL_MAX && size >= REALLOC_MAP_MIN
                    ? _pm_huge_alloc(size, PM_PAGE_SIZE, false)
                    : _pm_malloc_fast(size);
  if (moved == NULL && size <= usable) {
    /* A shrink that found no smaller home keeps its block: callers take a
     * shrinking realloc for one that cannot fail, and glibc's never does. */
    errno = saved_errno;
    return ptr;
  }
  if (moved == NULL) return NULL;
  memcpy(moved, ptr, usable < size ? usable : size);
  _pm_free_fast(ptr, func);
  return moved;
}

PM_WARM PM_EXPORT void *pm_realloc(void *ptr, size_t size) {
  return realloc_named(ptr, size, "realloc");
}

PM_WARM PM_EXPORT void *pm_reallocarray(void *ptr, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc_named(ptr, total, "reallocarray");
}

PM_WARM PM_EXPORT void *pm_aligned_alloc(size_t alignment, size_t size) {
  if (!pm_is_power_of_two(alignment)) {
    errno = EINVAL;
    return NULL;
  }
  return _pm_alloc_aligned(alignment, size, false);
}

PM_WARM PM_EXPORT int pm_posix_memalign(void **out, size_t alignment, size_t size) {
  if (out == NULL || !pm_is_power_of_two(alignment) || alignment % sizeof(void *) != 0)
    return EINVAL;
  int saved = errno;
  void *block = _pm_alloc_aligned(alignment, size, false);
  if (block == NULL) {
    errno = saved;
    return ENOMEM;
  }
  *out = block;
  return 0;
}

PM_WARM PM_EXPORT void *pm_memalign(size_t alignment, size_t size) {
  /* glibc rounds a bad alignment up to the next power of two, and calls
   * one past the largest (2^63) invalid; 2^63 itself fails with ENOMEM. */
  if (alignment > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return NULL;
  }
  size_t rounded = PM_ALIGNMENT;
  while (rounded < alignment)
    rounded <<= 1;
  return _pm_alloc_aligned(rounded, size, false);
}

PM_WARM PM_EXPORT void *pm_valloc(size_t size) {
  return _pm_alloc_aligned(PM_PAGE_SIZE, size, false);
}

PM_WARM PM_EXPORT void *pm_pvalloc(size_t size) {
  if (size > SIZE_MAX - PM_PAGE_SIZE) {
    errno = ENOMEM;
    return NULL;
  }
  size_t rounded = size == 0 ? PM_PAGE_SIZE : pm_align_up(size, PM_PAGE_SIZE);
  return _pm_alloc_aligned(PM_PAGE_SIZE, rounded, false);
}

/* free's fast path, not inlined, for the rarely used ways to free (the
 * sized frees), named in errors: each inlined copy would take a few
 * hundred bytes of code, and the library's code pages are resident in
 * every process. */
PM_WARM PM_NOINLINE static void free_named(void *ptr, const char *func) {
  _pm_free_fast(ptr, func);
}

PM_WARM PM_EXPORT void pm_free_sized(void *ptr, size_t size) {
  (void)size; /* the block knows its size; the hint is not needed */
  free_named(ptr, "free_sized");
}

PM_WARM PM_EXPORT void pm_free_aligned_sized(void *ptr, size_t alignment, size_t size) {
  (void)size;
  if (ptr != NULL && pm_is_power_of_two(alignment) && ((uintptr_t)ptr & (alignment - 1)) != 0)
    invalid_pointer("free_aligned_sized", ptr);
  free_named(ptr, "free_aligned_sized");
}

PM_WARM PM_EXPORT size_t pm_usable_size(const void *ptr) {
  return _pm_usable_size_checked(ptr, "malloc_usable_size");
}

PM_COLD PM_EXPORT int pm_trim(size_t pad) {
  (void)pad; /* nothing sits at a "top" of the heap to keep padding for */
  _pm_heap_trim_current();
  _pm_lock(&_pm_pages_lock);
  uint64_t released = _pm_decay_release_all();
  _pm_unlock(&_pm_pages_lock);
  /* Not while the heap's lists were walked (heap.c, slab_release). */
  _pm_background_check();
  return released > 0;
}

PM_DEFINE_HIDDEN_ALIAS(pm_calloc);
PM_DEFINE_HIDDEN_ALIAS(pm_realloc);
PM_DEFINE_HIDDEN_ALIAS(pm_aligned_alloc);
PM_DEFINE_HIDDEN_ALIAS(pm_posix_memalign);
PM_DEFINE_HIDDEN_ALIAS(pm_memalign);
PM_DEFINE_HIDDEN_ALIAS(pm_usable_size);
PM_DEFINE_HIDDEN_ALIAS(pm_trim);
