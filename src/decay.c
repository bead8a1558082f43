/* decay.c: when freed memory goes back to the OS.
 *
 * Freed pages stay resident so the next allocation reuses them without a
 * page fault; they are purged (madvise) or unmapped once idle for decay_ms,
 * or at once when retained memory passes retain_max, or on malloc_trim.
 * There is no background thread: as in jemalloc without one, slow paths
 * check a deadline, and the owner of a thread heap reaches its slow path
 * every time a slab's free list runs dry, so even a program that only
 * recycles memory keeps releasing what it no longer uses. */
#include "internal.h"

/* When the next purge is due; UINT64_MAX while nothing is retained. */
static _Atomic uint64_t decay_deadline = UINT64_MAX;

static uint64_t retained_bytes(void) {
  return _pm_pool.dirty_bytes + _pm_pool.huge_cached_bytes;
}

/* Pages lock held. */
static void decay_schedule(uint64_t now) {
  uint64_t deadline = UINT64_MAX;
  if (retained_bytes() > 0) {
    uint64_t step = _pm_options.decay_ms / 2;
    deadline = now + (step > 0 ? step : 1);
  }
  atomic_store_explicit(&decay_deadline, deadline, memory_order_relaxed);
}

/* Pages lock held. */
static void decay_run(uint64_t now) {
  uint64_t cutoff = now >= _pm_options.decay_ms ? now - _pm_options.decay_ms : 0;
  if (_pm_options.decay_ms == 0) cutoff = UINT64_MAX;
  _pm_heap_reap_abandoned();
  _pm_segments_purge(cutoff);
  _pm_huge_purge(cutoff);
  decay_schedule(now);
}

void _pm_decay_tick(void) {
  uint64_t deadline = atomic_load_explicit(&decay_deadline, memory_order_relaxed);
  if (deadline == UINT64_MAX) return;
  uint64_t now = _pm_prim_clock_ms();
  if (now < deadline) return;
  _pm_lock(&_pm_pages_lock);
  decay_run(now);
  _pm_unlock(&_pm_pages_lock);
}

/* Over retain_max: release the longest-idle memory first, in four age
 * bands, until a quarter of the cap is free again, so a burst of frees
 * does not throw away the memory the program is about to reuse. */
static void decay_enforce_cap(void) {
  uint64_t now = _pm_prim_clock_ms();
  uint64_t goal = _pm_options.retain_max / 4 * 3;
  for (uint64_t band = 3; retained_bytes() > goal; band--) {
    uint64_t age = _pm_options.decay_ms / 4 * band;
    uint64_t cutoff = now > age ? now - age : 0;
    _pm_segments_purge(band == 0 ? UINT64_MAX : cutoff);
    _pm_huge_purge(band == 0 ? UINT64_MAX : cutoff);
    if (band == 0) break;
  }
}

void _pm_decay_after_free(void) {
  if (_pm_options.decay_ms == 0) {
    _pm_decay_release_all();
    return;
  }
  if (retained_bytes() > _pm_options.retain_max) decay_enforce_cap();
  if (atomic_load_explicit(&decay_deadline, memory_order_relaxed) == UINT64_MAX)
    decay_schedule(_pm_prim_clock_ms());
}

uint64_t _pm_decay_release_all(void) {
  _pm_heap_reap_abandoned();
  uint64_t released = _pm_segments_purge(UINT64_MAX) + _pm_huge_purge(UINT64_MAX);
  atomic_store_explicit(&decay_deadline, UINT64_MAX, memory_order_relaxed);
  return released;
}
