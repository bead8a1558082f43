/* alloc_large_cache.c: each thread's cache of freed large blocks
 * (large_cache.c): what it keeps, what it hands back, and how the kept
 * memory still goes back to the pool and the OS. */
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc_test.h"

TestSuite(alloc_large_cache, .timeout = 30);

static pm_span_t *span_of(const void *block) {
  return _pm_span_of(_pm_span_segment_lookup(block), block);
}

static uint64_t cached_bytes(void) {
  _pm_lock(&_pm_pages_lock);
  uint64_t bytes = _pm_large_cache_bytes();
  _pm_unlock(&_pm_pages_lock);
  return bytes;
}

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&pause, NULL);
}

/* The cache at its default bound (pm_test_no_free_runs turns it off). */
static void cache_on(void) {
  _pm_options.large_cache = (uint64_t)4 << 20;
}

/* A fresh start: no cached span, no resident free run, a long decay. */
static void start_clean(void) {
  pm_test_no_free_runs();
  cache_on();
}

Test(alloc_large_cache, a_freed_block_comes_back_to_its_thread_without_the_pool) {
  start_clean();
  void *block = pm_malloc(100 * PM_PAGE_SIZE);
  uint64_t pool_allocations = _pm_pool.large_allocations;
  pm_stats_t before = pm_test_stats();
  pm_free(block);
  pm_stats_t cached = pm_test_stats();
  cr_assert_eq(cached_bytes(), 100 * PM_PAGE_SIZE);
  cr_assert_eq(cached.allocated_bytes, before.allocated_bytes - 100 * PM_PAGE_SIZE,
               "a cached block is not allocated");
  cr_assert_eq(cached.retained_bytes, before.retained_bytes + 100 * PM_PAGE_SIZE, "it is retained");
  cr_assert_eq(cached.total_frees, before.total_frees + 1);
  /* Up to an eighth smaller a request takes it too. */
  void *again = pm_malloc(89 * PM_PAGE_SIZE);
  cr_assert_eq(again, block, "the cached block comes back");
  cr_assert_eq(pm_usable_size(again), 100 * PM_PAGE_SIZE, "with its whole size usable");
  cr_assert_eq(_pm_pool.large_allocations, pool_allocations, "the pool was not asked");
  pm_stats_t after = pm_test_stats();
  cr_assert_eq(after.total_allocations, cached.total_allocations + 1);
  cr_assert_eq(after.reuse_count, cached.reuse_count + 1, "a hit is reuse");
  cr_assert_eq(cached_bytes(), 0);
  pm_free(again);
}

Test(alloc_large_cache, a_request_much_smaller_or_larger_misses) {
  start_clean();
  void *block = pm_malloc(100 * PM_PAGE_SIZE);
  pm_free(block);
  uint64_t pool_allocations = _pm_pool.large_allocations;
  uint64_t hits = atomic_load(&_pm_heap_default->large_cache_hits);
  void *larger = pm_malloc(101 * PM_PAGE_SIZE);
  cr_assert_eq(_pm_pool.large_allocations, pool_allocations + 1,
               "101 pages do not take a 100-page block: a miss, served in the pool's lock");
  pm_free(larger);
  void *smaller = pm_malloc(80 * PM_PAGE_SIZE);
  cr_assert_eq(_pm_pool.large_allocations, pool_allocations + 2, "nor do 80 pages a 101-page one");
  cr_assert_eq(atomic_load(&_pm_heap_default->large_cache_hits), hits, "no hit");
  pm_free(smaller);
}

/* A miss empties the cache into the pool before the pool serves it, so
 * the pages of blocks kept for sizes no longer asked for serve the new
 * size instead of the pool taking fresh ones. */
Test(alloc_large_cache, a_miss_gives_the_cached_blocks_to_the_pool_first) {
  start_clean();
  void *first = pm_malloc(100 * PM_PAGE_SIZE), *second = pm_malloc(100 * PM_PAGE_SIZE);
  pm_free(first);
  pm_free(second);
  cr_assert_eq(cached_bytes(), 200 * PM_PAGE_SIZE);
  uint64_t reuse = _pm_pool.large_reuse;
  void *both = pm_malloc(200 * PM_PAGE_SIZE);
  cr_assert_eq(cached_bytes(), 0, "the miss emptied the cache");
  cr_assert_eq(both, first < second ? first : second,
               "the two cached neighbours, merged, serve the request");
  cr_assert_eq(_pm_pool.large_reuse, reuse + 1, "from pages already resident");
  pm_free(both);
}

