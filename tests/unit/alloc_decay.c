/* alloc_decay.c: freed memory goes back to the OS after decay_ms of idle
 * time, at once past retain_max or on trim, the limit option makes
 * allocation fail cleanly, and free runs know which of their pages may be
 * resident. */
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

#include "alloc_test.h"

TestSuite(alloc_decay, .timeout = 60);

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* Touches every page so the block is resident. */
static void *resident_block(size_t size) {
  uint8_t *p = pm_malloc(size);
  cr_assert_not_null(p);
  memset(p, 0x5a, size);
  return p;
}

Test(alloc_decay, idle_memory_is_released_after_the_delay) {
  pm_free(pm_malloc(1)); /* reads the options, which would undo the next line */
  _pm_options.decay_ms = 100;
  enum { COUNT = 64 };
  void *blocks[COUNT];
  for (int i = 0; i < COUNT; i++)
    blocks[i] = resident_block(500000); /* large runs: 32 MiB */
  size_t rss_full = _pm_prim_rss();
  pm_stats_t before = pm_test_stats();
  uint64_t frees_began = _pm_prim_clock_ms();
  for (int i = 0; i < COUNT; i++)
    pm_free(blocks[i]);
  pm_stats_t freed = pm_test_stats();
  if (pm_test_within_half_decay(frees_began))
    cr_assert_geq(freed.retained_bytes, (size_t)COUNT * 500000, "kept resident at first");
  /* Keep allocating small blocks, as a busy program does: its slow paths
   * run the decay check. */
  void *small[4096];
  for (int round = 0; round < 30; round++) {
    sleep_ms(20);
    for (int i = 0; i < 4096; i++)
      small[i] = pm_malloc(32);
    for (int i = 0; i < 4096; i++)
      pm_free(small[i]);
  }
  pm_stats_t after = pm_test_stats();
  /* The small blocks may have taken a few pages of the freed runs. */
  cr_assert_geq(after.released_bytes - before.released_bytes, (size_t)COUNT * 500000 / 4 * 3,
                "released %zu bytes", after.released_bytes - before.released_bytes);
  cr_assert_lt(after.retained_bytes, (size_t)COUNT * 500000 / 4);
  size_t rss_after = _pm_prim_rss();
  cr_assert_lt(rss_after + ((size_t)20 << 20), rss_full, "RSS dropped from %zu to %zu", rss_full,
               rss_after);
}

/* A small run freed again and again next to a big idle one merges with it
 * each time; the big run must still age and be purged after the delay. */
Test(alloc_decay, a_big_idle_run_ages_while_a_small_neighbour_churns) {
  pm_test_no_free_runs();
  _pm_options.decay_ms = 100;
  enum { BIG = 4 << 20, SMALL = 64 << 10 };
  void *big = resident_block(BIG);
  pm_stats_t before = pm_test_stats();
  pm_free(big);
  for (int i = 0; i < 40; i++) { /* 400 ms, each small run carved from the big one */
    sleep_ms(10);
    pm_free(resident_block(SMALL));
  }
  pm_stats_t after = pm_test_stats();
  cr_assert_geq(after.released_bytes - before.released_bytes, (size_t)BIG - 4 * SMALL,
                "released %zu bytes", after.released_bytes - before.released_bytes);
}

Test(alloc_decay, retained_memory_is_kept_before_the_delay) {
  /* Initialise first: the first pm_ call reads the options and would
   * overwrite the setting below. */
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  void *p = resident_block((size_t)512 << 10);
  pm_stats_t before = pm_test_stats();
  pm_free(p);
  void *small[4096];
  for (int i = 0; i < 4096; i++)
    small[i] = pm_malloc(32);
  for (int i = 0; i < 4096; i++)
    pm_free(small[i]);
  pm_stats_t after = pm_test_stats();
  cr_assert_eq(after.released_bytes, before.released_bytes, "nothing released early");
  /* The small blocks may take slabs from the freed run (3 at most). */
  cr_assert_geq(after.retained_bytes + 3 * PM_SLAB_SIZE, (size_t)512 << 10);
}

Test(alloc_decay, trim_releases_at_once) {
  _pm_options.decay_ms = 60000;
  void *p = resident_block((size_t)900 << 10);
  pm_free(p);
  pm_stats_t before = pm_test_stats();
  cr_assert_eq(pm_trim(0), 1);
  pm_stats_t after = pm_test_stats();
  cr_assert_geq(after.released_bytes - before.released_bytes, (size_t)900 << 10);
  cr_assert_leq(after.retained_bytes + ((size_t)900 << 10), before.retained_bytes);
}

/* Frees a resident block whose pages are locked (skips the test when the
 * OS refuses the lock); returns where it was, still locked. */
