/* fastpath.h: the malloc and free fast paths, inlined into both the pm_*
 * entry points (alloc.c) and the interposed malloc family (interpose.c) so
 * neither pays a call through the PLT.
 *
 * Cost of the common case, no lock and no atomic read-modify-write:
 *   malloc(small): one TLS load, a table lookup, three loads and three
 *     stores (pop the slab's free list, count the block, clear its link).
 *   free(own small block): two registry loads, the page descriptor, an
 *     index check by multiplication, a push onto the slab's local free list
 *     and a decrement. Everything else is a noinline slow path. */
#ifndef PM_FASTPATH_H
#define PM_FASTPATH_H

#include "internal.h"

static inline void *_pm_malloc_fast(size_t size) {
  pm_heap_t *heap = _pm_heap_default;
  if (pm_likely(size <= PM_DIRECT_MAX)) {
    size_t size_class = _pm_class_table[(size + PM_ALIGNMENT - 1) / PM_ALIGNMENT];
    pm_span_t *span = heap->bins[size_class].current;
    pm_block_t *block = span->free;
    if (pm_likely(block != NULL)) {
      span->free = _pm_block_decode(block->next);
      span->used++;
      block->next = 0; /* so a later free cannot mistake stale links for a free block */
      pm_stat_add(&heap->stats.allocations[size_class], 1);
      return block;
    }
  }
  return _pm_heap_malloc_slow(heap, size);
}

static inline void _pm_free_fast(void *ptr, const char *func) {
  pm_segment_t *segment = _pm_registry_lookup(ptr);
  if (pm_likely(segment != NULL && segment->kind == PM_SEGMENT_SPANS)) {
    pm_span_t *span = &segment->spans[((uintptr_t)ptr & PM_SEGMENT_MASK) >> PM_PAGE_SHIFT];
    span -= span->head_offset;
    pm_heap_t *heap = _pm_heap_default;
    if (pm_likely(atomic_load_explicit(&span->heap, memory_order_relaxed) == heap)) {
      /* A block start iff offset / block_size is exact and below reserved;
       * the multiply is exact for offsets inside a 64 KiB slab. */
      uint64_t offset = (uintptr_t)ptr - (uintptr_t)span->start;
      uint64_t index = (offset * span->magic) >> 32;
      pm_block_t *block = ptr;
      pm_block_t *link = _pm_block_decode(block->next);
      if (pm_unlikely(index >= span->reserved || index * span->block_size != offset ||
                      link == NULL || (uintptr_t)link - (uintptr_t)span->start < PM_SLAB_SIZE)) {
        /* Misaligned, or the link looks like a free block's: check fully. */
        _pm_slab_check_pointer(span, ptr, func);
        _pm_slab_check_double_free(span, block, func);
      }
      block->next = _pm_block_encode(span->local_free);
      span->local_free = block;
      pm_stat_add(&heap->stats.frees[span->size_class], 1);
      if (pm_unlikely(--span->used == 0 || span->in_full)) _pm_heap_slab_freed(heap, span);
      return;
    }
  }
  _pm_free_generic(ptr, func);
}

#endif /* PM_FASTPATH_H */
