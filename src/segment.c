/* segment.c: OS memory in 32 MiB segments and the runs of pages inside them.
 *
 * A segment's header holds one descriptor per page. Allocated spans (slabs,
 * large blocks) and free runs are ranges of pages; free runs coalesce with
 * neighbours in the same state and wait in bins by page count. A "dirty"
 * run's first resident_pages pages may be resident (freed but not yet
 * given back) and the rest read as zero; "clean" runs were purged or never
 * touched. Allocation prefers dirty runs (warm memory, no page faults), and
 * decay turns dirty runs clean after a delay, as jemalloc's extents do. A
 * segment that is wholly clean and free is unmapped (except a fresh one,
 * mapped for the request at hand).
 *
 * Everything here runs under _pm_pages_lock, except the system calls of
 * the background thread's purges, which take milliseconds for large runs:
 * that purge takes a batch of runs off the lists, drops the lock for the
 * calls and puts them back (and the same again for the header pages of
 * the merged clean runs), so other threads' slow paths do not wait for
 * it, and a child made by _Fork, which runs no fork handlers, seldom
 * inherits the lock held. */
#include <string.h>

#include "internal.h"

pm_lock_t _pm_pages_lock = PM_LOCK_INIT;
pm_pool_stats_t _pm_pool;

#define HEADER_PAGES PM_SEGMENT_HEADER_PAGES
#define USABLE_PAGES PM_SEGMENT_USABLE_PAGES
#define BIN_COUNT    64 /* bins 1..62 hold runs of exactly that many pages, 63 the rest */

/* A run whose pages are being purged with the pages lock dropped: off the
 * lists and in neither state, so no neighbour merges with it and no span
 * grows into it; its kind stays free, so a free of a pointer into it is
 * still reported as one. */
#define RUN_PURGING 2
static pm_span_t *free_bins[2][BIN_COUNT]; /* [dirty][bin] */
static uint64_t nonempty_bins[2];

static size_t bin_of(size_t pages) {
  return pages < BIN_COUNT - 1 ? pages : BIN_COUNT - 1;
}

bool _pm_within_limit(size_t size) {
  return _pm_options.limit == 0 || _pm_pool.mapped_bytes + size <= _pm_options.limit;
}

/* A span's last page leads back to its head, so that the span after it
 * finds it when it is freed (coalescing). The inner pages of a large span
 * are not written: a valid pointer to a large block lies in its first page,
 * and the stale offset read for a bad one leads to a descriptor whose
 * checks reject the pointer (a free run's head reports a double free, a
 * large head a pointer other than its start, a slab head one outside its
 * blocks). Writing them all cost an 8 MiB block 2048 stores per allocation.
 * A slab writes every page (span_set_inner_offsets): any of them holds
 * blocks. */
static void span_set_tail_offset(pm_segment_t *segment, size_t head, size_t pages) {
  /* No span follows the segment's last page: leaving its offset unwritten
   * keeps the header page it lies on untouched while the segment's top is
   * unused (a stale offset is rejected as above). */
  if (head + pages < PM_SEGMENT_PAGES)
    segment->head_offsets[head + pages - 1] = (uint16_t)(pages - 1);
}

static void run_link(pm_span_t *run) {
  pm_segment_t *segment = _pm_segment_of_span(run);
  size_t bin = bin_of(run->page_count);
  pm_span_t **head = &free_bins[run->dirty][bin];
  pm_span_set(run, kind, PM_SPAN_FREE);
  atomic_store_explicit(&run->heap, NULL, memory_order_relaxed);
  run->prev = NULL;
  run->next = *head;
  if (*head) (*head)->prev = run;
  *head = run;
  nonempty_bins[run->dirty] |= (uint64_t)1 << bin;
  span_set_tail_offset(segment, _pm_span_page(segment, run), run->page_count);
  segment->free_pages += run->page_count;
  _pm_pool.dirty_bytes += run->resident_pages * PM_PAGE_SIZE;
}