static uint8_t *free_locked_block(size_t size) {
  uint8_t *p = resident_block(size);
  if (mlock(p, size) != 0) cr_skip_test("mlock: %s (RLIMIT_MEMLOCK too low)", strerror(errno));
  pm_free(p);
  return p;
}

/* Locked pages (mlock, mlockall) cannot be purged: the OS refuses and they
 * keep their contents. The run must then stay dirty, so that calloc clears
 * it, and must not count as released. */
Test(alloc_decay, locked_pages_stay_dirty_when_the_purge_is_refused) {
  enum { SIZE = 900 << 10 };
  _pm_options.decay_ms = 60000;
  uint8_t *p = free_locked_block(SIZE);
  pm_stats_t before = pm_test_stats();
  pm_trim(0);
  pm_stats_t after = pm_test_stats();
  cr_expect_lt(after.released_bytes - before.released_bytes, (size_t)SIZE,
               "locked pages were counted as released");
  uint8_t *q = pm_calloc(1, SIZE);
  cr_assert_not_null(q);
  size_t dirty = 0;
  for (size_t i = 0; i < SIZE; i++)
    dirty += q[i] != 0;
  cr_expect_eq(dirty, 0, "calloc returned %zu stale bytes (%s the locked run)", dirty,
               q == p ? "from" : "not from");
  munlock(p, SIZE);
  pm_free(q);
}

/* A purge the OS refused is tried again a decay period later, also after a
 * trim (which once left no deadline behind it, so the pages stayed until
 * some later free). */
Test(alloc_decay, a_refused_purge_is_retried_after_a_trim) {
  enum { SIZE = 900 << 10 };
  _pm_options.decay_ms = 50;
  uint8_t *p = free_locked_block(SIZE);
  pm_trim(0);
  cr_assert_geq(pm_test_stats().retained_bytes, (size_t)SIZE, "the locked run is retained");
  munlock(p, SIZE);
  /* No allocator call from here on: the background thread has to do it,
   * within a decay period or two; up to 5 s on a loaded machine. */
  for (int i = 0; i < 100 && pm_test_stats().retained_bytes >= (size_t)SIZE; i++) {
    struct timespec wait = {0, 50 * 1000 * 1000};
    while (nanosleep(&wait, &wait) != 0) {
    }
  }
  cr_assert_lt(pm_test_stats().retained_bytes, (size_t)SIZE, "retained %zu bytes",
               pm_test_stats().retained_bytes);
}

Test(alloc_decay, retain_max_caps_retained_memory) {
  _pm_options.decay_ms = 60000;
  _pm_options.retain_max = (size_t)2 << 20;
  _pm_options.large_cache = 0; /* the cap is the pool's; each thread's cache comes on top */
  void *blocks[16];
  for (int i = 0; i < 16; i++)
    blocks[i] = resident_block(500000);
  pm_stats_t before = pm_test_stats();
  for (int i = 0; i < 16; i++)
    pm_free(blocks[i]);
  pm_stats_t after = pm_test_stats();
  cr_assert_leq(after.retained_bytes, (size_t)2 << 20, "retained %zu", after.retained_bytes);
  cr_assert_geq(after.released_bytes - before.released_bytes, (size_t)16 * 500000 - (2u << 20));
}

/* Shrinking a large block in place frees its tail like any other free:
 * with decay_ms 0 it goes back at once, past retain_max it is capped. */
Test(alloc_decay, a_block_shrunk_in_place_gives_its_tail_back) {
  pm_free(pm_malloc(1)); /* reads the options, which would undo the next line */
  _pm_options.decay_ms = 0;
  uint8_t *block = resident_block((size_t)4 << 20);
  pm_stats_t before = pm_test_stats();
  cr_assert_eq(pm_realloc(block, 100000), block, "shrunk in place");
  pm_stats_t after = pm_test_stats();
  cr_assert_geq(after.released_bytes - before.released_bytes, ((size_t)4 << 20) - 102400,
                "released %zu bytes", after.released_bytes - before.released_bytes);
  cr_assert_eq(after.retained_bytes, 0, "retained %zu bytes", after.retained_bytes);
  pm_free(block);
}

Test(alloc_decay, limit_fails_with_enomem) {
  pm_stats_t now = pm_test_stats();
  _pm_options.limit = now.mapped_bytes + 2 * PM_SEGMENT_SIZE;
  void *blocks[64];
  int got = 0;
  errno = 0;
  while (got < 64 && (blocks[got] = pm_malloc((size_t)2 << 20)) != NULL)
    got++;
  cr_assert_lt(got, 64, "the limit stopped allocation");
  cr_assert_gt(got, 0, "allocation worked below the limit");
  cr_assert_eq(errno, ENOMEM);
  pm_stats_t full = pm_test_stats();
  cr_assert_leq(full.mapped_bytes, _pm_options.limit);
  errno = 0;
  cr_assert_null(pm_malloc((size_t)64 << 20));
  cr_assert_eq(errno, ENOMEM);
  for (int i = 0; i < got; i++)
    pm_free(blocks[i]);
  cr_assert_not_null(pm_malloc((size_t)2 << 20), "freed memory is usable again");
}

