/* fastpath.h: the malloc and free fast paths, inlined into both the pm_*
 * entry points (alloc.c) and the interposed malloc family (interpose.c) so
 * neither pays a call through the PLT.
 *
 * Cost of the common case, no lock and no atomic read-modify-write:
 *   malloc(small): one TLS load, the direct table, three loads and three
 *     stores (pop the slab's free list, clear the block's freed mark,
 *     count the block), plus the stats counter.
 *   free(own small block): one registry bit, the slab descriptor, an
 *     index check by multiplication, the block's freed mark read and
 *     written, a push onto the slab's free list and a decrement.
 *   Everything else is a noinline slow path. */
#ifndef PM_FASTPATH_H
#define PM_FASTPATH_H

#include "internal.h"

static inline __attribute__((always_inline)) void *_pm_malloc_fast(size_t size) {
  pm_heap_t *heap = _pm_heap_default;
  if (pm_likely(size <= PM_DIRECT_MAX)) {
    pm_span_t *span = heap->direct[(size + PM_ALIGNMENT - 1) / PM_ALIGNMENT];
    pm_block_t *block = span->free;
    if (pm_likely(block != NULL)) {
      pm_block_t *next = _pm_block_decode(block->next);
      span->free = next;
      _pm_block_clear_mark(block); /* the line was just read: no extra miss */
      /* The next malloc reads next's link: start the (often cold) line
       * now so that miss overlaps with the caller's work. */
      __builtin_prefetch(next, 1);
      span->used++;
      pm_stat_add(&heap->stats.allocations[span->size_class], 1);
      return block;
    }
  }
  return _pm_heap_malloc_slow(heap, size);
}

static inline __attribute__((always_inline)) void _pm_free_fast(void *ptr, const char *func) {
  pm_segment_t *segment = _pm_span_segment_lookup(ptr);
  if (pm_likely(segment != NULL)) {
    pm_span_t *span = _pm_slab_candidate(segment, ptr);
    pm_heap_t *heap = _pm_heap_default;
    /* A block start iff offset / block_size is exact and below reserved;
     * the multiply is exact for offsets inside a 64 KiB slab, which starts
     * on a multiple of its size. A block that carries the freed mark, or a
     * slab with no block out, goes to _pm_free_generic, which checks
     * fully. The mark's read touches no line the push below does not
     * write, but where the block is cold a load miss can stall where a
     * store miss would not. */
    uint64_t offset = (uintptr_t)ptr & (PM_SLAB_SIZE - 1);
    uint64_t index = (offset * pm_span_get(span, magic)) >> 32;
    pm_block_t *block = ptr;
    if (pm_likely(atomic_load_explicit(&span->heap, memory_order_relaxed) == heap &&
                  index < pm_span_get(span, reserved) &&
                  index * pm_span_get(span, block_size) == offset &&
                  !_pm_block_marked_freed(block, span) && span->used != 0)) {
      _pm_block_mark_freed(block);
      block->next = _pm_block_encode(span->free);
      span->free = block;
      pm_stat_add(&heap->stats.frees[span->size_class], 1);
      if (pm_likely(--span->used != 0 && !span->in_full)) return;
      _pm_heap_slab_freed(heap, span);
      return;
    }
  }
  _pm_free_generic(ptr, func);
}

#endif /* PM_FASTPATH_H */
