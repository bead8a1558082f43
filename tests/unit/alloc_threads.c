/* alloc_threads.c: frees from other threads, and what a thread's exit
 * does with its memory. */
#include <pthread.h>
#include <stdatomic.h>

#include "alloc_test.h"

TestSuite(alloc_threads, .timeout = 60);

enum { BLOCKS = 20000 };
static void *blocks[BLOCKS];

static void *free_all(void *arg) {
  (void)arg;
  for (int i = 0; i < BLOCKS; i++)
    pm_free(blocks[i]);
  return NULL;
}

/* Allocates and frees one block of each class up to 640 bytes, and large
 * blocks, which the thread's cache keeps. */
static void *allocate_small_and_large(void *arg) {
  (void)arg;
  for (size_t size = 16; size <= 640; size += 16)
    pm_free(pm_malloc(size));
  for (size_t pages = 20; pages <= 80; pages += 20)
    pm_free(pm_malloc(pages * PM_PAGE_SIZE));
  return _pm_heap_default;
}

/* A heap is written only where the classes its thread uses keep their
 * state (types.h), and a thread's exit writes only the bins it used: an
 * inference worker's small bookkeeping and its cached large blocks keep
 * to the heap's first page. */
Test(alloc_threads, a_thread_of_small_blocks_writes_one_page_of_its_heap) {
  _pm_options.large_cache = (uint64_t)4 << 20; /* on, as by default */
  pthread_t thread;
  void *result = NULL;
  cr_assert_eq(pthread_create(&thread, NULL, allocate_small_and_large, NULL), 0);
  pthread_join(thread, &result);
  pm_heap_t *heap = result;
  cr_assert_neq(heap, &_pm_heap_empty, "the thread made a heap");
  cr_assert_eq((uintptr_t)heap % PM_PAGE_SIZE, 0, "a heap starts a page");
  cr_assert(pm_test_page_written(heap), "the direct table and the small bins were written");
  cr_assert_not(pm_test_page_written((uint8_t *)heap + PM_PAGE_SIZE),
                "the bins of larger classes were never written");
}

static pthread_key_t late_key;
static void *late_block;
static _Atomic int late_rounds;

static _Atomic int late_failures;

/* Counts a failure unless block is a whole-page block from the page pool,
 * aligned to alignment; then frees it. */
static void expect_pool_block(void *block, size_t alignment) {
  if (block == NULL || (uintptr_t)block % alignment != 0 || pm_usable_size(block) % PM_PAGE_SIZE)
    atomic_fetch_add(&late_failures, 1);
  pm_free(block);
}

/* Every allocating entry point, after the exit hook: each gives a working
 * block from the pool. */
static void allocate_every_way(void) {
  unsigned char *zeroed = pm_calloc(3, 8);
  for (int i = 0; zeroed != NULL && i < 24; i++)
    if (zeroed[i] != 0) atomic_fetch_add(&late_failures, 1);
  expect_pool_block(zeroed, 16);
  expect_pool_block(pm_malloc(0), 16);
  expect_pool_block(pm_aligned_alloc(64, 24), 64);
  expect_pool_block(pm_aligned_alloc(8192, 24), 8192);
  void *aligned = NULL;
  if (pm_posix_memalign(&aligned, 256, 100) != 0) atomic_fetch_add(&late_failures, 1);
  expect_pool_block(aligned, 256);
  unsigned char *moving = pm_malloc(24);
  if (moving != NULL) memset(moving, 7, 24);
  moving = pm_realloc(moving, 5000);
  if (moving == NULL || moving[23] != 7) atomic_fetch_add(&late_failures, 1);
  moving = pm_realloc(moving, 100);
  if (moving == NULL || moving[23] != 7) atomic_fetch_add(&late_failures, 1);
  expect_pool_block(moving, 16);
}

/* A thread-specific destructor that allocates in every round glibc runs
 * after the allocator's exit hook (it sets its key again each time). In a
 * round before the hook, were its key to run first, it only waits. */
static void allocate_in_every_round(void *previous) {
  if (!_pm_thread_exited) {
    pthread_setspecific(late_key, previous);
    return;
  }
  pm_free(previous);
  allocate_every_way();
  late_block = pm_malloc(24);
  if (late_block == NULL) abort();
  memset(late_block, 0x5a, 24);
  atomic_fetch_add(&late_rounds, 1);
  pthread_setspecific(late_key, late_block);
}