static void run_unlink(pm_span_t *run) {
  size_t bin = bin_of(run->page_count);
  if (run->prev)
    run->prev->next = run->next;
  else
    free_bins[run->dirty][bin] = run->next;
  if (run->next) run->next->prev = run->prev;
  if (free_bins[run->dirty][bin] == NULL) nonempty_bins[run->dirty] &= ~((uint64_t)1 << bin);
  _pm_segment_of_span(run)->free_pages -= run->page_count;
  _pm_pool.dirty_bytes -= run->resident_pages * PM_PAGE_SIZE;
}

/* Everything of an unmap but the system call: no lookup finds the
 * segment any more. */
static void segment_forget(pm_segment_t *segment) {
  _pm_registry_clear(segment);
  _pm_pool.mapped_bytes -= PM_SEGMENT_SIZE;
}

void _pm_segments_unmap(pm_segment_t *list) {
  for (pm_segment_t *segment = list, *next; segment != NULL; segment = next) {
    next = segment->next;
    _pm_prim_unmap(segment, segment->mapping_size);
  }
}

/* Makes pages [index, index + pages) a run headed at index, whose first
 * resident pages may be resident and the rest are clean (read as zero).
 * Keeping the resident pages a prefix of the run is what makes the count
 * exact across carving: any piece of the run starts with its share. */
static pm_span_t *run_make(pm_segment_t *segment, size_t index, size_t pages, size_t resident,
                           uint64_t freed_at) {
  pm_assert(resident <= pages, "a run's resident pages lie inside it");
  pm_span_t *run = _pm_segment_span(segment, index);
  run->page_count = (uint16_t)pages;
  segment->head_offsets[index] = 0;
  run->resident_pages = (uint16_t)resident;
  run->dirty = resident > 0;
  run->freed_at = freed_at;
  return run;
}

/* Bytes counted in mapped_bytes for mappings made with the pages lock
 * dropped, for the fork child handler: the child has no thread that
 * would finish them. */
static size_t mapping_in_flight;

/* The background purge's batch while its system calls run with the lock
 * dropped (below): its runs are off the lists. For the fork child handler
 * (the child has the runs, but not the thread that would put them back)
 * and for a request at the limit, which waits for them. */
typedef struct purge_batch_s purge_batch_t;
static purge_batch_t *purge_in_flight;

bool _pm_pool_unlock_to_map(size_t size) {
  if (size > 0 && !_pm_within_limit(size)) return false;
  _pm_pool.mapped_bytes += size;
  mapping_in_flight += size;
  _pm_unlock(&_pm_pages_lock);
  return true;
}

void _pm_pool_relock_after_mapping(size_t size, bool mapped) {
  _pm_lock(&_pm_pages_lock);
  mapping_in_flight -= size;
  if (!mapped) _pm_pool.mapped_bytes -= size;
}

void *_pm_pool_map(size_t size, size_t alignment) {
  if (!_pm_pool_unlock_to_map(size)) return NULL;
  void *mapping = _pm_prim_map_aligned(size, alignment);
  _pm_pool_relock_after_mapping(size, mapping != NULL);
  return mapping;
}

static pm_segment_t *segment_map(void) {
  pm_segment_t *segment = _pm_pool_map(PM_SEGMENT_SIZE, PM_SEGMENT_SIZE);
  if (segment == NULL) return NULL;
  segment->kind = PM_SEGMENT_SPANS;
  if (!_pm_registry_set(segment, segment)) {
    _pm_pool.mapped_bytes -= PM_SEGMENT_SIZE;
    _pm_prim_unmap(segment, PM_SEGMENT_SIZE);
    return NULL;
  }
  segment->mapping_size = PM_SEGMENT_SIZE;
  /* The header pages' own descriptors are left as mapped: zero reads as
   * PM_SPAN_HEADER with a head offset of 0, which rejects a pointer into the
   * header, and writing them would make two more header pages resident. */
  _Static_assert(PM_SPAN_HEADER == 0, "a zeroed descriptor reads as header");
  run_link(run_make(segment, HEADER_PAGES, USABLE_PAGES, 0, 0)); /* fresh pages: clean */
  return segment;
}