/* At the limit a huge request that fits in a segment's free pages is
 * served from them instead of failing. */
Test(alloc_decay, a_huge_block_takes_segment_pages_when_no_mapping_can_be_had) {
  void *keeper = pm_malloc(100000); /* a segment, nearly all of it free */
  _pm_options.limit = pm_test_stats().mapped_bytes;
  uint8_t *huge = pm_malloc(PM_TEST_HUGE_SIZE);
  cr_assert_not_null(huge, "served from the segment's free pages");
  cr_assert_eq(_pm_registry_lookup(huge)->kind, PM_SEGMENT_SPANS, "a page run, not a mapping");
  cr_assert_geq(pm_usable_size(huge), PM_TEST_HUGE_SIZE);
  memset(huge, 1, PM_TEST_HUGE_SIZE);
  cr_assert_eq(pm_realloc(huge, PM_TEST_HUGE_SIZE - 4 * PM_PAGE_SIZE), huge, "shrinks in place");
  errno = 0;
  cr_assert_null(pm_malloc(PM_SEGMENT_SIZE), "no segment holds a block this big");
  cr_assert_eq(errno, ENOMEM);
  pm_free(huge);
  pm_free(keeper);
}

/* A shrink that must move (a huge block to a page run) and finds no room
 * keeps its block, as glibc's shrinks never fail. */
Test(alloc_decay, a_shrink_with_no_room_to_move_keeps_its_block) {
  uint8_t *huge = pm_malloc((size_t)20 << 20);
  cr_assert_not_null(huge);
  memset(huge, 7, (size_t)20 << 20);
  _pm_options.limit = pm_test_stats().mapped_bytes;
  void *fill[8];
  int filled = 0;
  while (filled < 8 && (fill[filled] = pm_malloc((size_t)8 << 20)) != NULL)
    filled++;
  cr_assert_lt(filled, 8, "the segments are full");
  errno = 0;
  uint8_t *shrunk = pm_realloc(huge, (size_t)8 << 20);
  cr_assert_eq(shrunk, huge, "kept (errno %d)", errno);
  cr_assert_eq(errno, 0, "a realloc that succeeds leaves errno alone");
  cr_assert_eq(shrunk[((size_t)8 << 20) - 1], 7);
  pm_free(shrunk);
  for (int i = 0; i < filled; i++)
    pm_free(fill[i]);
}

/* At the limit a huge block that grows in place first releases what is
 * retained: growing by 30 MiB fit, but the move that the refusal led to
 * needed 90 MiB beside the old 60 and failed. */
Test(alloc_decay, a_huge_block_grows_in_place_after_releasing_at_the_limit) {
  uint8_t *block = pm_malloc((size_t)60 << 20);
  cr_assert_not_null(block);
  void *kept[2] = {resident_block((size_t)16 << 20), resident_block((size_t)16 << 20)};
  pm_free(kept[0]); /* retained, and mapped */
  pm_free(kept[1]);
  _pm_options.limit = pm_test_stats().mapped_bytes + ((size_t)4 << 20);
  errno = 0;
  void *grown = pm_realloc(block, (size_t)90 << 20);
  cr_assert_not_null(grown, "grew once the retained memory went back (errno %d)", errno);
  cr_assert_leq(pm_test_stats().mapped_bytes, _pm_options.limit);
  pm_free(grown);
}

/* A huge block grows by half again at least (huge.c); when the limit
 * leaves room for the size asked for but not for that extra, it still
 * grows. */
Test(alloc_decay, a_huge_block_grows_to_the_size_asked_for_when_the_extra_passes_the_limit) {
  const size_t size = (size_t)100 << 20, grown = (size_t)110 << 20;
  void *block = pm_malloc(size);
  cr_assert_not_null(block);
  _pm_options.limit = pm_test_stats().mapped_bytes + (grown - size) + ((size_t)2 << 20);
  errno = 0;
  void *moved = pm_realloc(block, grown);
  cr_assert_not_null(moved, "grew under the limit (errno %d)", errno);
  cr_assert_geq(pm_usable_size(moved), grown);
  cr_assert_leq(pm_test_stats().mapped_bytes, _pm_options.limit);
  pm_free(moved);
}