static void *start_late_allocations(void *arg) {
  (void)arg;
  pm_free(pm_malloc(64)); /* the thread's heap */
  pthread_setspecific(late_key, pm_malloc(24));
  return NULL;
}

static size_t heaps_made(void) {
  size_t count = 0;
  for (pm_heap_t *heap = atomic_load(&_pm_heaps_all); heap != NULL; heap = heap->next_all)
    count++;
  return count;
}

/* A destructor that allocates in the last round, after the allocator's
 * exit hook, would make a heap that no hook hands back: one lost per
 * thread. Such blocks come from the page pool, and the heaps stay few. */
Test(alloc_threads, allocations_after_the_exit_hook_leave_no_heap) {
  pm_free(pm_malloc(1)); /* the allocator's key comes first, so its hook runs first */
  cr_assert_eq(pthread_key_create(&late_key, allocate_in_every_round), 0);
  size_t before = heaps_made();
  for (int t = 0; t < 4; t++) {
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, start_late_allocations, NULL), 0);
    pthread_join(thread, NULL);
    cr_assert_geq(pm_usable_size(late_block), 24);
    for (size_t i = 0; i < 24; i++)
      cr_assert_eq(((unsigned char *)late_block)[i], 0x5a, "the last round's block is intact");
    pm_free(late_block); /* freed by another thread, as a program might */
  }
  cr_assert_geq(atomic_load(&late_rounds), 4, "each thread allocated after its exit hook");
  cr_assert_eq(atomic_load(&late_failures), 0, "every late block is a whole-page pool block");
  cr_assert_leq(heaps_made() - before, 1, "%zu heaps made for four threads", heaps_made() - before);
}

Test(alloc_threads, remote_frees_return_to_the_owner) {
  size_t c = _pm_class_of(64);
  pm_stats_t before = pm_test_stats();
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = pm_malloc(64);
  pm_stats_t full = pm_test_stats();
  pthread_t thread;
  pthread_create(&thread, NULL, free_all, NULL);
  pthread_join(thread, NULL);
  pm_stats_t freed = pm_test_stats();
  cr_assert_eq(freed.classes[c].frees - before.classes[c].frees, BLOCKS, "counted on free");
  /* The owner collects the remote list instead of taking new slabs. */
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = pm_malloc(64);
  pm_stats_t again = pm_test_stats();
  cr_assert_leq(again.classes[c].slabs, full.classes[c].slabs,
                "remotely freed blocks were reused: %zu slabs, was %zu", again.classes[c].slabs,
                full.classes[c].slabs);
  for (int i = 0; i < BLOCKS; i++)
    pm_free(blocks[i]);
}

/* malloc_trim also gives back the owner's full slabs that another thread's
 * frees emptied, which the owner would otherwise look at only when it runs
 * dry in their class. */
Test(alloc_threads, trim_returns_slabs_emptied_by_remote_frees) {
  size_t c = _pm_class_of(64);
  /* The test runner's own blocks of the class stay. */
  size_t before = pm_test_stats().classes[c].slabs;
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = pm_malloc(64);
  size_t slabs = pm_test_stats().classes[c].slabs;
  cr_assert_geq(slabs, before + 4, "the blocks fill %zu slabs", slabs - before);
  pthread_t thread;
  pthread_create(&thread, NULL, free_all, NULL);
  pthread_join(thread, NULL);
  pm_trim(0);
  size_t left = pm_test_stats().classes[c].slabs;
  cr_assert_leq(left, before + 1, "%zu of %zu slabs left after the trim (%zu before)", left, slabs,
                before);
}

static void *allocate_and_exit(void *arg) {
  size_t size = *(size_t *)arg;
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = pm_malloc(size);
  /* Keep every other block alive past the thread's exit. */
  for (int i = 0; i < BLOCKS; i += 2)
    pm_free(blocks[i]);
  return NULL;
}