/* The cached span a miss resizes for request_pages, or NULL; the pool's
 * side of the miss as _pm_large_alloc runs it. */
static pm_span_t *miss_resize(size_t request_pages) {
  bool gave_back = false;
  _pm_lock(&_pm_pages_lock);
  pm_span_t *span = _pm_large_cache_miss(_pm_heap_default, request_pages, PM_ALIGNMENT, &gave_back);
  _pm_unlock(&_pm_pages_lock);
  cr_assert(gave_back, "the cache was emptied");
  cr_assert_eq(cached_bytes(), 0);
  return span;
}

/* A miss that a cached block can be resized for takes it in place: a
 * smaller request gives its tail back, a larger one takes the resident
 * free pages after it. */
Test(alloc_large_cache, a_miss_resizes_a_cached_block_in_place) {
  start_clean();
  void *block = pm_malloc(100 * PM_PAGE_SIZE);
  pm_span_t *span = span_of(block);
  pm_free(block);
  uint64_t cached_at = pm_span_get(span, freed_at);
  sleep_ms(20); /* past the coarse clock's tick */
  cr_assert_eq(miss_resize(40), span, "cut down in place");
  cr_assert_eq(span->page_count, 40);
  pm_span_t *tail = pm_test_span_after(span, 40);
  cr_assert(tail->kind == PM_SPAN_FREE && tail->page_count == 60 && tail->freed_at == cached_at,
            "the tail is free, as old as the cached block");
  cr_assert_eq(span->kind, PM_SPAN_LARGE);
  cr_assert_eq(pm_usable_size(block), 40 * PM_PAGE_SIZE);
  pm_free(block);
  /* The 60 pages given back are the resident free run after it. */
  cr_assert_eq(miss_resize(90), span, "grown in place into the free run after it");
  cr_assert_eq(span->page_count, 90);
  pm_free(block);
  /* Through malloc: a cached block counts as allocated again with all
   * the pages it has now. */
  pm_stats_t before = pm_test_stats();
  void *again = pm_malloc(50 * PM_PAGE_SIZE);
  cr_assert_eq(again, block, "cut down from 90 pages");
  cr_assert_eq(pm_test_stats().allocated_bytes, before.allocated_bytes + 50 * PM_PAGE_SIZE);
  pm_free(again);
}

/* Blocks of the given page counts, carved side by side in that order from
 * the only resident free run, with the cache off; the caller turns it on
 * (cache_on) once the layout is made. */
static void carve_in_order(const size_t *pages, size_t count, uint8_t **blocks) {
  pm_test_no_free_runs();
  size_t total = 0;
  for (size_t i = 0; i < count; i++)
    total += pages[i];
  pm_free(pm_malloc(total * PM_PAGE_SIZE));
  for (size_t i = 0; i < count; i++) {
    blocks[i] = pm_malloc(pages[i] * PM_PAGE_SIZE);
    if (i > 0)
      cr_assert_eq(blocks[i], blocks[i - 1] + pages[i - 1] * PM_PAGE_SIZE,
                   "carved one after another");
  }
}

/* Blocks of 40, 100 and 60 pages, side by side in that order, freed into
 * the cache. */
static void cache_three_neighbours(uint8_t *blocks[3]) {
  static const size_t pages[3] = {40, 100, 60};
  carve_in_order(pages, 3, blocks);
  cache_on();
  for (size_t i = 0; i < 3; i++)
    pm_free(blocks[i]);
  cr_assert_eq(cached_bytes(), 200 * PM_PAGE_SIZE);
}

/* Of the blocks a miss empties from the cache, the one resized is the
 * smallest long enough, which gives back the least, or when none is, the
 * longest, which has the fewest pages to take. */
