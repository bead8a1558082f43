/* heap.c: per-thread heaps and the small-allocation slow path.
 *
 * Each thread allocates small blocks from slabs its heap owns, without
 * locks. A new thread starts on _pm_heap_empty, a sentinel whose direct
 * table leads to an empty slab, so its first malloc falls into the slow
 * path, which makes the real heap (mimalloc's trick: the fast path needs
 * no "initialized?" test). A thread's exit returns its empty slabs and
 * abandons the others; other threads adopt abandoned slabs before asking
 * for new pages. */
#include <string.h>

#include "internal.h"

pm_span_t _pm_span_empty;
/* Only the direct table is set: the slow path recognises the sentinel
 * before it looks at a bin. */
pm_heap_t _pm_heap_empty = {.direct = {[0 ... PM_DIRECT_MAX / PM_ALIGNMENT] = &_pm_span_empty}};
PM_TLS pm_heap_t *_pm_heap_default = &_pm_heap_empty;
PM_TLS bool _pm_thread_exited;
pm_lock_t _pm_heaps_lock = PM_LOCK_INIT;
_Atomic(pm_heap_t *) _pm_heaps_all;

static pm_heap_t *heaps_free; /* recycled; under _pm_heaps_lock */
static uint8_t *heap_chunk;   /* bump area for new heaps; under _pm_heaps_lock */
static size_t heap_chunk_left;
/* Under _pm_pages_lock; read only while abandoned_count says a list holds a slab. */
PM_COLD_BSS static pm_span_list_t abandoned[PM_CLASS_COUNT];
static _Atomic size_t abandoned_count;

#define HEAP_CHUNK_BYTES ((size_t)64 << 10)
_Static_assert(offsetof(pm_heap_t, bins) + 26 * sizeof(pm_bin_t) <= PM_PAGE_SIZE,
               "the large-block cache and the bins of blocks up to 640 bytes share the heap's "
               "first page (types.h)");

/* ---- slab lists (doubly linked through next/prev) ---- */
static void list_push(pm_span_list_t *list, pm_span_t *span) {
  span->prev = NULL;
  span->next = list->first;
  if (list->first != NULL)
    list->first->prev = span;
  else
    list->last = span;
  list->first = span;
}

static void list_append(pm_span_list_t *list, pm_span_t *span) {
  span->next = NULL;
  span->prev = list->last;
  if (list->last != NULL)
    list->last->next = span;
  else
    list->first = span;
  list->last = span;
}

static void list_remove(pm_span_list_t *list, pm_span_t *span) {
  if (span->prev)
    span->prev->next = span->next;
  else
    list->first = span->next;
  if (span->next)
    span->next->prev = span->prev;
  else
    list->last = span->prev;
  span->next = span->prev = NULL;
}

/* Makes span (NULL: none) the class's current slab, in the bin and the
 * direct table. */
static pm_span_t *bin_set_current(pm_heap_t *heap, size_t size_class, pm_span_t *span) {
  heap->bins[size_class].current = span;
  size_t last = _pm_class_size[size_class] / PM_ALIGNMENT;
  size_t first = size_class == 0 ? 0 : _pm_class_size[size_class - 1] / PM_ALIGNMENT + 1;
  for (size_t i = first; i <= last && i <= PM_DIRECT_MAX / PM_ALIGNMENT; i++)
    heap->direct[i] = span != NULL ? span : &_pm_span_empty;
  return span;
}

static pm_heap_t *heap_new_locked(void) {
  if (heaps_free != NULL) {
    pm_heap_t *heap = heaps_free;
    heaps_free = heap->next_free;
    return heap;
  }
  size_t size = pm_align_up(sizeof(pm_heap_t), PM_PAGE_SIZE); /* each starts a page */
  if (heap_chunk_left < size) {
    heap_chunk = _pm_prim_map_aligned(HEAP_CHUNK_BYTES, _pm_prim_page_size());
    if (heap_chunk == NULL) return NULL;
    heap_chunk_left = HEAP_CHUNK_BYTES;
  }
  pm_heap_t *heap = (pm_heap_t *)heap_chunk;
  heap_chunk += size;
  heap_chunk_left -= size;
  heap->next_all = atomic_load_explicit(&_pm_heaps_all, memory_order_relaxed);
  atomic_store_explicit(&_pm_heaps_all, heap, memory_order_release);
  return heap;
}

