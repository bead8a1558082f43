/* large_cache.c: each thread keeps a few of the large blocks it freed, for
 * its next requests of about their size, so that a thread that allocates
 * and frees the same large buffers over and over (an inference engine's
 * per-layer activations) does not take the page pool's lock for each. With
 * two threads doing that, the shared lock and the run metadata behind it
 * made them 2-6x slower than one (the metadata's cache lines moving
 * between cores, bench/README.md); jemalloc's tcache
 * and mimalloc's thread-owned pages avoid the same cost.
 *
 * The owner thread alone puts spans into its slots and takes them out; the
 * decay sweep (any thread, under the pages lock) may take any span that has
 * waited decay_ms, so memory a thread stops using is still given back on
 * time, and malloc_trim takes them all. The slots are atomic for that: the
 * owner takes with an exchange, the sweep with a compare-and-swap, and
 * whoever wins owns the span. A cached span is marked PM_SPAN_CACHED, so a
 * second free of its block is reported like any double free.
 *
 * Cached spans still count in the pool's large_live_bytes (the pool handed
 * them out); statistics move them from allocated to retained bytes. The
 * large_cache option bounds the bytes per thread (default 4M; 0 turns
 * caching off, as decay_ms:0, give freed memory back at once, does too).
 * A large request the cache cannot serve empties it into the pool in the
 * lock hold that serves the request (_pm_large_cache_miss), so the pool can
 * merge those runs and carve the request from them; one cached span is
 * resized in place for the request when it can be. The cache holds only
 * what the thread keeps asking for. Kept past misses instead, cached spans
 * fragmented the free runs and raised the inference benchmark's peak RSS by
 * more than the bound. (A small slab taken from the pool does not empty the
 * cache.) */
#include "internal.h"

/* A request of pages takes a cached span up to an eighth larger: a few
 * pages of slack for a hit, as glibc's best fit also accepts. */
static bool cached_fits(size_t cached_pages, size_t pages) {
  return cached_pages >= pages && cached_pages <= pages + pages / 8;
}

static size_t cache_limit_pages(void) {
  return _pm_options.decay_ms == 0 ? 0 : _pm_options.large_cache / PM_PAGE_SIZE;
}

bool _pm_large_cache_enabled(void) {
  return cache_limit_pages() > 0;
}

/* The pool side of a cached span leaving the cache for good; pages lock
 * held. The span keeps the age it was cached with, so decay purges it on
 * the schedule it would have had in the pool. */
static void span_return_to_pool(pm_span_t *span) {
  uint64_t cached_at = pm_span_get(span, freed_at);
  _pm_large_release(span, cached_at);
}

/* Owner: the cached spans in victims go back to the pool under one lock. */
static void spans_return_to_pool(pm_span_t **victims, size_t count) {
  if (count == 0) return;
  _pm_lock(&_pm_pages_lock);
  for (size_t i = 0; i < count; i++)
    span_return_to_pool(victims[i]);
  _pm_decay_after_free();
  _pm_unlock(&_pm_pages_lock);
  _pm_background_check_freed();
}

/* Owner: slot i no longer holds a span of its own putting (its page count
 * is read only while its bit is set). */
static void slot_clear(pm_heap_t *heap, size_t i) {
  heap->large_cache_used &= ~(1u << i);
}

/* The owner's paths walk the used slots only: most of the time a thread
 * has none or one (a miss empties them all), and walking all eight on
 * every large malloc and free cost the inference benchmark 5M of its 187M
 * instructions (cachegrind, scale 0.25). */
#define FOR_EACH_USED_SLOT(heap, i)                                                                \
  for (uint32_t used_ = (heap)->large_cache_used, i = 0;                                           \
       used_ != 0 && (i = (uint32_t)__builtin_ctz(used_), true); used_ &= used_ - 1)