Test(alloc_large_cache, a_miss_resizes_the_block_nearest_in_size) {
  uint8_t *blocks[3];
  cache_three_neighbours(blocks);
  void *cut = pm_malloc(50 * PM_PAGE_SIZE); /* no hit: 60 pages are more than an eighth over */
  cr_assert_eq(cut, blocks[2], "the 60-page block, cut down");
  pm_free(cut);
}

Test(alloc_large_cache, a_miss_longer_than_every_cached_block_grows_the_longest) {
  uint8_t *blocks[3];
  cache_three_neighbours(blocks);
  /* The miss gives the other two back first: the 60 pages after the
   * 100-page block are then a resident free run. */
  void *grown = pm_malloc(150 * PM_PAGE_SIZE);
  cr_assert_eq(grown, blocks[1], "the 100-page block, grown");
  pm_free(grown);
}

/* Pages after a cached block that are clean (never used, or purged) are
 * not taken to grow it: the pool serves resident pages first. */
Test(alloc_large_cache, a_cached_block_grows_into_resident_pages_only) {
  static const size_t pages[3] = {50, 20, 10}; /* block, gap, fence */
  uint8_t *blocks[3];
  carve_in_order(pages, 3, blocks);
  pm_free(blocks[1]);
  pm_trim(0); /* the gap's pages are purged: a clean run between two blocks */
  cache_on();
  pm_free(blocks[0]);
  cr_assert_eq(cached_bytes(), 50 * PM_PAGE_SIZE);
  void *larger = pm_malloc(70 * PM_PAGE_SIZE);
  cr_assert_neq(larger, blocks[0], "not grown into the clean pages after it");
  pm_free(larger);
  pm_free(blocks[2]);
}

static void assert_zeroed(const uint8_t *block, size_t bytes) {
  for (size_t i = 0; i < bytes; i++)
    cr_assert_eq(block[i], 0, "byte %zu not cleared", i);
}

Test(alloc_large_cache, calloc_from_the_cache_is_zeroed) {
  start_clean();
  uint8_t *block = pm_malloc(64 * PM_PAGE_SIZE);
  memset(block, 0xAB, 64 * PM_PAGE_SIZE);
  pm_free(block);
  uint8_t *zeroed = pm_calloc(1, 60 * PM_PAGE_SIZE);
  cr_assert_eq(zeroed, block, "the cached block serves calloc");
  assert_zeroed(zeroed, 60 * PM_PAGE_SIZE);
  pm_free(zeroed);
}

/* A cached block grows into the resident free run after it, whose pages
 * hold what was written there before: calloc clears them too. */
Test(alloc_large_cache, calloc_growing_a_cached_block_clears_the_pages_it_took) {
  start_clean();
  uint8_t *block = pm_malloc(60 * PM_PAGE_SIZE);
  memset(block, 0xAB, 60 * PM_PAGE_SIZE);
  pm_free(block);
  uint8_t *cut = pm_malloc(10 * PM_PAGE_SIZE); /* its 50 written pages go back to the pool */
  cr_assert_eq(cut, block);
  pm_free(cut);
  uint8_t *grown = pm_calloc(1, 40 * PM_PAGE_SIZE);
  cr_assert_eq(grown, block, "grown into the resident pages after it");
  assert_zeroed(grown, 40 * PM_PAGE_SIZE);
  pm_free(grown);
}

Test(alloc_large_cache, an_aligned_request_skips_a_misaligned_block) {
  start_clean();
  /* Of 16-page blocks carved one after another, one in two at most starts
   * on a 128 KiB boundary; the aligned ones are kept out of the way. */
  enum { TRIES = 8 };
  uint8_t *kept[TRIES], *misaligned = NULL;
  size_t kept_count = 0;
  while (misaligned == NULL && kept_count < TRIES) {
    uint8_t *block = pm_malloc(16 * PM_PAGE_SIZE);
    if (((uintptr_t)block & (0x20000 - 1)) != 0)
      misaligned = block;
    else
      kept[kept_count++] = block;
  }
  cr_assert_not_null(misaligned, "no misaligned block in %d tries", TRIES);
  pm_free(misaligned);
  cr_assert_eq(cached_bytes(), 16 * PM_PAGE_SIZE);
  void *aligned = pm_aligned_alloc(0x20000, 16 * PM_PAGE_SIZE);
  cr_assert_eq((uintptr_t)aligned % 0x20000, 0, "the misaligned cached block is not handed out");
  pm_free(aligned);
  for (size_t i = 0; i < kept_count; i++)
    pm_free(kept[i]);
}