/* Resident pages of the piece [from, from + pages) of a run whose first
 * resident pages may be resident; from counts from the run's head. */
static size_t piece_resident(size_t resident, size_t from, size_t pages) {
  if (resident <= from) return 0;
  return resident - from < pages ? resident - from : pages;
}

/* The age of two merged runs, weighted by their pages. Taking the newer
 * one would let a slab freed every few milliseconds next to a big idle run
 * keep all of it from decaying (seen with a 31 MiB run in one segment);
 * weighted, a small fresh run barely moves a big run's age, and is purged
 * with it a little early. */
static uint64_t merged_freed_at(uint64_t a, size_t a_pages, uint64_t b, size_t b_pages) {
  return (a * a_pages + b * b_pages) / (a_pages + b_pages);
}

/* Makes one run of two neighbouring free runs in the same state, first
 * before second. The merged run keeps a resident prefix: exact unless the
 * first has clean pages and the second resident ones, which then count as
 * resident as well. */
static pm_span_t *run_merge(pm_segment_t *segment, pm_span_t *first, pm_span_t *second) {
  size_t pages = first->page_count;
  size_t resident =
      second->resident_pages > 0 ? pages + second->resident_pages : first->resident_pages;
  uint64_t freed_at = merged_freed_at(first->freed_at, pages, second->freed_at, second->page_count);
  return run_make(segment, _pm_span_page(segment, first), pages + second->page_count, resident,
                  freed_at);
}

/* Merges into an unlinked run the free run right after it when both are in
 * the same state. Runs in the same state are never left side by side: so a
 * freed run finds every free neighbour in one step each way, and a wholly
 * free segment is one run (and is unmapped). */
static pm_span_t *run_absorb_next(pm_segment_t *segment, pm_span_t *run) {
  size_t end = _pm_span_page(segment, run) + run->page_count;
  if (end >= PM_SEGMENT_PAGES) return run;
  pm_span_t *next = _pm_segment_span(segment, end);
  if (pm_span_get(next, kind) != PM_SPAN_FREE || next->dirty != run->dirty) return run;
  run_unlink(next);
  return run_merge(segment, run, next);
}

/* Adds a free run, merging it with free neighbours in the same state;
 * returns the merged run, or NULL when that freed the whole segment, which
 * is then unmapped, or put on *unmaps, when not NULL, for the caller to
 * unmap once the lock is dropped. */
static pm_span_t *run_insert_coalesced(pm_segment_t *segment, pm_span_t *run,
                                       pm_segment_t **unmaps) {
  pm_span_set(run, kind, PM_SPAN_FREE);
  run = run_absorb_next(segment, run);
  size_t first = _pm_span_page(segment, run);
  if (first > HEADER_PAGES) {
    pm_span_t *before = _pm_segment_span(segment, first - 1 - segment->head_offsets[first - 1]);
    if (pm_span_get(before, kind) == PM_SPAN_FREE && before->dirty == run->dirty) {
      run_unlink(before);
      run = run_merge(segment, before, run);
    }
  }
  if (run->page_count == USABLE_PAGES && !run->dirty) { /* wholly free and already released */
    segment_forget(segment);
    segment->next = NULL;
    if (unmaps == NULL)
      _pm_segments_unmap(segment);
    else {
      segment->next = *unmaps;
      *unmaps = segment;
    }
    return NULL;
  }
  run_link(run);
  return run;
}

/* A free run's inner descriptors and inner head offsets are never read:
 * lookups reach a span through the head offset of a page it uses, and
 * coalescing reads only a run's head and its last page's offset. A zeroed
 * descriptor reads as neither a slab nor owned, and a zeroed offset leads
 * a stray pointer to its page's own descriptor, zeroed or a stale free
 * run's head, which rejects it either way. So header pages that hold only
 * inner entries of a clean run are purged with it, and a mostly free
 * segment keeps a few header pages resident instead of all of them (one
 * page of offsets covers 8 MiB of the segment, one of descriptors about
 * 240 KiB: 64 slots, one in 17 of them spare). Returns how many whole
 * pages a clean run's inner entries fill; purges them when purge is set.
 * Nothing but the run itself writes those pages while it is off the lists
 * in neither state (RUN_PURGING), so the purge may run with the lock
 * dropped. */
