/* slab.c: a span cut into equal blocks of one size class.
 *
 * Two free lists: `free`, which the owner both pops (malloc) and pushes
 * (free), so the block freed last is handed out next while it is still in
 * the cache, as glibc's tcache and jemalloc's tcache do; and `thread_free`,
 * which takes other threads' frees through a lock-free push and which the
 * owner moves onto `free` when that runs dry. (mimalloc keeps the owner's
 * frees on a third list so that it reaches its slow path regularly; here
 * the background thread does the periodic work, and LIFO reuse measured
 * 15-20% fewer cycles on the Python workloads.) Fresh blocks are carved a
 * page at a time so a slab's memory is touched only as it is needed. */
#include <string.h>

#include "internal.h"

void _pm_slab_init(pm_span_t *span, size_t size_class, pm_heap_t *heap) {
  uint32_t block_size = _pm_class_size[size_class];
  pm_span_set(span, kind, PM_SPAN_SLAB);
  span->size_class = (uint8_t)size_class;
  pm_span_set(span, block_size, block_size);
  pm_span_set(span, magic, (uint32_t)((((uint64_t)1 << 32) + block_size - 1) / block_size));
  pm_span_set(span, capacity, (uint16_t)(span->page_count * PM_PAGE_SIZE / block_size));
  pm_span_set(span, reserved, 0);
  pm_span_set(span, started_over, 0);
  span->adopted = 0;
  span->carved_most = 0;
  span->used = 0;
  span->in_full = 0;
  span->free = NULL;
  atomic_store_explicit(&span->thread_free, NULL, memory_order_relaxed);
  atomic_store_explicit(&span->heap, heap, memory_order_release);
}

uint32_t _pm_slab_reserve(pm_span_t *span) {
  uint32_t left = span->capacity - span->reserved;
  uint32_t count = _pm_slab_extend_count(span);
  if (count > left) count = left;
  pm_span_set(span, reserved, (uint16_t)(span->reserved + count));
  return count;
}

size_t _pm_slab_frontier(const pm_span_t *span) {
  size_t carved = (size_t)pm_span_get(span, reserved) * pm_span_get(span, block_size);
  return pm_align_up(carved, PM_PAGE_SIZE);
}

size_t _pm_slab_resident_pages(const pm_span_t *span) {
  size_t carved = _pm_slab_frontier(span) / PM_PAGE_SIZE;
  return span->dirty > carved ? span->dirty : carved;
}

/* Carved blocks carry the freed mark too, as every block on a free list
 * does (the store lands on the line the link goes to): a stale pointer
 * freed again once its slab has started over, been purged and carved
 * anew points at such a block, and reads as the double free it is. */
void _pm_slab_carve(pm_span_t *span, uint32_t count, pm_heap_t *heap) {
  uint8_t *first = _pm_span_start(span) + (size_t)(span->reserved - count) * span->block_size;
  pm_block_t *tail = (pm_block_t *)(first + (size_t)(count - 1) * span->block_size);
  tail->next = _pm_block_encode(span->free);
  _pm_block_mark_freed(tail);
  for (uint32_t i = count - 1; i > 0; i--) {
    pm_block_t *block = (pm_block_t *)(first + (size_t)(i - 1) * span->block_size);
    block->next = _pm_block_encode((pm_block_t *)((uint8_t *)block + span->block_size));
    _pm_block_mark_freed(block);
  }
  span->free = (pm_block_t *)first;
  /* Reuse (pm_stats) is every allocation but the first of each block: a
   * slab that started over (idle.c) carves blocks it handed out before,
   * and is not fresh memory again until it passes its old frontier. A
   * batch is counted when it is carved, not as its blocks go out: up to a
   * page of blocks per slab counts as fresh a little early. */
  if (span->reserved > span->carved_most) {
    pm_stat_add(&heap->stats.fresh[span->size_class], span->reserved - span->carved_most);
    span->carved_most = span->reserved;
  }
}

void _pm_slab_collect(pm_span_t *span) {
  if (atomic_load_explicit(&span->thread_free, memory_order_relaxed) == NULL) return;
  pm_block_t *remote = atomic_exchange_explicit(&span->thread_free, NULL, memory_order_acquire);
  uint32_t count = 1;
  pm_block_t *tail = remote;
  while (tail->next != _pm_block_encode(NULL)) {
    tail = _pm_block_decode(tail->next);
    /* A block pushed twice closes the list into a loop (it links to the
     * head its first push made): more blocks than are in use. Walking on
     * would hang, under the pages lock when the reaper walks. */
    if (++count > span->used) _pm_fatal_pointer("free", "double free", tail);
  }
  tail->next = _pm_block_encode(span->free);
  span->free = remote;
  span->used -= count;
}