pm_span_t *_pm_large_cache_take(pm_heap_t *heap, size_t pages, size_t alignment) {
  FOR_EACH_USED_SLOT(heap, i) {
    if (!cached_fits(heap->large_cached_pages[i], pages)) continue;
    /* Only the pointer is read before the exchange: until then the sweep
     * may hand the span to the pool, which may unmap its segment. */
    pm_span_t *seen = atomic_load_explicit(&heap->large_cached[i], memory_order_relaxed);
    if (seen == NULL || ((uintptr_t)_pm_span_start(seen) & (alignment - 1)) != 0) continue;
    /* The sweep may have taken it since: then the exchange finds NULL. */
    pm_span_t *span = atomic_exchange_explicit(&heap->large_cached[i], NULL, memory_order_acquire);
    slot_clear(heap, i);
    if (span == NULL) continue;
    pm_span_set(span, kind, (uint8_t)PM_SPAN_LARGE);
    pm_stat_add(&heap->large_cache_hits, 1);
    return span;
  }
  return NULL;
}

bool _pm_large_cache_put(pm_heap_t *heap, pm_span_t *span, const void *ptr, const char *func) {
  size_t pages = span->page_count, limit = cache_limit_pages();
  if (pages > limit / 4) return false; /* at least four spans fit the bound */
  if (!_pm_large_claim(span, PM_SPAN_CACHED)) _pm_fatal_pointer(func, "double free", ptr);
  pm_span_set(span, freed_at, _pm_prim_clock_ms());

  /* Room: the bytes of the used slots (the sweep may have emptied some,
   * which at worst evicts a span early) plus this one within the bound,
   * and a free slot. The oldest go first; the slot cursor turns round so
   * each slot is the oldest in turn. */
  pm_span_t *victims[PM_LARGE_CACHE_SLOTS];
  size_t victim_count = 0, cached_pages = pages;
  FOR_EACH_USED_SLOT(heap, i) cached_pages += heap->large_cached_pages[i];
  uint32_t unused = ~heap->large_cache_used & ((1u << PM_LARGE_CACHE_SLOTS) - 1);
  size_t free_slot = unused != 0 ? (size_t)__builtin_ctz(unused) : PM_LARGE_CACHE_SLOTS;
  for (size_t step = 0; step < PM_LARGE_CACHE_SLOTS; step++) {
    if (cached_pages <= limit && free_slot < PM_LARGE_CACHE_SLOTS) break;
    size_t i = heap->large_cache_next;
    heap->large_cache_next = (uint32_t)((i + 1) % PM_LARGE_CACHE_SLOTS);
    if ((heap->large_cache_used >> i & 1) == 0) continue;
    pm_span_t *victim =
        atomic_exchange_explicit(&heap->large_cached[i], NULL, memory_order_acquire);
    if (victim != NULL) victims[victim_count++] = victim;
    cached_pages -= heap->large_cached_pages[i];
    slot_clear(heap, i);
    free_slot = i;
  }
  heap->large_cached_pages[free_slot] = (uint16_t)pages;
  heap->large_cache_used |= 1u << free_slot;
  /* A full barrier (an exchange) before the decay check: see
   * _pm_decay_note_cached. */
  atomic_exchange_explicit(&heap->large_cached[free_slot], span, memory_order_seq_cst);
  pm_stat_add(&heap->large_cache_puts, 1);
  spans_return_to_pool(victims, victim_count);
  _pm_decay_note_cached();
  return true;
}

/* Owner: takes every span out of the heap's slots into spans; returns
 * how many. Only the slots in use are touched. */
static size_t cache_empty(pm_heap_t *heap, pm_span_t **spans) {
  size_t count = 0;
  FOR_EACH_USED_SLOT(heap, i) {
    pm_span_t *span = atomic_exchange_explicit(&heap->large_cached[i], NULL, memory_order_acquire);
    if (span != NULL) spans[count++] = span;
    slot_clear(heap, i);
  }
  return count;
}

/* Of the spans just taken out of the cache, the one a miss resizes: the
 * smallest that is at least pages long (cut down, it gives back the
 * least), else the longest (it has the fewest pages to take from the run
 * after it). Only a span that starts aligned qualifies. */
