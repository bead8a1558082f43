/* large.c: blocks above PM_SMALL_MAX and up to PM_LARGE_MAX, each a run of
 * whole pages inside a segment, taken from and returned to the page pool
 * under its lock. Freed runs stay resident for reuse until decay. */
#include <string.h>

#include "internal.h"

static size_t pages_of(size_t size) {
  return pm_align_up(size, PM_PAGE_SIZE) / PM_PAGE_SIZE;
}

static size_t align_pages_of(size_t alignment) {
  return alignment > PM_PAGE_SIZE ? alignment / PM_PAGE_SIZE : 1;
}

bool _pm_large_fits_segment(size_t size, size_t alignment) {
  return pages_of(size) + align_pages_of(alignment) - 1 <= PM_SEGMENT_USABLE_PAGES;
}

/* The calling thread's heap for its cache of large blocks, or NULL when
 * caching is off (then no slot is looked at) or the thread is past its
 * exit hook; a thread without a heap yet gets one here. */
static pm_heap_t *cache_heap(void) {
  if (!_pm_large_cache_enabled()) return NULL;
  pm_heap_t *heap = _pm_heap_default;
  if (pm_likely(heap != &_pm_heap_empty)) return heap;
  return _pm_thread_exited ? NULL : _pm_heap_for_thread();
}

void *_pm_large_alloc(size_t size, size_t alignment, bool zero) {
  if (!_pm_large_fits_segment(size, alignment)) return _pm_huge_alloc(size, alignment, zero);
  size_t pages = pages_of(size), align_pages = align_pages_of(alignment);
  pm_heap_t *heap = cache_heap();
  pm_span_t *span = heap != NULL ? _pm_large_cache_take(heap, pages, alignment) : NULL;
  if (span != NULL) {
    /* A cached block is resident throughout; only the bytes asked for are
     * cleared, as for any reused block. */
    uint8_t *block = _pm_span_start(span);
    if (zero) memset(block, 0, size);
    return block;
  }
  /* A miss gives the thread's cached spans back to the pool, in the same
   * lock hold as the allocation, so the pool can merge them and carve this
   * request from their pages; one of them is resized in place for it when
   * it can be (the tail given back, or pages taken from the free run after
   * it), which spares the pool a merge, a search and a carve. Kept until
   * evicted, cached spans fragmented the free runs: the inference
   * benchmark's peak RSS went from 6.9 MiB without the cache to 14.4.
   * Given back only for a miss that no dirty free run could serve: 10.0,
   * and bench/wl-large's 90 MiB against 79.5. Given back on every miss:
   * 7.7 and 80.8. */
  size_t resident = 0;
  bool new_high = false, gave_back = false;
  _pm_lock(&_pm_pages_lock);
  span = heap != NULL ? _pm_large_cache_miss(heap, pages, alignment, &gave_back) : NULL;
  if (span != NULL) {
    resident = span->page_count; /* a cached span is resident throughout */
  } else {
    span = _pm_span_alloc(pages, align_pages, PM_SPAN_LARGE, &resident);
    if (span != NULL) _pm_pool.large_live_bytes += pages * PM_PAGE_SIZE;
  }
  if (span != NULL) {
    _pm_pool.large_allocations++;
    _pm_pool.large_reuse += resident > 0;
    new_high = _pm_handed_out_new_high();
  }
  if (gave_back) _pm_decay_after_free();
  _pm_unlock(&_pm_pages_lock);
  if (gave_back) _pm_background_check();
  if (span == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  if (new_high) _pm_background_note_growth(_pm_stats_sample_peak());
  uint8_t *block = _pm_span_start(span);
  /* Clean pages (fresh or purged) already read as zero. A resized cached
   * span counts all its pages resident: its own held the freed block's
   * data, and those growth took come from a resident free run. */
  if (zero) memset(block, 0, resident * PM_PAGE_SIZE);
  return block;
}

void _pm_large_release(pm_span_t *span, uint64_t freed_at) {
  _pm_pool.large_live_bytes -= span->page_count * PM_PAGE_SIZE;
  pm_span_set(span, kind, PM_SPAN_FREE);
  _pm_span_free(span, span->page_count, freed_at);
}

void _pm_large_free(pm_span_t *span, const void *ptr, const char *func) {
  pm_heap_t *heap = _pm_heap_default;
  if (heap != &_pm_heap_empty && _pm_large_cache_put(heap, span, ptr, func)) return;
  _pm_lock(&_pm_pages_lock);
  if (!_pm_large_claim(span, PM_SPAN_FREE)) { /* freed already, maybe by another thread */
    _pm_unlock(&_pm_pages_lock);
    _pm_fatal_pointer(func, "double free", ptr);
  }
  _pm_pool.large_frees++;
  _pm_large_release(span, _pm_prim_clock_ms());
  _pm_decay_after_free();
  _pm_unlock(&_pm_pages_lock);
  _pm_background_check_freed();
}

PM_WARM void *_pm_large_realloc_in_place(pm_span_t *span, size_t size) {
  size_t pages = pages_of(size);
  size_t before = span->page_count;
  if (pages == before) return _pm_span_start(span);
  bool done = true;
  _pm_lock(&_pm_pages_lock);
  if (pages < before) {
    _pm_span_shrink(span, pages, _pm_prim_clock_ms());
    _pm_decay_after_free(); /* the pages given back are free memory like any other */
  } else {
    /* Take a quarter more when the neighbour allows, so a buffer growing by
     * small appends does not come back for every page. */
    size_t generous = before + before / 4;
    size_t limit = PM_LARGE_MAX / PM_PAGE_SIZE;
    if (generous > limit) generous = limit;
    done = (generous > pages && _pm_span_grow(span, generous, false)) ||
           _pm_span_grow(span, pages, false);
  }
  bool new_high = false;
  if (done) {
    _pm_pool.large_live_bytes += span->page_count * PM_PAGE_SIZE;
    _pm_pool.large_live_bytes -= before * PM_PAGE_SIZE;
    new_high = pages > before && _pm_handed_out_new_high();
  }
  _pm_unlock(&_pm_pages_lock);
  if (pages < before) _pm_background_check();
  if (new_high) _pm_background_note_growth(_pm_stats_sample_peak());
  return done ? _pm_span_start(span) : NULL;
}