static size_t run_header_pages(const pm_span_t *run, bool purge) {
  pm_segment_t *segment = _pm_segment_of_span(run);
  size_t head = _pm_span_page(segment, run);
  size_t last = head + run->page_count - 1;
  const void *inner[2][2] = {
      {_pm_segment_span(segment, head + 1), _pm_segment_span(segment, last + 1)},
      {&segment->head_offsets[head + 1], &segment->head_offsets[last]},
  };
  size_t pages = 0;
  for (size_t i = 0; i < 2; i++) {
    uintptr_t from = pm_align_up((uintptr_t)inner[i][0], PM_PAGE_SIZE);
    uintptr_t to = (uintptr_t)inner[i][1] & ~(PM_PAGE_SIZE - 1);
    if (from >= to) continue;
    pages += (to - from) / PM_PAGE_SIZE;
    if (purge) _pm_prim_purge((void *)from, to - from);
  }
  return pages;
}

/* First page index >= first of a run start aligned to align_pages pages. */
static size_t aligned_page(const pm_segment_t *segment, size_t first, size_t align_pages) {
  if (align_pages <= 1) return first;
  uintptr_t address = (uintptr_t)segment + first * PM_PAGE_SIZE;
  uintptr_t aligned = pm_align_up(address, align_pages * PM_PAGE_SIZE);
  return first + (aligned - address) / PM_PAGE_SIZE;
}

/* Where in run a span of pages aligned to align_pages fits, or SIZE_MAX. */
static size_t run_fit(const pm_span_t *run, size_t pages, size_t align_pages) {
  pm_segment_t *segment = _pm_segment_of_span(run);
  size_t first = _pm_span_page(segment, run);
  size_t start = aligned_page(segment, first, align_pages);
  return start + pages <= first + run->page_count ? start : SIZE_MAX;
}

/* The exact-size bins hand out their most recent run (warm in the cache);
 * the last bin, which holds every run of BIN_COUNT - 1 pages or more, its
 * best fit, lowest address among equals, so big runs stay whole for big
 * requests (bench/wl-large: peak RSS 103 -> 96 MB and 40% less time than
 * with the most recent big run). Every request takes the start of its run,
 * so a segment fills from the bottom: the spans in use, and the header
 * pages that describe them, stay together (a small program's segment keeps
 * fewer header pages resident), and a large block has the rest of its run
 * after it to grow into. */
static pm_span_t *run_find(uint8_t dirty, size_t pages, size_t align_pages, size_t *at) {
  uint64_t bins = nonempty_bins[dirty] & ~(((uint64_t)1 << bin_of(pages)) - 1);
  while (bins != 0) {
    size_t bin = (size_t)__builtin_ctzll(bins);
    bins &= bins - 1;
    pm_span_t *best = NULL;
    for (pm_span_t *run = free_bins[dirty][bin]; run != NULL; run = run->next) {
      size_t start = run_fit(run, pages, align_pages);
      if (start == SIZE_MAX) continue;
      if (bin < BIN_COUNT - 1) {
        *at = start;
        return run;
      }
      if (best == NULL || run->page_count < best->page_count ||
          (run->page_count == best->page_count && (uintptr_t)run < (uintptr_t)best)) {
        best = run;
        *at = start;
      }
    }
    if (best != NULL) return best;
  }
  return NULL;
}

static void span_set_inner_offsets(pm_segment_t *segment, size_t head, size_t pages) {
  for (size_t i = 1; i < pages; i++)
    segment->head_offsets[head + i] = (uint16_t)i;
}