Test(alloc_threads, exit_returns_empty_slabs_and_abandons_the_rest) {
  size_t size = 200, c = _pm_class_of(size);
  pm_stats_t before = pm_test_stats();
  pthread_t thread;
  pthread_create(&thread, NULL, allocate_and_exit, &size);
  pthread_join(thread, NULL);
  pm_stats_t exited = pm_test_stats();
  cr_assert_eq(exited.classes[c].live_blocks - before.classes[c].live_blocks, BLOCKS / 2);
  cr_assert_gt(exited.classes[c].slabs, before.classes[c].slabs, "live slabs stay");
  /* Free the survivors from this thread: they go to abandoned slabs, which
   * the next allocations adopt instead of taking new ones. */
  for (int i = 1; i < BLOCKS; i += 2)
    pm_free(blocks[i]);
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = pm_malloc(size);
  pm_stats_t adopted = pm_test_stats();
  cr_assert_leq(adopted.classes[c].slabs, exited.classes[c].slabs + 1,
                "abandoned slabs were adopted: %zu slabs, had %zu", adopted.classes[c].slabs,
                exited.classes[c].slabs);
  for (int i = 0; i < BLOCKS; i++)
    pm_free(blocks[i]);
}

/* A remote free reads the slab's owner, then publishes the block. If the
 * slab was abandoned at the read and has since been adopted and filled by
 * another thread, nobody is told (slab.c). The adopter must still find the
 * block before it maps a new slab. The stale read is staged by clearing the
 * owner around the free. */
enum { STRAND_SIZE = 5000, STRAND_PER_SLAB = PM_SLAB_SIZE / 5120 };
static void *stranded[STRAND_PER_SLAB];

static void *fill_a_slab_and_exit(void *arg) {
  (void)arg;
  for (int i = 0; i < STRAND_PER_SLAB; i++)
    stranded[i] = pm_malloc(STRAND_SIZE);
  return NULL;
}

static void *free_block(void *block) {
  pm_free(block);
  return NULL;
}

Test(alloc_threads, a_free_into_an_adopted_full_slab_is_found) {
  cr_assert_eq(_pm_class_size[_pm_class_of(STRAND_SIZE)], 5120);
  pthread_t thread;
  pthread_create(&thread, NULL, fill_a_slab_and_exit, NULL);
  pthread_join(thread, NULL);
  pm_span_t *slab = pm_test_slab_of(stranded[0]);
  for (int i = 0; i < STRAND_PER_SLAB; i++)
    cr_assert_eq(pm_test_slab_of(stranded[i]), slab, "the exited thread filled one slab");
  /* Allocate until this thread adopts it (full, so onto the full list). */
  enum { MINE = 2 * STRAND_PER_SLAB };
  void *mine[MINE];
  int count = 0;
  while (count < MINE && atomic_load(&slab->heap) != _pm_heap_default)
    mine[count++] = pm_malloc(STRAND_SIZE);
  pm_heap_t *heap = _pm_heap_default;
  cr_assert_eq(atomic_load(&slab->heap), heap, "the abandoned slab was adopted");
  cr_assert(slab->in_full, "and found full");
  atomic_store(&slab->heap, NULL); /* as the freeing thread saw it */
  pthread_create(&thread, NULL, free_block, stranded[0]);
  pthread_join(thread, NULL);
  atomic_store(&slab->heap, heap);
  bool found = false;
  enum { MORE = STRAND_PER_SLAB + 1 };
  void *more[MORE];
  int taken = 0;
  while (taken < MORE && !found) {
    more[taken] = pm_malloc(STRAND_SIZE);
    found = more[taken++] == stranded[0];
  }
  cr_expect(found, "the block freed into the adopted slab was not reused before a new slab");
  for (int i = 0; i < taken; i++)
    pm_free(more[i]);
  for (int i = 0; i < count; i++)
    pm_free(mine[i]);
  for (int i = 1; i < STRAND_PER_SLAB; i++)
    pm_free(stranded[i]);
}

/* A size no libc internals use, so their allocations do not blur counts. */
#define IDLE_SIZE 7000

static void *allocate_free_and_exit(void *arg) {
  (void)arg;
  for (int i = 0; i < BLOCKS / 10; i++)
    blocks[i] = pm_malloc(IDLE_SIZE);
  for (int i = 0; i < BLOCKS / 10; i++)
    pm_free(blocks[i]);
  return NULL;
}

Test(alloc_threads, exit_of_an_idle_thread_leaves_no_slabs) {
  size_t c = _pm_class_of(IDLE_SIZE);
  pm_stats_t before = pm_test_stats();
  pthread_t thread;
  pthread_create(&thread, NULL, allocate_free_and_exit, NULL);
  pthread_join(thread, NULL);
  pm_stats_t after = pm_test_stats();
  cr_assert_eq(after.classes[c].slabs, before.classes[c].slabs,
               "the exiting thread handed its slabs back");
  cr_assert_eq(after.classes[c].live_blocks, before.classes[c].live_blocks);
}

