/* idle.c: giving back the unused pages of a thread's current slabs.
 *
 * A thread heap keeps the current slab of a hot class when that slab
 * empties, so a malloc/free ping-pong never takes a lock. The cost is
 * memory that nothing uses once the thread goes quiet: a phase that carved
 * eight pages of a slab and freed every block leaves those pages resident,
 * and a slab carved from a resident free run holds sixteen pages from its
 * first block on. Other threads cannot take such a slab (the owner's fast
 * path uses it without synchronisation), but they can purge its pages past
 * the carving frontier, which the owner does not touch until it carves
 * again.
 *
 * So the owner registers the slab in its bin as idle: when the slab was
 * carved from resident memory, and when it empties, in which case the
 * owner first starts it over (free list emptied, frontier back to the first
 * block), so decay can purge every page it used. The exception is a hot
 * class: a malloc/free ping-pong empties its slab on every free, and after
 * PM_COLD_EMPTIES empties inside the first extension the slab is kept as
 * it is, without the lock. An emptied current slab never leaves the heap
 * at once: its pages would go to the next request of any size, and a
 * repeated free of one of its blocks, the plainest double free
 * (free(p); free(p)), would then free that request's block instead. Kept
 * and started over, the slab reports the repeat: past the frontier by
 * where it points (slab.c, _pm_slab_check_pointer), below it, once carved
 * again, by the freed mark carving writes (_pm_slab_carve). A class used
 * rarely (setup and teardown of a program's data) holds its slab, without
 * pages once decay has run, until two more such classes have emptied
 * (heap.c, heap_keep_cold). Registration, the frontier moves of a
 * registered slab and the purge all happen under the pages lock, so the
 * decay pass purges exactly the pages past the frontier at that moment;
 * once purged (or wholly carved) the
 * slab is unregistered and the owner carves without the lock again. A slab
 * is purged after decay_ms idle, like any other free memory. */
#include "internal.h"

void _pm_idle_register(pm_bin_t *bin, pm_span_t *span) {
  if (atomic_load_explicit(&bin->idle, memory_order_relaxed) == NULL) _pm_pool.idle_slabs++;
  atomic_store_explicit(&bin->idle, span, memory_order_relaxed);
  bin->idle_since = _pm_prim_clock_ms();
  _pm_decay_after_free();
}

void _pm_idle_forget(pm_bin_t *bin, pm_span_t *span) {
  if (atomic_load_explicit(&bin->idle, memory_order_relaxed) != span) return;
  atomic_store_explicit(&bin->idle, NULL, memory_order_relaxed);
  _pm_pool.idle_slabs--;
}

bool _pm_idle_keep_emptied(pm_bin_t *bin, pm_span_t *span) {
  bool cold = span->reserved <= _pm_slab_extend_count(span);
  if (cold) {
    if (bin->early_empties >= PM_COLD_EMPTIES) return false; /* hot: leave its ping-pong alone */
    bin->early_empties++;
  }
  /* Hardening: a block freed twice shows up now, before the list goes. */
  if (PM_HARDENING) _pm_slab_check_empty(span);
  _pm_lock(&_pm_pages_lock);
  /* The pages below the old frontier are past the new one. */
  size_t used_pages = _pm_slab_resident_pages(span);
  span->free = NULL;
  pm_span_set(span, reserved, 0);
  pm_span_set(span, started_over, 1);
  span->dirty = (uint8_t)used_pages;
  _pm_idle_register(bin, span);
  _pm_unlock(&_pm_pages_lock);
  return cold;
}

bool _pm_idle_extend(pm_heap_t *heap, pm_bin_t *bin, pm_span_t *span) {
  uint32_t count;
  if (atomic_load_explicit(&bin->idle, memory_order_relaxed) != span) {
    count = _pm_slab_reserve(span);
  } else {
    _pm_lock(&_pm_pages_lock);
    count = _pm_slab_reserve(span);
    if (span->reserved == span->capacity) _pm_idle_forget(bin, span);
    _pm_unlock(&_pm_pages_lock);
  }
  /* The new blocks lie below the frontier now: no purge reaches them. */
  if (count == 0) return false;
  _pm_slab_carve(span, count, heap);
  return true;
}

/* Purges bin's idle slab if it was registered before cutoff_ms. */
static uint64_t bin_purge_idle(pm_bin_t *bin, uint64_t cutoff_ms) {
  pm_span_t *span = atomic_load_explicit(&bin->idle, memory_order_relaxed);
  if (span == NULL || bin->idle_since > cutoff_ms) return 0;
  /* Past the frontier, only the pages that may be resident: the rest read
   * as zero already, and counting them would overstate what went back. */
  size_t frontier = _pm_slab_frontier(span);
  size_t resident = _pm_slab_resident_pages(span) * PM_PAGE_SIZE;
  size_t bytes = resident > frontier ? resident - frontier : 0;
  if (bytes > 0 && !_pm_prim_purge(_pm_span_start(span) + frontier, bytes)) bytes = 0;
  /* Pages past the frontier read as zero now: a release of the slab
   * returns them as a clean run (_pm_slab_resident_pages). */
  if (bytes > 0) span->dirty = 0;
  _pm_idle_forget(bin, span);
  return bytes;
}

uint64_t _pm_idle_purge(uint64_t cutoff_ms) {
  uint64_t purged = 0;
  for (pm_heap_t *heap = atomic_load_explicit(&_pm_heaps_all, memory_order_acquire);
       heap != NULL && _pm_pool.idle_slabs > 0; heap = heap->next_all)
    for (size_t c = 0; c < PM_CLASS_COUNT; c++)
      purged += bin_purge_idle(&heap->bins[c], cutoff_ms);
  _pm_pool.released_bytes += purged;
  return purged;
}