/* Takes pages [at, at + pages) out of a free run; the rest stays free. */
static pm_span_t *run_carve(pm_span_t *run, size_t at, size_t pages) {
  pm_segment_t *segment = _pm_segment_of_span(run);
  size_t first = _pm_span_page(segment, run);
  size_t end = first + run->page_count;
  size_t resident = run->resident_pages;
  uint64_t freed_at = run->freed_at;
  pm_assert(at >= first && at + pages <= end, "the carved pages lie inside the free run");
  /* A piece before the carved pages starts the run, so it keeps the run's
   * state; only the piece after them can turn clean. */
  size_t before_resident = piece_resident(resident, 0, at - first);
  if (at > first && at + pages == end && bin_of(at - first) == bin_of(run->page_count)) {
    /* The end of a run that stays in its bin: no relinking. */
    run->page_count = (uint16_t)(at - first);
    run->resident_pages = (uint16_t)before_resident;
    span_set_tail_offset(segment, first, at - first);
    segment->free_pages -= pages;
    _pm_pool.dirty_bytes -= (resident - before_resident) * PM_PAGE_SIZE;
  } else {
    run_unlink(run);
    if (at > first) run_link(run_make(segment, first, at - first, before_resident, freed_at));
    if (at + pages < end) {
      size_t after_resident = piece_resident(resident, at + pages - first, end - at - pages);
      pm_span_t *after = run_make(segment, at + pages, end - at - pages, after_resident, freed_at);
      if (after->dirty != run->dirty) after = run_absorb_next(segment, after);
      run_link(after);
    }
  }
  pm_span_t *span =
      run_make(segment, at, pages, piece_resident(resident, at - first, pages), freed_at);
  /* Inner descriptors are not written: a descriptor only reads as a live
   * slab (kind and owner, which the free paths test first) while it heads
   * one, since freeing a span clears both. */
  span_set_tail_offset(segment, at, pages);
  return span;
}

/* A free run for page_count pages, resident ones first. */
static pm_span_t *run_find_any(size_t page_count, size_t align_pages, size_t *at) {
  pm_span_t *run = run_find(1, page_count, align_pages, at);
  return run != NULL ? run : run_find(0, page_count, align_pages, at);
}

/* When no free run fits: one found after mapping a segment, or after
 * releasing retained memory; NULL when none can be had. */
static pm_span_t *run_after_mapping(size_t page_count, size_t align_pages, size_t *at) {
  pm_span_t *run = NULL;
  bool mapped = segment_map() != NULL;
  if (!mapped) {
    /* Past the limit, or refused by the OS (an address-space limit,
     * strict overcommit): releasing may unmap idle segments, and the runs
     * it purges merge into clean runs that may fit: those first, so no
     * new segment is mapped that would then sit unused. */
    _pm_decay_release_all();
    run = run_find(0, page_count, align_pages, at);
    if (run == NULL) mapped = segment_map() != NULL;
  }
  /* No other clean run fits: this finds the new segment's. */
  if (run == NULL && mapped) run = run_find(0, page_count, align_pages, at);
  return run;
}

pm_span_t *_pm_span_alloc(size_t page_count, size_t align_pages, pm_span_kind_t kind,
                          size_t *resident_pages) {
  if (page_count > USABLE_PAGES) return NULL;
  size_t at = 0;
  pm_span_t *run = run_find_any(page_count, align_pages, &at);
  if (run == NULL) {
    int saved_errno = errno; /* a refusal followed by success leaves it alone */
    run = run_after_mapping(page_count, align_pages, &at);
    /* At the limit, another thread's segment may be counted and still on
     * its way (mapped with the lock dropped), or free runs may be off the
     * lists while the background thread purges them, or their header
     * pages, with the lock dropped (a clean run of tens of megabytes
     * merged into one of those): those pages may serve this request once
     * they are back in the lists, so they are waited for rather than
     * refused. Not by the forking thread, for which the lock is no lock,
     * nor in a child of _Fork, which inherits the count and the batch
     * without the thread. */
    while (run == NULL && (mapping_in_flight > 0 || purge_in_flight != NULL) && !_pm_forking &&
           !_pm_in_unhandled_fork_child()) {
      _pm_unlock(&_pm_pages_lock);
      _pm_prim_sleep_ms(1);
      _pm_lock(&_pm_pages_lock);
      run = run_find_any(page_count, align_pages, &at);
      if (run == NULL) run = run_after_mapping(page_count, align_pages, &at);
    }
    if (run == NULL) return NULL;
    errno = saved_errno;
  }
  pm_span_t *span = run_carve(run, at, page_count);
  *resident_pages = span->resident_pages;
  if (kind == PM_SPAN_SLAB) span_set_inner_offsets(_pm_segment_of_span(span), at, page_count);
  span->used = 0;
  span->in_full = 0;
  pm_span_set(span, kind,
              (uint8_t)kind); /* before the lock drops: a free neighbour must not merge it */
  return span;
}