pm_heap_t *_pm_heap_for_thread(void) {
  if (pm_unlikely(_pm_thread_exited)) return NULL;
  _pm_init();
  /* The first init registers the fork handlers, which may allocate: that
   * allocation made this thread's heap already. */
  if (_pm_heap_default != &_pm_heap_empty) return _pm_heap_default;
  _pm_lock(&_pm_heaps_lock);
  pm_heap_t *heap = heap_new_locked();
  if (heap != NULL) {
    /* A new heap is zeroed memory and an exited thread's heap was emptied
     * (_pm_heap_thread_exit): the bins need writing only where they still
     * differ, so that the pages of classes this thread never uses stay
     * untouched. */
    for (size_t i = 0; i <= PM_DIRECT_MAX / PM_ALIGNMENT; i++)
      heap->direct[i] = &_pm_span_empty;
    for (size_t c = 0; c < PM_CLASS_COUNT; c++) {
      pm_bin_t *bin = &heap->bins[c];
      uint32_t hint = atomic_load_explicit(&bin->remote_hint, memory_order_relaxed);
      if (bin->remote_seen != hint) bin->remote_seen = hint;
      if (bin->early_empties != 0) bin->early_empties = 0;
      pm_assert(bin->current == NULL && bin->active.first == NULL && bin->full.first == NULL &&
                    bin->adopted == 0,
                "a heap is reused only when its bins are empty");
    }
  }
  _pm_unlock(&_pm_heaps_lock);
  if (heap == NULL) return NULL;
  /* Install before registering the exit hook: pthread_setspecific may itself
   * allocate, and that allocation must find this heap. */
  _pm_heap_default = heap;
  _pm_prim_thread_set(heap);
  return heap;
}

/* ---- cold slabs: kept for a while after they empty ---- */
/* A slab that empties inside its first extension stays with its heap,
 * started over (idle.c), so that a repeated free of one of its blocks
 * still finds it rather than another request's block in its pages. Only
 * the latest two stay: a thread that uses many classes once each would
 * otherwise keep a slab for every one of them (64 KiB of address space and
 * a descriptor each; 64 threads held 288 MiB mapped instead of 32). */
#define COLD_KEPT (sizeof((pm_heap_t *)0)->cold_kept / sizeof(pm_span_t *))

static void heap_forget_cold(pm_heap_t *heap, const pm_span_t *span) {
  for (size_t i = 0; i < COLD_KEPT; i++)
    if (heap->cold_kept[i] == span) heap->cold_kept[i] = NULL;
}

/* Returns an emptied slab of the heap that owns bin to the page pool.
 * Hardening: a block freed twice shows up now, before its list goes (on
 * every way a slab leaves a heap: emptied, trimmed, or its thread ended).
 * The caller calls _pm_background_check once its lists are consistent:
 * starting the thread allocates (glibc's thread bookkeeping), and an
 * allocation in the middle of a walk over this heap's lists could move
 * or release the slab the walk goes to next. */
static void slab_release(pm_heap_t *heap, pm_bin_t *bin, pm_span_t *span) {
  heap_forget_cold(heap, span);
  if (PM_HARDENING) _pm_slab_check_empty(span);
  if (span->adopted) bin->adopted--;
  _pm_lock(&_pm_pages_lock);
  _pm_idle_forget(bin, span);
  _pm_pool.slabs[span->size_class]--;
  _pm_pool.slab_total--;
  _pm_span_free(span, _pm_slab_resident_pages(span), _pm_prim_clock_ms());
  _pm_decay_after_free();
  _pm_unlock(&_pm_pages_lock);
}

/* Keeps span, the latest cold slab, and gives back the oldest one kept if
 * it is still empty and current and has not been carved since (a slab
 * carved again and emptied again is kept for good, and leaves the list
 * then: heap_forget_cold). The caller calls _pm_background_check. */