#define CHURN_MIN 2100 /* classes 2560 to 4096 */
#define CHURN_MAX 4096

static uint64_t churn_count(const pm_stats_t *s, bool frees) {
  uint64_t n = 0;
  for (size_t c = _pm_class_of(CHURN_MIN); c <= _pm_class_of(CHURN_MAX); c++)
    n += frees ? s->classes[c].frees : s->classes[c].allocations;
  return n;
}

static void *churn(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void *mine[256] = {0};
  for (int i = 0; i < 200000; i++) {
    int k = rand_r(&seed) % 256;
    pm_free(mine[k]);
    mine[k] = pm_malloc(CHURN_MIN + (size_t)(rand_r(&seed) % (CHURN_MAX - CHURN_MIN)));
    if (i % 1000 == 0) { /* hand some blocks to other threads */
      int j = rand_r(&seed) % BLOCKS;
      void *old = __atomic_exchange_n(&blocks[j], mine[k], __ATOMIC_ACQ_REL);
      mine[k] = NULL;
      pm_free(old);
    }
  }
  for (int k = 0; k < 256; k++)
    pm_free(mine[k]);
  return NULL;
}

Test(alloc_threads, concurrent_churn_keeps_counts_consistent) {
  memset(blocks, 0, sizeof blocks);
  pm_stats_t before = pm_test_stats();
  pthread_t threads[4];
  for (uintptr_t t = 0; t < 4; t++)
    pthread_create(&threads[t], NULL, churn, (void *)t);
  for (int t = 0; t < 4; t++)
    pthread_join(threads[t], NULL);
  for (int i = 0; i < BLOCKS; i++)
    pm_free(blocks[i]);
  pm_stats_t after = pm_test_stats();
  uint64_t allocated = churn_count(&after, false) - churn_count(&before, false);
  uint64_t freed = churn_count(&after, true) - churn_count(&before, true);
  cr_assert_geq(allocated, 800000, "the threads allocated");
  cr_assert_eq(allocated, freed, "every block came back: %lu allocated, %lu freed",
               (unsigned long)allocated, (unsigned long)freed);
}

/* New mappings are made with the pages lock dropped around the system
 * calls (segment.c). Their bytes are counted before the drop: threads
 * mapping at once stay within the limit, and a child forked meanwhile
 * counts only the mappings it has. */
#define MAPPED_BLOCK ((size_t)60 << 20)
enum { MAPPERS = 4, MAPPING_ROUNDS = 40, FORKS = 200 };
static pthread_barrier_t mappers_start;

static size_t mapping_of_block(void) {
  return pm_align_up(PM_HUGE_OFFSET + MAPPED_BLOCK, PM_PAGE_SIZE);
}

/* Runs body(&slots[t]) on MAPPERS threads let go at once; returns how
 * many of them returned non-NULL. */
static int run_at_once(void *(*body)(void *), void **slots) {
  pthread_t threads[MAPPERS];
  pthread_barrier_init(&mappers_start, NULL, MAPPERS);
  for (int t = 0; t < MAPPERS; t++)
    pthread_create(&threads[t], NULL, body, &slots[t]);
  int succeeded = 0;
  for (int t = 0; t < MAPPERS; t++) {
    void *result;
    pthread_join(threads[t], &result);
    succeeded += result != NULL;
  }
  pthread_barrier_destroy(&mappers_start);
  return succeeded;
}

static void *map_one_block(void *out) {
  pthread_barrier_wait(&mappers_start);
  return *(void **)out = pm_malloc(MAPPED_BLOCK);
}

Test(alloc_threads, threads_mapping_at_once_stay_within_the_limit) {
  _pm_options.retain_max = 0; /* every free unmaps: every round maps anew */
  for (int round = 0; round < MAPPING_ROUNDS; round++) {
    _pm_options.limit = pm_test_stats().mapped_bytes + 2 * mapping_of_block();
    void *got[MAPPERS];
    int blocks_got = run_at_once(map_one_block, got);
    size_t mapped = pm_test_stats().mapped_bytes;
    for (int t = 0; t < MAPPERS; t++)
      pm_free(got[t]);
    cr_assert_leq(mapped, _pm_options.limit, "round %d: %zu bytes mapped past the limit", round,
                  mapped - (size_t)_pm_options.limit);
    cr_assert_eq(blocks_got, 2, "round %d: the limit had room for two blocks, %d were mapped",
                 round, blocks_got);
  }
}