/* A segment leaves the descriptors of its own header pages as mapped, so
 * the pages that hold only those stay untouched. */
Test(alloc_decay, a_segment_leaves_its_header_descriptors_untouched) {
  void *block = pm_malloc(100);
  pm_segment_t *segment = _pm_span_segment_lookup(block);
  uintptr_t from = pm_align_up((uintptr_t)_pm_segment_span(segment, 0), PM_PAGE_SIZE);
  uintptr_t to =
      (uintptr_t)_pm_segment_span(segment, PM_SEGMENT_HEADER_PAGES) & ~(PM_PAGE_SIZE - 1);
  cr_assert_gt(to, from, "whole pages hold only header descriptors");
  cr_assert_eq(pm_test_resident_pages((void *)from, (to - from) / PM_PAGE_SIZE), 0);
  pm_free(block);
}

/* Every page has a descriptor slot of its own, inside the header, and the
 * descriptors of 64 slabs in a row fall in 64 different sets of a 32 KiB
 * 8-way L1 data cache (address bits 6-11), not in 4 as one slot per page
 * would put them. */
Test(alloc_decay, slab_descriptors_spread_over_the_cache_sets) {
  void *block = pm_malloc(100);
  pm_segment_t *segment = _pm_span_segment_lookup(block);
  uint8_t *header_end = (uint8_t *)segment + PM_SEGMENT_HEADER_PAGES * PM_PAGE_SIZE;
  for (size_t page = 0; page < PM_SEGMENT_PAGES; page++) {
    pm_span_t *span = _pm_segment_span(segment, page);
    cr_assert_eq(_pm_span_page(segment, span), page, "page %zu maps back to itself", page);
    cr_assert_leq((uint8_t *)(span + 1), header_end, "page %zu's descriptor is in the header",
                  page);
  }
  uint64_t sets_seen = 0;
  for (size_t slab = 0; slab < 64; slab++) {
    uintptr_t address = (uintptr_t)_pm_segment_span(
        segment, PM_SEGMENT_HEADER_PAGES / PM_SLAB_PAGES * PM_SLAB_PAGES + slab * PM_SLAB_PAGES);
    sets_seen |= (uint64_t)1 << (address >> 6 & 63);
  }
  cr_assert_eq(sets_seen, UINT64_MAX, "64 slab heads in a row use every set");
  pm_free(block);
}

/* At the limit a huge request that segment pages can hold takes them
 * before any retained memory is released for a mapping of its own. */
Test(alloc_decay, at_the_limit_segment_pages_come_before_releasing) {
  pm_test_no_free_runs();
  void *keeper = pm_malloc(100000);
  pm_free(resident_block((size_t)4 << 20)); /* 4 MiB retained, resident */
  _pm_options.limit = pm_test_stats().mapped_bytes;
  pm_stats_t before = pm_test_stats();
  void *huge = pm_malloc(PM_TEST_HUGE_SIZE);
  cr_assert_not_null(huge);
  pm_stats_t after = pm_test_stats();
  cr_assert_eq(after.released_bytes, before.released_bytes, "nothing released");
  cr_assert_geq(after.retained_bytes, (size_t)4 << 20, "the freed run is still retained");
  pm_free(huge);
  pm_free(keeper);
}

/* Header pages of a segment that hold only the descriptors of a purged
 * run's inner pages are purged with it (segment.c); the run serves the
 * next allocation as before, and pointers into it are still checked. */
static size_t resident_header_pages(const pm_segment_t *segment) {
  return pm_test_resident_pages(segment, PM_SEGMENT_HEADER_PAGES);
}

static size_t page_in_segment(const pm_segment_t *segment, const void *p) {
  return (size_t)((const uint8_t *)p - (const uint8_t *)segment) / PM_PAGE_SIZE;
}

static void free_inner_pointer(void *block) {
  pm_free((uint8_t *)block + PM_PAGE_SIZE + 16);
}

/* The background thread's purge, as decay.c calls it: under the lock,
 * which it drops for its system calls. */
static void purge_as_the_background_thread(void) {
  _pm_lock(&_pm_pages_lock);
  _pm_segments_purge_dropping_lock(UINT64_MAX);
  _pm_unlock(&_pm_pages_lock);
}

static void trim(void) {
  pm_trim(0);
}

enum { RUNS = 48, TRIES = 256, RUN_BYTES = 64 << 10 };

/* Allocates resident runs of RUN_BYTES into runs until the last RUNS of
 * them lie side by side, and returns their segment; *count is how many it
 * made (the first ones may fill gaps elsewhere). */