void _pm_span_free(pm_span_t *span, size_t resident_pages, uint64_t freed_at) {
  pm_assert(span->kind != PM_SPAN_HEADER, "a segment header page is never freed");
  pm_assert(resident_pages <= span->page_count, "a span's resident pages lie inside it");
  pm_segment_t *segment = _pm_segment_of_span(span);
  atomic_store_explicit(&span->heap, NULL, memory_order_relaxed);
  run_insert_coalesced(
      segment,
      run_make(segment, _pm_span_page(segment, span), span->page_count, resident_pages, freed_at),
      NULL);
}

pm_span_t *_pm_span_containing(pm_segment_t *segment, const void *ptr) {
  size_t page = ((uintptr_t)ptr & PM_SEGMENT_MASK) >> PM_PAGE_SHIFT;
  for (size_t head = HEADER_PAGES; head < PM_SEGMENT_PAGES;) {
    pm_span_t *span = _pm_segment_span(segment, head);
    if (span->page_count == 0) break; /* cannot happen to a head; no endless walk */
    if (page < head + span->page_count) return page >= head ? span : NULL;
    head += span->page_count;
  }
  return NULL;
}

bool _pm_span_grow(pm_span_t *span, size_t page_count, bool resident_only) {
  pm_segment_t *segment = _pm_segment_of_span(span);
  size_t first = _pm_span_page(segment, span);
  size_t extra = page_count - span->page_count;
  size_t next = first + span->page_count;
  if (next >= PM_SEGMENT_PAGES) return false;
  pm_span_t *after = _pm_segment_span(segment, next);
  if (pm_span_get(after, kind) != PM_SPAN_FREE || after->dirty == RUN_PURGING ||
      after->page_count < extra)
    return false;
  if (resident_only && after->resident_pages < extra) return false;
  pm_span_t *taken = run_carve(after, next, extra);
  pm_span_set(taken, kind, PM_SPAN_FREE); /* now part of span, no longer a head */
  span_set_tail_offset(segment, first, page_count);
  span->page_count = (uint16_t)page_count;
  return true;
}

void _pm_span_shrink(pm_span_t *span, size_t page_count, uint64_t freed_at) {
  pm_segment_t *segment = _pm_segment_of_span(span);
  size_t first = _pm_span_page(segment, span);
  size_t tail_pages = span->page_count - page_count;
  pm_span_t *tail = run_make(segment, first + page_count, tail_pages, tail_pages, 0);
  pm_span_set(tail, kind, PM_SPAN_FREE); /* an inner page until now: its kind was stale */
  span_set_tail_offset(segment, first, page_count);
  span->page_count = (uint16_t)page_count;
  _pm_span_free(tail, tail->page_count, freed_at);
}

/* Runs taken off the lists at a time for a purge that drops the lock. */
#define PURGE_BATCH 16