void _pm_slab_free_remote(pm_span_t *span, pm_block_t *block, const char *func) {
  /* Everything about the slab is read before the block is published: from
   * then on the owner may collect it, find the slab empty and give it
   * back, and decay may unmap the segment. Heaps are never unmapped, so a
   * stale owner only costs it one extra scan. The owner's exit count comes
   * between two reads of the owner: if its exit hook had ended by then,
   * the second read sees the slab abandoned. */
  pm_heap_t *owner = atomic_load_explicit(&span->heap, memory_order_acquire);
  uint32_t exits = 0;
  if (owner != NULL) {
    exits = atomic_load_explicit(&owner->exits, memory_order_acquire);
    if (atomic_load_explicit(&span->heap, memory_order_relaxed) != owner) owner = NULL;
  }
  size_t size_class = span->size_class;
  /* Trusted without a walk of lists the owner may be changing (internal.h). */
  if (_pm_block_carries_mark(block)) _pm_fatal_pointer(func, "double free", block);
  _pm_block_mark_freed(block);
  pm_block_t *old = atomic_load_explicit(&span->thread_free, memory_order_relaxed);
  do {
    /* Without hardening, the repeat of the latest remote free; two
     * threads freeing one block at once loop the list, which collecting
     * it catches. */
    if (old == block) _pm_fatal_pointer(func, "double free", block);
    block->next = _pm_block_encode(old);
  } while (!atomic_compare_exchange_weak_explicit(&span->thread_free, &old, block,
                                                  memory_order_seq_cst, memory_order_relaxed));
  if (old != NULL) return; /* the owner, or the decay pass, is told already */
  /* First remote free since the owner last looked: tell it, in case the
   * slab sits on a full list it does not scan otherwise. Release: an owner
   * that sees the new hint sees the block on the list too. An owner read
   * while the slab was abandoned (NULL) or just before its thread exited
   * is told nothing; the slab's adopter rescans its full list for that
   * (bin_next_slab). */
  if (owner != NULL)
    atomic_fetch_add_explicit(&owner->bins[size_class].remote_hint, 1, memory_order_release);
  /* No owner to collect the list: a decay pass reaps the slab once it is
   * empty. An exit hook that began before the block went on the list may
   * have missed it and let the slab go: the exit count moved, since the
   * hook's fence after bumping it and this side's seq_cst compare-and-swap
   * and load order the two (heap.c). */
  if (owner == NULL || (exits & 1) != 0 ||
      atomic_load_explicit(&owner->exits, memory_order_seq_cst) != exits)
    _pm_decay_note_abandoned_free();
}

static bool list_contains(const pm_block_t *list, const pm_block_t *block, uint32_t limit) {
  for (; list != NULL && limit > 0; list = _pm_block_decode(list->next), limit--)
    if (list == block) return true;
  return false;
}

void _pm_slab_check_double_free(pm_span_t *span, const pm_block_t *block, const char *func) {
  /* A marked block may wait on the remote list: bring that over first. */
  if (_pm_block_carries_mark(block)) _pm_slab_collect(span);
  if (list_contains(span->free, block, span->capacity))
    _pm_fatal_pointer(func, "double free", block);
}

/* Marks every block on a list in seen[]; a block met twice was freed twice. */
static void list_mark(const pm_span_t *span, const pm_block_t *list, uint64_t *seen) {
  uint32_t steps = 0;
  for (; list != NULL; list = _pm_block_decode(list->next)) {
    uint64_t offset = (uintptr_t)list - (uintptr_t)_pm_span_start(span);
    uint64_t index = (offset * span->magic) >> 32;
    if (index >= span->reserved || index * span->block_size != offset || ++steps > span->reserved)
      _pm_fatal_pointer("free", "corrupted free list at", list);
    if (seen[index / 64] & ((uint64_t)1 << (index % 64)))
      _pm_fatal_pointer("free", "double free", list);
    seen[index / 64] |= (uint64_t)1 << (index % 64);
  }
}

void _pm_slab_check_empty(const pm_span_t *span) {
  uint64_t seen[PM_SLAB_SIZE / PM_ALIGNMENT / 64] = {0};
  list_mark(span, span->free, seen);
}

void _pm_slab_check_pointer(const pm_span_t *span, const void *ptr, const char *func) {
  /* Division by multiplication, exact inside a slab (see fastpath.h). */
  uint64_t offset = (uintptr_t)ptr - (uintptr_t)_pm_span_start(span);
  uint64_t index = (offset * pm_span_get(span, magic)) >> 32;
  bool block_start = index * pm_span_get(span, block_size) == offset;
  if (index >= pm_span_get(span, reserved) || !block_start) {
    /* Past the frontier of a slab that started over: a block freed before
     * the start over (every block was free then). */
    if (block_start && index < pm_span_get(span, capacity) && pm_span_get(span, started_over))
      _pm_fatal_pointer(func, "double free", ptr);
    _pm_fatal_pointer(func, "invalid pointer", ptr);
  }
}