static void heap_keep_cold(pm_heap_t *heap, pm_span_t *span) {
  if (heap->cold_kept[0] == span) return;
  heap_forget_cold(heap, span);
  pm_span_t *oldest = heap->cold_kept[COLD_KEPT - 1];
  for (size_t i = COLD_KEPT - 1; i > 0; i--)
    heap->cold_kept[i] = heap->cold_kept[i - 1];
  heap->cold_kept[0] = span;
  if (oldest == NULL) return;
  pm_bin_t *bin = &heap->bins[oldest->size_class];
  if (bin->current != oldest || oldest->used != 0 || oldest->reserved != 0) return;
  bin_set_current(heap, oldest->size_class, NULL);
  list_remove(&bin->active, oldest);
  slab_release(heap, bin, oldest);
}

/* Gives span blocks to allocate if it has any left, freed or fresh. */
static bool slab_refill(pm_span_t *span, pm_heap_t *heap) {
  if (span->free == NULL) _pm_slab_collect(span);
  return span->free != NULL || _pm_idle_extend(heap, &heap->bins[span->size_class], span);
}

static void bin_make_full(pm_bin_t *bin, pm_span_t *span) {
  list_remove(&bin->active, span);
  list_push(&bin->full, span);
  span->in_full = 1;
}

static pm_span_t *bin_adopt(pm_heap_t *heap, pm_bin_t *bin, size_t size_class) {
  if (atomic_load_explicit(&abandoned_count, memory_order_relaxed) == 0) return NULL;
  _pm_lock(&_pm_pages_lock);
  pm_span_t *span = abandoned[size_class].first;
  if (span != NULL) {
    list_remove(&abandoned[size_class], span);
    atomic_fetch_sub_explicit(&abandoned_count, 1, memory_order_relaxed);
    span->adopted = 1;
    atomic_store_explicit(&span->heap, heap, memory_order_release);
  }
  _pm_unlock(&_pm_pages_lock);
  if (span != NULL) {
    bin->adopted++;
    list_push(&bin->active, span);
  }
  return span;
}

static pm_span_t *bin_new_slab(pm_heap_t *heap, pm_bin_t *bin, size_t size_class) {
  size_t resident;
  _pm_lock(&_pm_pages_lock);
  pm_span_t *span = _pm_span_alloc(PM_SLAB_PAGES, PM_SLAB_PAGES, PM_SPAN_SLAB, &resident);
  if (span != NULL) {
    _pm_pool.slabs[size_class]++;
    _pm_pool.slab_total++;
    _pm_slab_init(span, size_class, heap);
    span->dirty = (uint8_t)resident; /* may be resident, wherever the frontier is */
    /* Carved from resident pages: those past the frontier wait for decay. */
    if (resident > 0) _pm_idle_register(bin, span);
  }
  _pm_unlock(&_pm_pages_lock);
  if (span == NULL) return NULL;
  list_push(&bin->active, span);
  /* The heap grows: a candidate for the peak, and maybe for the thread. */
  _pm_background_note_growth(_pm_stats_sample_peak());
  return span;
}

/* Moves the full slabs that other threads freed blocks into back to the
 * active list, blocks collected; returns the last one, or NULL. */
static pm_span_t *bin_take_remote_frees(pm_bin_t *bin) {
  pm_span_t *found = NULL;
  for (pm_span_t *span = bin->full.first, *next; span != NULL; span = next) {
    next = span->next;
    if (atomic_load_explicit(&span->thread_free, memory_order_relaxed) == NULL) continue;
    _pm_slab_collect(span);
    list_remove(&bin->full, span);
    span->in_full = 0;
    list_push(&bin->active, span);
    found = span;
  }
  return found;
}

/* The current slab ran dry: find the next one with blocks to give. */
static pm_span_t *bin_next_slab(pm_heap_t *heap, pm_bin_t *bin, size_t size_class) {
  if (bin->current != NULL) bin_make_full(bin, bin->current);
  bin_set_current(heap, size_class, NULL);
  for (pm_span_t *span = bin->active.first, *next; span != NULL; span = next) {
    next = span->next;
    if (slab_refill(span, heap)) return bin_set_current(heap, size_class, span);
    bin_make_full(bin, span);
  }
  /* Acquire: pairs with the remote freer's release, so the blocks behind
   * the hint are seen. */
  uint32_t hint = atomic_load_explicit(&bin->remote_hint, memory_order_acquire);
  bool scanned = hint != bin->remote_seen;
  if (scanned) {
    bin->remote_seen = hint;
    pm_span_t *found = bin_take_remote_frees(bin);
    if (found != NULL) return bin_set_current(heap, size_class, found);
  }
  pm_span_t *span;
  while ((span = bin_adopt(heap, bin, size_class)) != NULL) {
    if (slab_refill(span, heap)) return bin_set_current(heap, size_class, span);
    bin_make_full(bin, span);
  }
  /* A free into an adopted slab may have told no one (slab.c): before
   * mapping new memory, look at the full list anyway. */
  if (!scanned && bin->adopted != 0) {
    pm_span_t *found = bin_take_remote_frees(bin);
    if (found != NULL) return bin_set_current(heap, size_class, found);
  }
  span = bin_new_slab(heap, bin, size_class);
  if (span == NULL || !slab_refill(span, heap)) return NULL;
  return bin_set_current(heap, size_class, span);
}