static pm_segment_t *runs_in_one_segment(void **runs, int *count) {
  int adjacent = 0;
  while (adjacent < RUNS && *count < TRIES) {
    uint8_t *run = resident_block(RUN_BYTES);
    bool next = *count > 0 && (uint8_t *)runs[*count - 1] + RUN_BYTES == run;
    adjacent = next ? adjacent + 1 : 1;
    runs[(*count)++] = run;
  }
  cr_assert_eq(adjacent, RUNS, "%d runs side by side", RUNS);
  return _pm_span_segment_lookup(runs[*count - 1]);
}

/* Frees runs [from, to) into the pool. */
static void free_runs(void **runs, int from, int to) {
  for (int i = from; i < to; i++)
    pm_free(runs[i]);
  _pm_large_cache_flush(_pm_heap_default); /* the last few freed wait there */
}

static void expect_descriptor_pages_purged(void (*purge)(void)) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  /* Runs of 16 pages write descriptors over 16 pages of a segment's header;
   * the last one stays live and keeps the segment mapped. */
  static void *runs[TRIES];
  int count = 0;
  pm_segment_t *segment = runs_in_one_segment(runs, &count);
  void *keeper = runs[--count];
  size_t before = resident_header_pages(segment);
  free_runs(runs, 0, count);
  _pm_lock(&_pm_pages_lock);
  size_t free_pages = segment->free_pages;
  _pm_unlock(&_pm_pages_lock);
  purge();
  size_t after = resident_header_pages(segment);
  cr_assert_leq(after + 10, before, "header pages resident: %zu before the purge, %zu after",
                before, after);
  /* Every run the purge took is back on the free lists (a trim may add
   * the slabs it releases). */
  cr_assert_geq(segment->free_pages, free_pages, "free pages: %u after the purge, %zu before",
                segment->free_pages, free_pages);
  /* Pointers into the purged run are still checked... */
  char out[256];
  int status;
  pm_test_capture((void (*)(void *))free_inner_pointer, runs[0], out, sizeof out, &status);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s", out);
  cr_assert(strstr(out, "invalid pointer") != NULL, "%s", out);
  /* ...and its pages, back on the lists, serve new requests without a
   * new mapping. */
  size_t mapped = pm_test_stats().mapped_bytes;
  for (int i = 0; i < count; i++) {
    runs[i] = resident_block(RUN_BYTES);
    cr_assert_eq(_pm_span_segment_lookup(runs[i]), segment, "run %d from the purged segment", i);
  }
  cr_assert_eq(pm_test_stats().mapped_bytes, mapped, "no new mapping");
  for (int i = 0; i < count; i++)
    pm_free(runs[i]);
  pm_free(keeper);
}

Test(alloc_decay, a_purged_run_takes_its_descriptor_pages_along) {
  expect_descriptor_pages_purged(trim);
}

/* The background thread purges them with the lock dropped (segment.c,
 * purge_batch_t's headers): the merged runs wait off the lists meanwhile
 * and come back after. */
Test(alloc_decay, a_background_purge_takes_the_descriptor_pages_along_and_puts_the_run_back) {
  expect_descriptor_pages_purged(purge_as_the_background_thread);
}

/* Two dirty runs on either side of a clean one, purged in one batch: the
 * return merges the three before the release purges their header pages
 * (segment.c, batch_reclaim_header_run), so no descriptor page inside the
 * merged run stays resident, not even those at the old boundaries. */
Test(alloc_decay, runs_purged_together_around_a_clean_run_keep_no_descriptor_page_inside) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  static void *runs[TRIES];
  int count = 0;
  pm_segment_t *segment = runs_in_one_segment(runs, &count);
  int first = count - RUNS, keeper = count - 1, third = (RUNS - 1) / 3;
  free_runs(runs, first + third, first + 2 * third);
  purge_as_the_background_thread(); /* the middle third: clean */
  free_runs(runs, first, first + third);
  free_runs(runs, first + 2 * third, keeper);
  purge_as_the_background_thread(); /* both dirty thirds in one batch */
  size_t head = page_in_segment(segment, runs[first]), end = page_in_segment(segment, runs[keeper]);
  uintptr_t from = pm_align_up((uintptr_t)_pm_segment_span(segment, head + 1), PM_PAGE_SIZE);
  uintptr_t to = (uintptr_t)_pm_segment_span(segment, end) & ~(PM_PAGE_SIZE - 1);
  cr_assert_gt(to, from, "whole descriptor pages inside the freed runs");
  size_t resident = pm_test_resident_pages((void *)from, (to - from) / PM_PAGE_SIZE);
  cr_assert_eq(resident, 0, "%zu of the %zu descriptor pages inside the merged run resident",
               resident, (size_t)(to - from) / PM_PAGE_SIZE);
  for (int i = 0; i < first; i++)
    pm_free(runs[i]);
  pm_free(runs[keeper]);
}