Test(alloc_large_cache, the_cache_keeps_at_most_its_bound) {
  start_clean();
  enum { BLOCKS = 12 };
  void *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = pm_malloc((size_t)(200 + i) * PM_PAGE_SIZE);
  void *big = pm_malloc(_pm_options.large_cache / 4 + PM_PAGE_SIZE);
  for (int i = 0; i < BLOCKS; i++) {
    pm_free(blocks[i]);
    cr_assert_leq(cached_bytes(), _pm_options.large_cache, "after free %d", i);
  }
  cr_assert_geq(cached_bytes(), _pm_options.large_cache / 2, "the newest are kept");
  /* The oldest went back to the pool, where a block's first page leads
   * to no descriptor of its own once its run merged with a neighbour. */
  cr_assert_neq(pm_span_get(span_of(blocks[0]), kind), PM_SPAN_CACHED);
  cr_assert_eq(pm_span_get(span_of(blocks[BLOCKS - 1]), kind), PM_SPAN_CACHED);
  /* Blocks over a quarter of the bound are never cached. */
  uint64_t kept = cached_bytes();
  pm_free(big);
  cr_assert_eq(cached_bytes(), kept);
}

Test(alloc_large_cache, trim_gives_cached_blocks_back_to_the_os) {
  start_clean();
  uint8_t *block = pm_malloc(100 * PM_PAGE_SIZE);
  memset(block, 1, 100 * PM_PAGE_SIZE);
  pm_free(block);
  size_t released = pm_test_stats().released_bytes;
  pm_trim(0);
  cr_assert_eq(cached_bytes(), 0);
  /* Purged, or unmapped with its segment: mincore cannot tell here. */
  cr_assert_geq(pm_test_stats().released_bytes - released, 100 * PM_PAGE_SIZE);
}

static void *free_one_large_block(void *unused) {
  (void)unused;
  void *block = pm_malloc(100 * PM_PAGE_SIZE);
  pm_free(block);
  return block;
}

Test(alloc_large_cache, a_thread_gives_its_cache_back_when_it_exits) {
  start_clean();
  pthread_t thread;
  void *block = NULL;
  pthread_create(&thread, NULL, free_one_large_block, NULL);
  pthread_join(thread, &block);
  cr_assert_eq(cached_bytes(), 0);
  /* The only resident free run, so the next request of its size takes it. */
  void *again = pm_malloc(100 * PM_PAGE_SIZE);
  cr_assert_eq(again, block, "the block is back in the pool");
  pm_free(again);
}

/* A thread that caches a block and then sleeps still gives it back once
 * decay_ms has passed: the background thread's purge sweeps every cache. */
Test(alloc_large_cache, decay_sweeps_the_caches_of_idle_threads) {
  start_clean();
  _pm_options.decay_ms = 100;
  _pm_options.background_thread = 1;
  uint8_t *block = pm_malloc(100 * PM_PAGE_SIZE);
  memset(block, 1, 100 * PM_PAGE_SIZE);
  size_t released = pm_test_stats().released_bytes;
  uint64_t freed_at = _pm_prim_clock_ms();
  pm_free(block);
  size_t cached = cached_bytes();
  if (pm_test_within_half_decay(freed_at)) cr_assert_eq(cached, 100 * PM_PAGE_SIZE, "cached first");
  for (int waited = 0;
       waited < 3000 && pm_test_stats().released_bytes - released < 100 * PM_PAGE_SIZE;
       waited += 20)
    sleep_ms(20);
  cr_assert_eq(cached_bytes(), 0, "swept");
  cr_assert_geq(pm_test_stats().released_bytes - released, 100 * PM_PAGE_SIZE,
                "and given back to the OS");
}

/* A thread that cached a block and is still running when another forks:
 * in the child it does not exist, and its cache is swept all the same. */
static int holder_ready[2], holder_done[2];