static size_t resize_candidate(pm_span_t *const *spans, size_t count, size_t pages,
                               size_t alignment) {
  size_t best = count;
  for (size_t i = 0; i < count; i++) {
    size_t have = spans[i]->page_count;
    if (((uintptr_t)_pm_span_start(spans[i]) & (alignment - 1)) != 0) continue;
    if (best == count) {
      best = i;
      continue;
    }
    size_t best_pages = spans[best]->page_count;
    bool fits = have >= pages, best_fits = best_pages >= pages, better;
    if (fits != best_fits)
      better = fits; /* long enough beats too short */
    else if (fits)
      better = have < best_pages; /* less to give back */
    else
      better = have > best_pages; /* fewer pages to take */
    if (better) best = i;
  }
  return best;
}

/* Pages lock held: span (cached, out of the cache) made pages long in
 * place; false when the run after it is not free or too short. */
static bool span_resize(pm_span_t *span, size_t pages) {
  if (pages == span->page_count) return true;
  if (pages < span->page_count) {
    _pm_span_shrink(span, pages, pm_span_get(span, freed_at)); /* the age it was cached with */
    return true;
  }
  /* Only into resident pages: the pool would serve the request from
   * resident pages elsewhere before it took clean ones, and taking clean
   * ones here raised bench/wl-large's peak RSS from 79 to 93 MiB. */
  return _pm_span_grow(span, pages, true);
}

pm_span_t *_pm_large_cache_miss(pm_heap_t *heap, size_t pages, size_t alignment, bool *gave_back) {
  pm_span_t *spans[PM_LARGE_CACHE_SLOTS];
  size_t count = cache_empty(heap, spans);
  *gave_back = count > 0;
  size_t chosen = resize_candidate(spans, count, pages, alignment);
  /* The others first: one of them may be the free run the chosen grows into. */
  for (size_t i = 0; i < count; i++)
    if (i != chosen) span_return_to_pool(spans[i]);
  if (chosen == count) return NULL;
  pm_span_t *span = spans[chosen];
  size_t before = span->page_count;
  if (!span_resize(span, pages)) {
    span_return_to_pool(span);
    return NULL;
  }
  _pm_pool.large_live_bytes += span->page_count * PM_PAGE_SIZE;
  _pm_pool.large_live_bytes -= before * PM_PAGE_SIZE;
  pm_span_set(span, kind, (uint8_t)PM_SPAN_LARGE);
  return span;
}

void _pm_large_cache_flush(pm_heap_t *heap) {
  pm_span_t *victims[PM_LARGE_CACHE_SLOTS];
  spans_return_to_pool(victims, cache_empty(heap, victims));
}

bool _pm_large_cache_sweep(uint64_t cutoff_ms) {
  bool left = false;
  for (pm_heap_t *heap = atomic_load_explicit(&_pm_heaps_all, memory_order_acquire); heap != NULL;
       heap = heap->next_all) {
    for (size_t i = 0; i < PM_LARGE_CACHE_SLOTS; i++) {
      pm_span_t *span = atomic_load_explicit(&heap->large_cached[i], memory_order_seq_cst);
      if (span == NULL) continue;
      /* Under the pages lock the span's segment stays mapped even if the
       * owner takes the span meanwhile; its age may then be stale, which
       * at worst gives back a span cached again just now. */
      if (pm_span_get(span, freed_at) > cutoff_ms ||
          !atomic_compare_exchange_strong_explicit(&heap->large_cached[i], &span, NULL,
                                                   memory_order_acquire, memory_order_relaxed)) {
        left = true;
        continue;
      }
      span_return_to_pool(span);
    }
  }
  return left;
}

uint64_t _pm_large_cache_bytes(void) {
  /* Clear, the flag means no cache holds a span (decay.c) but one being
   * cached just now, counted as allocated a moment longer. */
  if (!atomic_load_explicit(&_pm_decay_caches_used, memory_order_relaxed)) return 0;
  uint64_t bytes = 0;
  for (pm_heap_t *heap = atomic_load_explicit(&_pm_heaps_all, memory_order_acquire); heap != NULL;
       heap = heap->next_all) {
    for (size_t i = 0; i < PM_LARGE_CACHE_SLOTS; i++) {
      pm_span_t *span = atomic_load_explicit(&heap->large_cached[i], memory_order_relaxed);
      if (span != NULL) bytes += (uint64_t)pm_span_get(span, page_count) * PM_PAGE_SIZE;
    }
  }
  return bytes;
}