/* A child forked while the background thread's purge has runs off the
 * lists, theirs or the merged runs whose header pages it purges, has them
 * back on its own lists (the fork child handler): walking the segment
 * finds as many free pages as it counts. */
enum { PURGED_BLOCKS = 16, PURGED_BLOCK = 256 << 10, PURGE_FORKS = 300 };
static _Atomic bool purger_stop;

static void *free_and_purge(void *arg) {
  pm_segment_t *segment = arg;
  while (!atomic_load(&purger_stop)) {
    void *blocks[PURGED_BLOCKS];
    /* Untouched: a freed large block counts as resident all the same, and
     * the purge's calls, the part a fork must land in, take longer than
     * the rest of the round. */
    for (int i = 0; i < PURGED_BLOCKS; i++)
      cr_assert_not_null(blocks[i] = pm_malloc(PURGED_BLOCK));
    for (int i = 0; i < PURGED_BLOCKS; i++) {
      cr_assert_eq(_pm_span_segment_lookup(blocks[i]), segment, "the blocks share a segment");
      pm_free(blocks[i]);
    }
    _pm_large_cache_flush(_pm_heap_default);
    purge_as_the_background_thread();
  }
  return NULL;
}

static size_t free_pages_walked(pm_segment_t *segment) {
  size_t pages = 0;
  for (size_t head = PM_SEGMENT_HEADER_PAGES; head < PM_SEGMENT_PAGES;) {
    const pm_span_t *span = _pm_segment_span(segment, head);
    if (pm_span_get(span, kind) == PM_SPAN_FREE) pages += span->page_count;
    head += span->page_count;
  }
  return pages;
}

Test(alloc_decay, a_child_forked_during_a_purge_has_every_run_back_on_its_lists) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 600000;               /* only the test's own purges */
  void *keeper = resident_block(PURGED_BLOCK); /* keeps the segment mapped */
  pm_segment_t *segment = _pm_span_segment_lookup(keeper);
  pthread_t purger;
  pthread_create(&purger, NULL, free_and_purge, segment);
  int lost = 0;
  for (int i = 0; i < PURGE_FORKS; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(free_pages_walked(segment) == segment->free_pages ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    lost += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  atomic_store(&purger_stop, true);
  pthread_join(purger, NULL);
  cr_assert_eq(lost, 0, "%d of %d children had free runs off their lists", lost, PURGE_FORKS);
  pm_free(keeper);
}

/* At the limit, a request that only a run the background purge has off
 * the lists could serve (its pages, or its header pages, being purged with
 * the lock dropped) waits for the run instead of failing (segment.c,
 * _pm_span_alloc). The blocks are never touched, so each purge is quick
 * and the test loops many times through the purge's windows. */
enum { LIMIT_ROUNDS = 3000, LIMIT_PURGES = 1000, LIMIT_FILL_MAX = 64 };
static _Atomic int purges_done;

static void *purge_until_stopped(void *arg) {
  (void)arg;
  while (!atomic_load(&purger_stop)) {
    purge_as_the_background_thread();
    atomic_fetch_add(&purges_done, 1);
  }
  return NULL;
}

Test(alloc_decay, a_request_at_the_limit_waits_for_the_runs_a_purge_has_off_the_lists) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 600000; /* only the test's own purges */
  /* Fill every free run that holds a largest large block, mapping one
   * segment more when none does: afterwards only the last block's run
   * can serve such a request. */
  static void *filled[LIMIT_FILL_MAX];
  size_t count = 0;
  _pm_options.limit = pm_test_stats().mapped_bytes;
  for (int room = 0; room < 2 && count == 0; room++) {
    _pm_options.limit += room * PM_SEGMENT_SIZE;
    while (count < LIMIT_FILL_MAX && (filled[count] = pm_malloc(PM_LARGE_MAX)) != NULL)
      count++;
  }
  cr_assert(count > 0 && count < LIMIT_FILL_MAX, "%zu blocks fill the free runs", count);
  pm_free(filled[--count]);
  pthread_t purger;
  pthread_create(&purger, NULL, purge_until_stopped, NULL);
  while (atomic_load(&purges_done) == 0)
    sched_yield();
  /* Both sides many times over, whichever is slower. */
  int refused = 0, rounds = 0;
  for (; rounds < LIMIT_ROUNDS || atomic_load(&purges_done) < LIMIT_PURGES; rounds++) {
    void *block = pm_malloc(PM_LARGE_MAX);
    refused += block == NULL;
    pm_free(block);
  }
  atomic_store(&purger_stop, true);
  pthread_join(purger, NULL);
  _pm_options.limit = 0;
  cr_assert_eq(refused, 0, "%d of %d requests refused while their run was being purged", refused,
               rounds);
  for (size_t i = 0; i < count; i++)
    pm_free(filled[i]);
}