static void *cache_one_block_and_wait(void *unused) {
  (void)unused;
  void *block = pm_malloc(100 * PM_PAGE_SIZE);
  memset(block, 1, 100 * PM_PAGE_SIZE);
  pm_free(block);
  char byte = 0;
  cr_assert_eq(write(holder_ready[1], &byte, 1), 1);
  cr_assert_eq(read(holder_done[0], &byte, 1), 1);
  return NULL;
}

Test(alloc_large_cache, a_forked_child_sweeps_the_cache_of_a_thread_it_lacks) {
  start_clean();
  _pm_options.decay_ms = 1000; /* the parent's check below comes well before */
  _pm_options.background_thread = 1;
  cr_assert_eq(pipe(holder_ready), 0);
  cr_assert_eq(pipe(holder_done), 0);
  pthread_t holder;
  cr_assert_eq(pthread_create(&holder, NULL, cache_one_block_and_wait, NULL), 0);
  char byte = 0;
  cr_assert_eq(read(holder_ready[0], &byte, 1), 1);
  cr_assert_eq(cached_bytes(), 100 * PM_PAGE_SIZE, "the holder's block is cached");
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork failed");
  if (pid == 0) {
    size_t released = pm_test_stats().released_bytes;
    /* Memory the child retains starts its background thread; the purge
     * gives back that block and the swept one. */
    size_t block_bytes = (size_t)2 << 20, expected = block_bytes + 100 * PM_PAGE_SIZE;
    pm_free(pm_malloc(block_bytes));
    for (int waited = 0; waited < 5000 && cached_bytes() != 0; waited += 20)
      sleep_ms(20);
    bool swept = cached_bytes() == 0;
    for (int waited = 0; waited < 5000 && pm_test_stats().released_bytes - released < expected;
         waited += 20)
      sleep_ms(20);
    _exit(swept && pm_test_stats().released_bytes - released >= expected ? 0 : 1);
  }
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the child swept and released the block (status %d)", status);
  cr_assert_eq(write(holder_done[1], &byte, 1), 1);
  pthread_join(holder, NULL);
}

Test(alloc_large_cache, decay_ms_zero_turns_the_cache_off) {
  start_clean();
  _pm_options.decay_ms = 0;
  void *block = pm_malloc(100 * PM_PAGE_SIZE);
  pm_free(block);
  cr_assert_eq(cached_bytes(), 0);
}

/* Owners move spans between their slots without the pages lock, so a walk
 * of the slots may count one span twice (moved from a slot not yet read to
 * one already read). A span set in two slots stands for that walk: the
 * peak sample and pm_stats clamp the pool's large bytes less the cached
 * ones at zero rather than let them wrap to about 2^64. The block is larger
 * than every small block and slab of the process together, or the wrapped
 * difference would wrap back in their sum. */
Test(alloc_large_cache, a_span_counted_twice_wraps_no_statistic) {
  start_clean();
  void *block = pm_malloc(256 * PM_PAGE_SIZE);
  pm_free(block);
  pm_heap_t *heap = _pm_heap_default;
  size_t held = PM_LARGE_CACHE_SLOTS, empty = PM_LARGE_CACHE_SLOTS;
  for (size_t i = 0; i < PM_LARGE_CACHE_SLOTS; i++) {
    pm_span_t *span = atomic_load(&heap->large_cached[i]);
    if (span != NULL && held == PM_LARGE_CACHE_SLOTS) held = i;
    if (span == NULL && empty == PM_LARGE_CACHE_SLOTS) empty = i;
  }
  cr_assert(held < PM_LARGE_CACHE_SLOTS && empty < PM_LARGE_CACHE_SLOTS,
            "one slot holds the block");
  atomic_store(&heap->large_cached[empty], atomic_load(&heap->large_cached[held]));
  cr_assert_eq(cached_bytes(), 512 * PM_PAGE_SIZE, "the walk counts the span twice");
  /* A new slab samples the peak; so does this call. */
  _pm_stats_sample_peak();
  pm_stats_t stats = pm_test_stats();
  atomic_store(&heap->large_cached[empty], NULL);
  cr_assert_lt(stats.peak_allocated_bytes, (size_t)1 << 40, "the peak did not wrap");
  cr_assert_lt(stats.allocated_bytes, (size_t)1 << 40, "nor the bytes allocated");
}