void *_pm_heap_malloc_small(pm_heap_t *heap, size_t size_class) {
  pm_bin_t *bin = &heap->bins[size_class];
  pm_span_t *span = bin->current;
  if (span == NULL || (span->free == NULL && !slab_refill(span, heap))) {
    span = bin_next_slab(heap, bin, size_class);
    if (span == NULL) {
      errno = ENOMEM;
      return NULL;
    }
  }
  pm_block_t *block = span->free;
  span->free = _pm_block_decode(block->next);
  _pm_block_clear_mark(block);
  span->used++;
  pm_stat_add(&heap->stats.allocations[size_class], 1);
  return block;
}

PM_NOINLINE void *_pm_heap_malloc_slow(pm_heap_t *heap, size_t size) {
  /* A thread whose exit hook has run gets no heap: glibc runs the
   * thread-specific destructors in up to four rounds, and a heap made by a
   * destructor in the last one would outlive the thread with its slabs,
   * never handed back. Its blocks come from the shared page pool instead,
   * a page or more each: a rare case, which the pool serves unowned. */
  bool exited = false;
  if (pm_unlikely(heap == &_pm_heap_empty)) {
    exited = _pm_thread_exited;
    if (!exited) heap = _pm_heap_for_thread();
    if (heap == NULL) {
      errno = ENOMEM;
      return NULL;
    }
  }
  _pm_decay_tick_lazy();
  _pm_background_check();
  if (size <= PM_SMALL_MAX && !exited) return _pm_heap_malloc_small(heap, _pm_class_of(size));
  if (size == 0) size = 1; /* from the pool, still a block of its own */
  if (size <= PM_LARGE_MAX) return _pm_large_alloc(size, PM_PAGE_SIZE, false);
  return _pm_huge_alloc(size, PM_PAGE_SIZE, false);
}

PM_NOINLINE void _pm_heap_slab_freed(pm_heap_t *heap, pm_span_t *span) {
  pm_bin_t *bin = &heap->bins[span->size_class];
  /* To the back: the slabs ahead of it have had longer to gather freed
   * blocks, so the next refill finds more than this one block (with it at
   * the front, churn refilled for one malloc in eight). */
  if (span->in_full) {
    list_remove(&bin->full, span);
    span->in_full = 0;
    list_append(&bin->active, span);
  }
  if (span->used != 0) return;
  if (span == bin->current) {
    /* Hot, or emptied after more than its first extension: kept for good. */
    if (_pm_idle_keep_emptied(bin, span))
      heap_keep_cold(heap, span);
    else
      heap_forget_cold(heap, span);
    /* Only now: a wake-up must find cold_kept consistent. */
    _pm_background_check_freed();
    return;
  }
  list_remove(&bin->active, span);
  slab_release(heap, bin, span);
  _pm_background_check_freed();
}

/* Empties a list of a departing heap: empty slabs go back to the pool, the
 * rest wait on the abandoned lists for another thread. */