/* The head offsets inside a purged run go too: a page of them covers 8 MiB
 * of a segment, so a large run that was used and freed does not keep one
 * resident for a tail offset nothing reads any more. */
static bool head_offset_resident(const pm_segment_t *segment, size_t page) {
  const void *entry = &segment->head_offsets[page];
  return pm_test_resident_pages((const void *)((uintptr_t)entry & ~(PM_PAGE_SIZE - 1)), 1) == 1;
}

Test(alloc_decay, a_purged_run_takes_its_head_offset_pages_along) {
  pm_test_no_free_runs();
  enum { BLOCKS = 3 };
  const size_t size = (size_t)6 << 20;
  uint8_t *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = resident_block(size);
  void *fence = pm_malloc(size); /* as big, so it too fits only after them */
  pm_segment_t *segment = _pm_span_segment_lookup(blocks[0]);
  for (int i = 1; i < BLOCKS; i++)
    cr_assert_eq(blocks[i], blocks[i - 1] + size, "block %d follows the one before", i);
  cr_assert_eq(fence, blocks[BLOCKS - 1] + size, "the fence follows the blocks");
  /* The offset of the middle block's last page is on a page of offsets
   * wholly inside the run the blocks leave. */
  size_t middle_tail = page_in_segment(segment, blocks[1] + size - 1);
  cr_assert(head_offset_resident(segment, middle_tail), "written when the block was carved");
  for (int i = 0; i < BLOCKS; i++)
    pm_free(blocks[i]);
  pm_trim(0);
  cr_assert_not(head_offset_resident(segment, middle_tail), "purged with the run");
  /* A stray pointer into that last page reads a zeroed offset now, and is
   * still rejected. */
  char out[256];
  int status;
  pm_test_capture((void (*)(void *))free_inner_pointer, blocks[1] + size - 2 * PM_PAGE_SIZE, out,
                  sizeof out, &status);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s", out);
  cr_assert(strstr(out, "invalid pointer") != NULL, "%s", out);
  pm_free(fence);
}

/* ---- resident prefixes of free runs (segment.c) ---- */

/* A span of pages carved from clean memory, taken directly from the pool. */
static pm_span_t *clean_span(size_t pages) {
  size_t resident = 0;
  _pm_lock(&_pm_pages_lock);
  pm_span_t *span = _pm_span_alloc(pages, 1, PM_SPAN_LARGE, &resident);
  _pm_unlock(&_pm_pages_lock);
  cr_assert(span != NULL && resident == 0, "a span of clean pages");
  return span;
}

static void span_free(pm_span_t *span, size_t resident_pages) {
  _pm_lock(&_pm_pages_lock);
  _pm_span_free(span, resident_pages, _pm_prim_clock_ms());
  _pm_unlock(&_pm_pages_lock);
}

/* A run with one resident page merges with a written run after it: the
 * merged run counts the second run's pages as resident too, so calloc over
 * both clears them (a sum of the two counts, 17, would leave the end of
 * the written pages as they were). */
Test(alloc_decay, calloc_over_merged_runs_returns_zeroes) {
  pm_test_no_free_runs();
  enum { PAGES = 32, HALF = PAGES / 2 };
  pm_span_t *span = clean_span(PAGES);
  uint8_t *start = _pm_span_start(span);
  memset(start, 0xee, PM_PAGE_SIZE);                              /* its first page */
  memset(start + HALF * PM_PAGE_SIZE, 0xee, HALF * PM_PAGE_SIZE); /* its second half */
  _pm_lock(&_pm_pages_lock);
  _pm_span_shrink(span, HALF, _pm_prim_clock_ms()); /* the written half: a run of resident pages */
  _pm_unlock(&_pm_pages_lock);
  span_free(span, 1); /* merges with it */
  size_t size = PAGES * PM_PAGE_SIZE;
  uint8_t *block = pm_calloc(1, size);
  cr_assert_eq(block, start, "the merged run is the only resident one");
  size_t stale = 0;
  for (size_t i = 0; i < size; i++)
    stale += block[i] != 0;
  cr_assert_eq(stale, 0u, "calloc returned %zu stale bytes", stale);
  pm_free(block);
}

/* Carving the start of a run whose resident pages are few leaves a clean
 * rest next to the clean run after it: the two become one, as every two
 * free neighbours in the same state do (or a wholly free segment could
 * stay in pieces and never be unmapped). */