struct purge_batch_s {
  pm_span_t *runs[PURGE_BATCH];
  /* Read at the take: a run that is a whole segment is unmapped with its
   * descriptor, which nothing may read after the release. */
  bool whole[PURGE_BATCH];
  uint64_t resident_bytes[PURGE_BATCH];
  bool purged[PURGE_BATCH];
  size_t count;
  /* Clean runs that a return merged and whose inner header pages the next
   * release purges, off the lists in neither state until the relink after
   * it. Purged under the lock, the header pages of four runs held it for
   * 150-190 us (two or three madvise calls each, whose TLB shootdowns
   * interrupt the other core), stalling the large requests of every other
   * thread for as long (bench/README.md, "Tail latency"). */
  pm_span_t *headers[PURGE_BATCH];
  size_t header_count;
  /* Segments that the returned runs left wholly free and clean: forgotten,
   * and unmapped by the next release, with the lock dropped when the purge
   * drops it. Unmapped under the lock, one took up to 5 ms beside a thread
   * faulting in 64 MiB (the munmap waits for the mmap lock). */
  pm_segment_t *unmaps;
};

/* Takes off the lists up to PURGE_BATCH dirty runs freed before cutoff_ms,
 * largest first, until they hold budget bytes; a run that is a whole
 * segment leaves the registry now, and is unmapped with the others'
 * purges. Returns the bytes taken. */
static uint64_t purge_batch_take(purge_batch_t *batch, uint64_t cutoff_ms, uint64_t budget) {
  uint64_t taken = 0;
  batch->count = 0;
  for (size_t bin = BIN_COUNT; bin-- > 0 && taken < budget && batch->count < PURGE_BATCH;)
    for (pm_span_t *run = free_bins[1][bin], *next;
         run != NULL && taken < budget && batch->count < PURGE_BATCH; run = next) {
      next = run->next;
      if (run->freed_at > cutoff_ms) continue;
      run_unlink(run);
      run->dirty = RUN_PURGING;
      bool whole = run->page_count == USABLE_PAGES;
      if (whole) segment_forget(_pm_segment_of_span(run));
      taken += run->resident_pages * PM_PAGE_SIZE;
      batch->runs[batch->count] = run;
      batch->whole[batch->count] = whole;
      batch->resident_bytes[batch->count++] = run->resident_pages * PM_PAGE_SIZE;
    }
  return taken;
}

/* The system calls: unmapping releases as much as purging. Only the
 * resident prefix of a run needs the call. */
static void purge_batch_release(purge_batch_t *batch) {
  _pm_segments_unmap(batch->unmaps);
  batch->unmaps = NULL;
  for (size_t i = 0; i < batch->header_count; i++)
    run_header_pages(batch->headers[i], true);
  for (size_t i = 0; i < batch->count; i++) {
    pm_span_t *run = batch->runs[i];
    if (batch->whole[i]) {
      _pm_prim_unmap(_pm_segment_of_span(run), PM_SEGMENT_SIZE);
      batch->purged[i] = true;
    } else {
      batch->purged[i] = _pm_prim_purge(_pm_span_start(run), run->resident_pages * PM_PAGE_SIZE);
    }
  }
}

/* A run that this return made to have its header pages purged, lying
 * next to a purged run of the batch being put back, goes back on the
 * lists first, so that the two merge and the header pages at their
 * boundary are purged with the rest (else a run purged next to another
 * kept those pages resident: bench/wl-large, 8-16 KiB more after its free
 * phase). */
static void batch_reclaim_header_run(purge_batch_t *batch, pm_segment_t *segment, size_t page) {
  for (size_t i = 0; i < batch->header_count; i++) {
    pm_span_t *run = batch->headers[i];
    if (_pm_segment_of_span(run) != segment) continue;
    size_t head = _pm_span_page(segment, run);
    if (page < head || page >= head + run->page_count) continue;
    batch->headers[i] = batch->headers[--batch->header_count];
    run->dirty = 0;
    run_link(run);
    return;
  }
}

/* Puts the runs back, clean when purged. One that failed (locked pages
 * keep their contents) stays dirty, so a calloc from it clears it, and is
 * tried again a decay period later. Both merge with the neighbours freed
 * meanwhile. Returns the bytes released. */