/* A huge block grows by a remap, which also runs with the lock dropped
 * (huge.c): the growth is counted before, as a new mapping is. */
static void *grow_one_block(void *slot) {
  pthread_barrier_wait(&mappers_start);
  void *grown = pm_realloc(*(void **)slot, 2 * MAPPED_BLOCK);
  if (grown != NULL) *(void **)slot = grown;
  return grown;
}

Test(alloc_threads, threads_growing_blocks_at_once_stay_within_the_limit) {
  _pm_options.retain_max = 0;
  for (int round = 0; round < MAPPING_ROUNDS; round++) {
    void *blocks[MAPPERS];
    for (int t = 0; t < MAPPERS; t++)
      cr_assert_not_null(blocks[t] = pm_malloc(MAPPED_BLOCK));
    _pm_options.limit = pm_test_stats().mapped_bytes + 2 * MAPPED_BLOCK; /* two growths */
    int grown = run_at_once(grow_one_block, blocks);
    size_t mapped = pm_test_stats().mapped_bytes, limit = _pm_options.limit;
    for (int t = 0; t < MAPPERS; t++)
      pm_free(blocks[t]);
    _pm_options.limit = 0; /* the next round's blocks */
    cr_assert_leq(mapped, limit, "round %d: %zu bytes mapped past the limit", round,
                  mapped - limit);
    cr_assert_eq(grown, 2, "round %d: the limit had room for two growths, %d grew", round, grown);
  }
}

/* At the limit, a thread that finds no room while another thread's
 * segment is on its way waits for it, and takes its pages from it. */
#define PIECE ((size_t)1 << 20)
enum { LIMIT_ROUNDS = 10, HELD_MAX = 4096 };

static void *allocate_one_piece(void *out) {
  pthread_barrier_wait(&mappers_start);
  return *(void **)out = pm_malloc(PIECE);
}

Test(alloc_threads, threads_at_the_limit_share_the_segment_one_of_them_maps) {
  pm_test_no_free_runs();
  static void *held[HELD_MAX];
  /* Keeps a segment mapped: the trim may have unmapped every one, and a
   * limit of 0 bytes means none. */
  held[0] = pm_malloc(PIECE);
  size_t count = 1;
  for (int round = 0; round < LIMIT_ROUNDS; round++) {
    _pm_options.limit = pm_test_stats().mapped_bytes; /* no new segment: use up the free runs */
    while (count < HELD_MAX && (held[count] = pm_malloc(PIECE)) != NULL)
      count++;
    cr_assert_lt(count, HELD_MAX - MAPPERS, "the free runs ran out");
    _pm_options.limit += PM_SEGMENT_SIZE; /* room for one segment, which holds every piece */
    int got = run_at_once(allocate_one_piece, &held[count]);
    cr_assert_eq(got, MAPPERS, "round %d: %d of %d pieces, where one segment holds them all", round,
                 got, MAPPERS);
    count += MAPPERS;
  }
  _pm_options.limit = 0;
  for (size_t i = 0; i < count; i++)
    pm_free(held[i]);
}

static _Atomic bool mapper_stop;

static void *map_and_unmap(void *arg) {
  (void)arg;
  while (!atomic_load(&mapper_stop))
    pm_free(pm_malloc(MAPPED_BLOCK));
  return NULL;
}

Test(alloc_threads, a_child_forked_during_a_mapping_counts_only_what_it_has) {
  _pm_options.retain_max = 0;
  _pm_options.decay_ms = 600000; /* no segment unmapped under the test */
  size_t baseline = pm_test_stats().mapped_bytes;
  pthread_t mapper;
  pthread_create(&mapper, NULL, map_and_unmap, NULL);
  int miscounted = 0;
  for (int i = 0; i < FORKS; i++) {
    pid_t pid = fork();
    if (pid == 0) { /* the mapper's block, when the fork found it live */
      size_t has = baseline + (_pm_pool.huge_live_bytes > 0 ? mapping_of_block() : 0);
      _exit(_pm_pool.mapped_bytes == has ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    miscounted += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  atomic_store(&mapper_stop, true);
  pthread_join(mapper, NULL);
  cr_assert_eq(miscounted, 0, "%d of %d children counted bytes they had not mapped", miscounted,
               FORKS);
}