PM_WARM static void heap_abandon_list(pm_heap_t *heap, pm_bin_t *bin, pm_span_t *list) {
  for (pm_span_t *span = list, *next; span != NULL; span = next) {
    next = span->next;
    span->next = span->prev = NULL;
    span->in_full = 0;
    _pm_slab_collect(span);
    if (span->used == 0) {
      slab_release(heap, bin, span);
      continue;
    }
    if (span->adopted) bin->adopted--;
    span->adopted = 0;
    _pm_lock(&_pm_pages_lock);
    _pm_idle_forget(bin, span);
    atomic_store_explicit(&span->heap, NULL, memory_order_release);
    list_push(&abandoned[span->size_class], span);
    atomic_fetch_add_explicit(&abandoned_count, 1, memory_order_relaxed);
    _pm_unlock(&_pm_pages_lock);
    /* Only a decay pass reaps a slab that other threads' frees empty, and
     * those frees may not start the background thread: the hook's check
     * below starts it now, even under decay_ms:0 (whose program kept such
     * slabs resident until it next allocated). */
    atomic_store_explicit(&_pm_background_pending, true, memory_order_relaxed);
  }
}

PM_WARM void _pm_heap_thread_exit(void *arg) {
  pm_heap_t *heap = arg;
  if (heap == NULL || heap == &_pm_heap_empty) return;
  /* In this order: an allocation in between (a signal handler's) still
   * finds the heap, intact until the loop below; after the sentinel it
   * must find the thread marked, or it would make the thread a new heap
   * that no exit hook gives back. */
  _pm_thread_exited = true;
  atomic_signal_fence(memory_order_seq_cst);
  _pm_heap_default = &_pm_heap_empty;
  /* Before any slab's list is collected: a remote free whose block this
   * hook's collection misses sees the count move (slab.c). */
  atomic_fetch_add_explicit(&heap->exits, 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
  for (size_t c = 0; c < PM_CLASS_COUNT; c++) {
    pm_bin_t *bin = &heap->bins[c];
    /* Bins the thread never used are left unwritten (not made resident). */
    if (bin->current == NULL && bin->active.first == NULL && bin->full.first == NULL) continue;
    heap_abandon_list(heap, bin, bin->active.first);
    heap_abandon_list(heap, bin, bin->full.first);
    bin->active = bin->full = (pm_span_list_t){NULL, NULL};
    bin_set_current(heap, c, NULL);
  }
  /* Slabs that left with live blocks are another heap's to adopt now. */
  for (size_t i = 0; i < COLD_KEPT; i++)
    heap->cold_kept[i] = NULL;
  _pm_large_cache_flush(heap);
  /* Even again before the heap can be reused. Release: a remote free that
   * reads the new count reads the abandoned slabs' owner as NULL. */
  atomic_fetch_add_explicit(&heap->exits, 1, memory_order_release);
  _pm_lock(&_pm_heaps_lock);
  heap->next_free = heaps_free;
  heaps_free = heap;
  _pm_unlock(&_pm_heaps_lock);
  _pm_background_check();
  _pm_background_thread_exited(_pm_prim_is_main_thread());
}

PM_COLD void _pm_heap_trim_current(void) {
  pm_heap_t *heap = _pm_heap_default;
  if (heap == &_pm_heap_empty) return;
  for (size_t c = 0; c < PM_CLASS_COUNT; c++) {
    pm_bin_t *bin = &heap->bins[c];
    /* Full slabs that other threads' frees emptied, too: nothing else
     * looks at them until this thread runs dry in their class. */
    bin_take_remote_frees(bin);
    for (pm_span_t *span = bin->active.first, *next; span != NULL; span = next) {
      next = span->next;
      _pm_slab_collect(span);
      if (span->used != 0) continue;
      if (span == bin->current) bin_set_current(heap, c, NULL);
      list_remove(&bin->active, span);
      slab_release(heap, bin, span);
    }
  }
}

void _pm_heap_reap_abandoned(void) {
  /* A pass comes here when a free may have emptied an abandoned slab (the
   * slab may have been adopted since): the lists, on a page of their own,
   * are read only when they hold one. */
  if (atomic_load_explicit(&abandoned_count, memory_order_relaxed) == 0) return;
  for (size_t c = 0; c < PM_CLASS_COUNT; c++) {
    for (pm_span_t *span = abandoned[c].first, *next; span != NULL; span = next) {
      next = span->next;
      _pm_slab_collect(span);
      if (span->used != 0) continue;
      list_remove(&abandoned[c], span);
      atomic_fetch_sub_explicit(&abandoned_count, 1, memory_order_relaxed);
      _pm_pool.slabs[c]--;
      _pm_pool.slab_total--;
      _pm_span_free(span, _pm_slab_resident_pages(span), _pm_prim_clock_ms());
    }
  }
}