static uint64_t purge_batch_return(purge_batch_t *batch) {
  uint64_t released = 0;
  for (size_t i = 0; i < batch->count; i++) {
    uint64_t bytes = batch->resident_bytes[i];
    if (batch->whole[i]) { /* unmapped by the release */
      released += bytes;
      continue;
    }
    pm_span_t *run = batch->runs[i];
    pm_segment_t *segment = _pm_segment_of_span(run);
    size_t head = _pm_span_page(segment, run);
    if (batch->purged[i]) {
      released += bytes;
      batch_reclaim_header_run(batch, segment, head - 1);
      batch_reclaim_header_run(batch, segment, head + run->page_count);
      run = run_insert_coalesced(
          segment, run_make(segment, head, run->page_count, 0, run->freed_at), &batch->unmaps);
      if (run != NULL && run_header_pages(run, false) > 0) {
        run_unlink(run);
        run->dirty = RUN_PURGING;
        batch->headers[batch->header_count++] = run;
      }
    } else {
      run_insert_coalesced(
          segment,
          run_make(segment, head, run->page_count, run->resident_pages, _pm_prim_clock_ms()),
          &batch->unmaps);
    }
  }
  batch->count = 0;
  _pm_pool.released_bytes += released;
  return released;
}

/* Puts back the runs whose header pages the release purged. A neighbour
 * freed clean meanwhile merges, its boundary's header pages left
 * resident. */
static void purge_batch_relink(purge_batch_t *batch) {
  for (size_t i = 0; i < batch->header_count; i++) {
    pm_span_t *run = batch->headers[i];
    run->dirty = 0;
    run_insert_coalesced(_pm_segment_of_span(run), run, &batch->unmaps);
  }
  batch->header_count = 0;
}

/* Batch after batch; the releases after the last return only purge the
 * header pages of its runs and unmap what it left wholly free. */
static uint64_t segments_purge(uint64_t cutoff_ms, uint64_t budget, bool drop_lock) {
  uint64_t released = 0;
  bool stalled = false;
  purge_batch_t batch = {.count = 0, .unmaps = NULL, .header_count = 0};
  for (;;) {
    bool taken =
        !stalled && released < budget && purge_batch_take(&batch, cutoff_ms, budget - released) > 0;
    if (!taken && batch.unmaps == NULL && batch.header_count == 0) break;
    if (drop_lock) {
      purge_in_flight = &batch;
      _pm_unlock(&_pm_pages_lock);
    }
    purge_batch_release(&batch);
    if (drop_lock) {
      _pm_lock(&_pm_pages_lock);
      purge_in_flight = NULL;
    }
    purge_batch_relink(&batch);
    if (!taken) continue;
    uint64_t returned = purge_batch_return(&batch);
    released += returned;
    /* Every call failed (locked pages): tried again later. */
    stalled = returned == 0;
  }
  return released;
}

uint64_t _pm_segments_purge(uint64_t cutoff_ms, uint64_t budget) {
  return segments_purge(cutoff_ms, budget, false);
}

uint64_t _pm_segments_purge_dropping_lock(uint64_t cutoff_ms) {
  return segments_purge(cutoff_ms, UINT64_MAX, true);
}

PM_WARM void _pm_segments_after_fork_child(void) {
  _pm_lock_reset(&_pm_pages_lock);
  /* A mapping being made at the fork is the child's too, but nothing will
   * refer to it: left mapped, and no longer counted. */
  _pm_pool.mapped_bytes -= mapping_in_flight;
  mapping_in_flight = 0;
  /* The parent's purge put its runs back after the fork; the child's go
   * back here as they were, dirty, since the parent's calls may have come
   * after the fork; the merged runs whose header pages it was purging go
   * back clean (their data pages were purged before the fork, and the
   * header purge is optional). A whole segment, and one waiting to be
   * unmapped, stays out of the registry, mapped: in the child it may be
   * the parent's copy, or gone, and its address then perhaps taken by a
   * mapping that is not the allocator's. */
  if (purge_in_flight != NULL) {
    for (size_t i = 0; i < purge_in_flight->count; i++)
      purge_in_flight->purged[i] = false;
    purge_batch_relink(purge_in_flight);
    purge_batch_return(purge_in_flight);
    purge_in_flight = NULL;
  }
}
