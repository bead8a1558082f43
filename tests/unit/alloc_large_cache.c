/* alloc_large_cache.c: each thread's cache of freed large blocks
 * (large_cache.c): what it keeps, what it hands back, and how the kept
 * memory still goes back to the pool and the OS. */
#include <pthread.h>
#include <time.h>

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

/* A fresh start: no cached span, no resident free run, a long decay. */
static void start_clean(void) {
  pm_test_no_free_runs();
  _pm_options.large_cache = (uint64_t)4 << 20;
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
  void *larger = pm_malloc(101 * PM_PAGE_SIZE);
  cr_assert_neq(larger, block, "101 pages do not take a 100-page block");
  cr_assert_eq(_pm_pool.large_allocations, pool_allocations + 1, "the pool served it");
  pm_free(larger);
  void *smaller = pm_malloc(80 * PM_PAGE_SIZE);
  cr_assert_neq(smaller, larger, "nor do 80 pages a 101-page one");
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

Test(alloc_large_cache, calloc_from_the_cache_is_zeroed) {
  start_clean();
  uint8_t *block = pm_malloc(64 * PM_PAGE_SIZE);
  memset(block, 0xAB, 64 * PM_PAGE_SIZE);
  pm_free(block);
  uint8_t *zeroed = pm_calloc(1, 60 * PM_PAGE_SIZE);
  cr_assert_eq(zeroed, block, "the cached block serves calloc");
  for (size_t i = 0; i < 60 * PM_PAGE_SIZE; i++)
    cr_assert_eq(zeroed[i], 0, "byte %zu not cleared", i);
  pm_free(zeroed);
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

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&pause, NULL);
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
  pm_free(block);
  cr_assert_eq(cached_bytes(), 100 * PM_PAGE_SIZE);
  for (int waited = 0;
       waited < 3000 && pm_test_stats().released_bytes - released < 100 * PM_PAGE_SIZE;
       waited += 20)
    sleep_ms(20);
  cr_assert_eq(cached_bytes(), 0, "swept");
  cr_assert_geq(pm_test_stats().released_bytes - released, 100 * PM_PAGE_SIZE,
                "and given back to the OS");
}

Test(alloc_large_cache, decay_ms_zero_turns_the_cache_off) {
  start_clean();
  _pm_options.decay_ms = 0;
  void *block = pm_malloc(100 * PM_PAGE_SIZE);
  pm_free(block);
  cr_assert_eq(cached_bytes(), 0);
}