Test(alloc_decay, the_clean_rest_of_a_carved_run_joins_its_clean_neighbour) {
  pm_test_no_free_runs();
  enum { PAGES = 48, KEPT = 32, TAKEN = 5 };
  pm_span_t *span = clean_span(PAGES);
  _pm_lock(&_pm_pages_lock);
  _pm_span_shrink(span, KEPT, _pm_prim_clock_ms());
  _pm_unlock(&_pm_pages_lock);
  pm_trim(0); /* the tail, purged, is clean and joins what follows */
  pm_segment_t *segment = _pm_segment_of_span(span);
  pm_span_t *after = pm_test_span_after(span, KEPT);
  cr_assert(after->kind == PM_SPAN_FREE && !after->dirty, "a clean run follows the span");
  size_t clean_pages = after->page_count;
  span_free(span, 1);
  cr_assert(span->kind == PM_SPAN_FREE && span->dirty && span->page_count == KEPT,
            "a run with one resident page, apart from the clean one");
  uint8_t *block = pm_malloc(TAKEN * PM_PAGE_SIZE);
  cr_assert_eq(block, _pm_span_start(span), "resident runs are taken first");
  pm_span_t *rest = pm_test_span_after(span, TAKEN);
  cr_assert_eq(_pm_segment_of_span(rest), segment);
  cr_assert(rest->kind == PM_SPAN_FREE && !rest->dirty, "the rest of the run is clean");
  cr_assert_eq(rest->page_count, KEPT - TAKEN + clean_pages,
               "and one run with the clean run after it");
  pm_free(block);
}

/* Whether addr lies in one of the process's mappings (/proc/self/maps:
 * a probe by a system call on an unmapped address is what valgrind
 * reports as an error). */
static bool address_mapped(const void *addr) {
  FILE *maps = fopen("/proc/self/maps", "r");
  cr_assert_not_null(maps, "cannot open /proc/self/maps");
  unsigned long start, end;
  bool found = false;
  char line[512];
  while (!found && fgets(line, sizeof line, maps) != NULL)
    found = sscanf(line, "%lx-%lx", &start, &end) == 2 && (uintptr_t)addr >= start &&
            (uintptr_t)addr < end;
  fclose(maps);
  return found;
}

/* A purged run that joins the clean rest of its segment leaves the segment
 * wholly free: the purge unmaps it (after the batch, segment.c). */
Test(alloc_decay, a_purge_that_frees_a_whole_segment_unmaps_it) {
  pm_test_no_free_runs();
  enum { MOST = 16 };
  void *blocks[MOST];
  size_t mapped = pm_test_stats().mapped_bytes;
  int fresh = -1; /* the block that the first new segment was mapped for */
  for (int i = 0; i < MOST && fresh < 0; i++) {
    blocks[i] = pm_malloc(PM_LARGE_MAX);
    if (pm_test_stats().mapped_bytes > mapped) fresh = i;
  }
  cr_assert_geq(fresh, 0, "a segment was mapped");
  uint8_t *segment = (uint8_t *)_pm_span_segment_lookup(blocks[fresh]);
  cr_assert_eq((uint8_t *)blocks[fresh], segment + PM_SEGMENT_HEADER_PAGES * PM_PAGE_SIZE,
               "the block starts the new segment, whose rest is one clean run");
  for (int i = 0; i < fresh; i++)
    pm_free(blocks[i]);
  pm_trim(0);
  mapped = pm_test_stats().mapped_bytes;
  pm_free(blocks[fresh]);
  pm_trim(0);
  cr_assert_eq(pm_test_stats().mapped_bytes, mapped - PM_SEGMENT_SIZE,
               "the segment left the count");
  cr_assert(!address_mapped(segment), "and its address range is unmapped");
}

/* A segment whose every page was freed while resident is one dirty run;
 * the purge takes it whole and unmaps the segment, descriptors and all,
 * so what the purge still needs of that run must not be read from its
 * descriptor after the unmap. */
Test(alloc_decay, a_purge_that_unmaps_a_whole_dirty_segment) {
  pm_test_no_free_runs();
  pm_span_t *span = clean_span(PM_SEGMENT_USABLE_PAGES); /* a segment of its own */
  uint8_t *segment = (uint8_t *)_pm_segment_of_span(span);
  memset(_pm_span_start(span), 0x3c, PM_PAGE_SIZE);
  span_free(span, PM_SEGMENT_USABLE_PAGES);
  pm_stats_t before = pm_test_stats();
  pm_trim(0);
  pm_stats_t after = pm_test_stats();
  cr_assert_eq(after.mapped_bytes, before.mapped_bytes - PM_SEGMENT_SIZE, "the segment left");
  cr_assert_geq(after.released_bytes - before.released_bytes,
                PM_SEGMENT_USABLE_PAGES * PM_PAGE_SIZE, "its pages counted as released");
  cr_assert(!address_mapped(segment), "and it is unmapped");
}
