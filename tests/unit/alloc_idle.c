/* alloc_idle.c: the unused pages of a thread's current slab go back to the
 * OS (idle.c): after a phase that carved several pages and freed every
 * block, and when the slab was carved from resident memory; a rarely used
 * class keeps its emptied slab without its pages, the owner's ping-pong
 * soon keeps its slab and stays lock-free, a purge racing with the owner's
 * carving loses no block, and a slab that leaves the heap counts as
 * retained only the pages it may have used. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "alloc_test.h"

TestSuite(alloc_idle, .timeout = 60);

enum { BLOCK = 256, PHASE_BLOCKS = 128 }; /* 128 x 256 B: eight pages of one slab */

static pm_bin_t *bin_of(size_t size) {
  return &_pm_heap_default->bins[_pm_class_of(size)];
}

static size_t resident_pages(const pm_span_t *slab) {
  return pm_test_resident_pages(_pm_span_start(slab), PM_SLAB_PAGES);
}

static uint64_t purge_idle_now(void) {
  _pm_lock(&_pm_pages_lock);
  uint64_t purged = _pm_idle_purge(UINT64_MAX);
  _pm_unlock(&_pm_pages_lock);
  return purged;
}

/* Allocates a phase of blocks in one fresh slab, fills them, frees them. */
static pm_span_t *run_phase(void) {
  void *blocks[PHASE_BLOCKS];
  for (int i = 0; i < PHASE_BLOCKS; i++) {
    blocks[i] = pm_malloc(BLOCK);
    cr_assert_not_null(blocks[i]);
    memset(blocks[i], 0xa5, BLOCK);
  }
  pm_span_t *slab = pm_test_slab_of(blocks[0]);
  cr_assert_eq(pm_test_slab_of(blocks[PHASE_BLOCKS - 1]), slab, "the phase fits one slab");
  for (int i = 0; i < PHASE_BLOCKS; i++)
    pm_free(blocks[i]);
  return slab;
}

Test(alloc_idle, a_drained_current_slab_gives_its_pages_back) {
  pm_free(pm_malloc(1)); /* options read: the settings below stay */
  _pm_options.decay_ms = 60000;
  pm_trim(0);
  pm_span_t *slab = run_phase();
  pm_bin_t *bin = bin_of(BLOCK);
  cr_assert_eq(bin->current, slab, "the drained slab stays current");
  cr_assert_eq(atomic_load(&bin->idle), slab, "and is registered idle");
  cr_assert_eq(slab->reserved, 0u, "starting over from its first block");
  size_t resident = resident_pages(slab);
  cr_assert_geq(resident, 8u, "its pages are still resident");
  cr_assert_eq(purge_idle_now(), resident * PM_PAGE_SIZE,
               "the pages it used go back, and only they count as released");
  cr_assert_eq(resident_pages(slab), 0u, "purged");
  cr_assert_null(atomic_load(&bin->idle), "no longer registered");
  /* The owner carves it again from the first block. */
  uint8_t *again = pm_malloc(BLOCK);
  cr_assert_eq(again, _pm_span_start(slab));
  memset(again, 0x3c, BLOCK);
  cr_assert_eq(again[BLOCK - 1], 0x3c);
  pm_free(again);
}

Test(alloc_idle, a_ping_pong_soon_keeps_its_slab) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  pm_trim(0);
  void *first = pm_malloc(BLOCK);
  pm_span_t *slab = pm_test_slab_of(first);
  pm_free(first);
  for (int i = 0; i < 10; i++) {
    void *p = pm_malloc(BLOCK);
    cr_assert_eq(p, first, "the same block comes back");
    pm_free(p);
  }
  /* Started over only on its first empties: from then on the slab stays
   * current with its free list, so no lock is taken. */
  slab = pm_test_slab_of(first);
  cr_assert_eq(bin_of(BLOCK)->current, slab, "kept after the latest empty");
  uint32_t reserved = slab->reserved;
  cr_assert_neq(reserved, 0u, "and not started over");
  for (int i = 0; i < 1000; i++) {
    void *p = pm_malloc(BLOCK);
    cr_assert_eq(p, first, "the same block comes back");
    pm_free(p);
  }
  cr_assert_eq(bin_of(BLOCK)->current, slab, "still the same slab");
  cr_assert_eq(slab->reserved, reserved, "no start over");
}

/* A class a program used in a few phases (setup of a few graphs, teardown)
 * keeps its emptied slab, started over, and the decay pass purges even the
 * page the class used; the slab's address range is not handed to another
 * request, where a repeated free would land in someone else's block. */
Test(alloc_idle, a_rarely_used_class_keeps_its_slab_but_not_its_pages) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  pm_trim(0);
  pm_bin_t *bin = bin_of(BLOCK);
  pm_span_t *first_slab = NULL;
  for (int phase = 0; phase < 4; phase++) {
    void *blocks[3];
    for (int i = 0; i < 3; i++) {
      blocks[i] = pm_malloc(BLOCK);
      memset(blocks[i], 0x5a, BLOCK);
    }
    pm_span_t *slab = pm_test_slab_of(blocks[0]);
    if (first_slab == NULL) first_slab = slab;
    cr_assert_eq(slab, first_slab, "phase %d: the class's one slab serves it again", phase);
    cr_assert_eq(bin->current, slab, "phase %d: a slab of the class is current", phase);
    for (int i = 0; i < 3; i++)
      pm_free(blocks[i]);
    cr_assert_eq(bin->current, slab, "phase %d: the empty slab stays current", phase);
    cr_assert(slab->reserved == 0 && slab->started_over, "phase %d: started over", phase);
    cr_assert_eq(atomic_load(&bin->idle), slab, "phase %d: registered idle", phase);
    cr_assert_eq(resident_pages(slab), 1u, "phase %d: one page was used", phase);
    cr_assert_eq(purge_idle_now(), PM_PAGE_SIZE, "phase %d: its one page counts as released",
                 phase);
    cr_assert_eq(resident_pages(slab), 0u, "phase %d: and it is purged", phase);
  }
}

/* A thread that uses many classes once each keeps the slabs of the latest
 * two only: the older one goes back to the pool when a third empties. */
Test(alloc_idle, only_the_latest_two_cold_slabs_stay) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  static const size_t sizes[] = {3000, 3500, 4500}; /* classes nothing else here uses */
  pm_span_t *slabs[3];
  for (int i = 0; i < 3; i++) {
    void *block = pm_malloc(sizes[i]);
    slabs[i] = pm_test_slab_of(block);
    pm_free(block);
    cr_assert_eq(bin_of(sizes[i])->current, slabs[i], "class %d: the emptied slab stays", i);
  }
  cr_assert_null(bin_of(sizes[0])->current, "the oldest cold slab left the heap");
  cr_assert_neq(atomic_load(&slabs[0]->heap), _pm_heap_default, "and is no longer this heap's");
  cr_assert_eq(bin_of(sizes[1])->current, slabs[1], "the latest two stay");
  cr_assert_eq(bin_of(sizes[2])->current, slabs[2]);
  /* A class carved again is in use, not cold: the next eviction keeps it. */
  void *again = pm_malloc(sizes[1]);
  pm_free(pm_malloc(5500));
  pm_free(pm_malloc(6500));
  cr_assert_eq(bin_of(sizes[1])->current, slabs[1], "a slab in use again is not given back");
  pm_free(again);
  /* Nor is the slab of a class that turned hot (kept as it is, carved). */
  for (int i = 0; i < 2 * PM_COLD_EMPTIES; i++)
    pm_free(pm_malloc(sizes[1]));
  pm_free(pm_malloc(7500));
  pm_free(pm_malloc(8500));
  cr_assert_eq(bin_of(sizes[1])->current, slabs[1], "a hot class keeps its slab");
}

/* A cold slab that is then used past its first extension and emptied is
 * kept for good, as any slab emptied after a real phase: two more cold
 * classes later, it is still the current one (it was once given back, and
 * a repeated free of a block from that phase then freed another class's
 * block in its pages). Run in a new thread, whose heap holds no other
 * block of these classes. */
typedef struct heavy_use_s {
  bool same_slab, still_current, started_over;
} heavy_use_t;

static void *use_a_cold_class_heavily(void *arg) {
  heavy_use_t *seen = arg;
  void *first = pm_malloc(1152);
  pm_span_t *slab = pm_test_slab_of(first);
  pm_free(first);   /* cold: kept for a while */
  void *blocks[40]; /* 40 x 1152 B: twelve pages, past the first extension */
  for (int i = 0; i < 40; i++)
    blocks[i] = pm_malloc(1152);
  seen->same_slab = pm_test_slab_of(blocks[39]) == slab;
  for (int i = 0; i < 40; i++)
    pm_free(blocks[i]);
  pm_free(pm_malloc(1280));
  pm_free(pm_malloc(1408));
  seen->still_current = bin_of(1152)->current == slab;
  seen->started_over = slab->started_over && slab->reserved == 0;
  return NULL;
}

Test(alloc_idle, a_cold_slab_used_heavily_since_stays) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  heavy_use_t seen = {false, false, false};
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, use_a_cold_class_heavily, &seen), 0);
  pthread_join(thread, NULL);
  cr_assert(seen.same_slab, "one slab holds the phase");
  cr_assert(seen.still_current, "the slab of the phase stays current");
  cr_assert(seen.started_over, "started over, not given back");
}

/* Fills three blocks of a class nothing used yet, which take the first
 * page of a slab carved from clean pages, and frees them: the slab, empty
 * inside its first extension, starts over. Returns it. */
static pm_span_t *empty_a_one_page_slab(uint8_t fill) {
  void *blocks[3];
  for (int i = 0; i < 3; i++) {
    blocks[i] = pm_malloc(BLOCK);
    memset(blocks[i], fill, BLOCK);
  }
  pm_span_t *slab = pm_test_slab_of(blocks[0]);
  cr_assert_eq(slab->reserved * BLOCK, PM_PAGE_SIZE, "one page of blocks carved");
  for (int i = 0; i < 3; i++)
    pm_free(blocks[i]);
  cr_assert(slab->reserved == 0 && slab->started_over, "the empty slab started over");
  return slab;
}

/* Leaves in *pages what the emptied slab may hold resident. */
static void *empty_a_slab_and_exit(void *pages) {
  pm_span_t *slab = empty_a_one_page_slab(0x5a);
  _pm_lock(&_pm_pages_lock);
  *(size_t *)pages = _pm_slab_resident_pages(slab);
  _pm_unlock(&_pm_pages_lock);
  return NULL;
}

/* A slab leaving a heap (here at its thread's exit) counts as retained
 * only the pages it may have made resident, though it started over. */
Test(alloc_idle, a_released_slab_retains_only_its_used_pages) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  void *keeper = pm_malloc(BLOCK * 4);
  pm_trim(0);
  cr_assert_eq(pm_test_stats().retained_bytes, 0u, "nothing retained after the trim");
  pthread_t thread;
  size_t pages = 0;
  cr_assert_eq(pthread_create(&thread, NULL, empty_a_slab_and_exit, &pages), 0);
  pthread_join(thread, NULL);
  cr_assert_eq(pages, 1u, "the emptied slab may hold the one page it used, no more");
  cr_assert_eq(pm_test_stats().retained_bytes, PM_PAGE_SIZE, "its one used page is retained");
  pm_free(keeper);
}

/* A slab purged past its frontier, carved again and emptied, may hold only
 * the page carved since. */
Test(alloc_idle, a_purged_slab_holds_only_what_was_carved_since) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  pm_trim(0);
  pm_span_t *slab = run_phase(); /* eight pages carved, then started over */
  _pm_lock(&_pm_pages_lock);
  size_t before_purge = _pm_slab_resident_pages(slab);
  _pm_unlock(&_pm_pages_lock);
  cr_assert_eq(before_purge, 8u, "the eight pages carved may be resident");
  cr_assert_eq(purge_idle_now(), before_purge * PM_PAGE_SIZE, "those pages go back");
  /* One page carved again, then emptied inside that first extension. */
  pm_free(pm_malloc(BLOCK));
  cr_assert_eq(bin_of(BLOCK)->current, slab, "the same slab, started over again");
  _pm_lock(&_pm_pages_lock);
  size_t after = _pm_slab_resident_pages(slab);
  _pm_unlock(&_pm_pages_lock);
  cr_assert_eq(after, 1u, "the page carved after the purge may be resident, the purged ones not");
}

Test(alloc_idle, a_slab_carved_from_resident_pages_is_registered) {
  pm_test_no_free_runs();
  /* A resident free run of 64 pages... */
  uint8_t *large = pm_malloc((size_t)256 << 10);
  cr_assert_not_null(large);
  memset(large, 0x11, (size_t)256 << 10);
  pm_free(large);
  /* ...from which a class used by nothing yet takes its first slab. */
  size_t size = 3000;
  cr_assert_null(bin_of(size)->current, "class %zu unused so far", size);
  void *block = pm_malloc(size);
  pm_span_t *slab = pm_test_slab_of(block);
  cr_assert_eq(atomic_load(&bin_of(size)->idle), slab, "registered at birth");
  cr_assert_eq(resident_pages(slab), PM_SLAB_PAGES, "all sixteen pages resident");
  size_t frontier = pm_align_up((size_t)slab->reserved * slab->block_size, PM_PAGE_SIZE);
  cr_assert_eq(purge_idle_now(), PM_SLAB_SIZE - frontier);
  cr_assert_eq(resident_pages(slab), frontier / PM_PAGE_SIZE, "only the carved pages stay");
  memset(block, 0x22, size);
  pm_free(block);
}

Test(alloc_idle, the_background_thread_purges_while_the_owner_sleeps) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 100;
  _pm_options.background_thread = 1;
  pm_trim(0);
  uint64_t phase_began = _pm_prim_clock_ms();
  pm_span_t *slab = run_phase();
  size_t resident = resident_pages(slab);
  if (pm_test_within_half_decay(phase_began)) cr_assert_geq(resident, 8u, "resident at first");
  struct timespec pause = {0, 50 * 1000000L};
  for (int i = 0; i < 100 && resident_pages(slab) > 0; i++)
    nanosleep(&pause, NULL);
  cr_assert_eq(resident_pages(slab), 0u, "purged without a call from the owner");
}

/* The owner drains and refills a slab in phases while another thread
 * purges idle slabs as fast as it can: every block keeps its contents. */
static atomic_bool purging_done;

static void *purge_loop(void *unused) {
  (void)unused;
  /* Yielding between purges keeps them frequent on several cores, while
   * under memcheck, which runs one thread at a time, a purger that took the
   * pages lock straight back could starve the owner past the timeout (seen
   * once in CI). */
  while (!atomic_load(&purging_done)) {
    purge_idle_now();
    sched_yield();
  }
  return NULL;
}

Test(alloc_idle, a_purge_racing_with_carving_loses_no_block) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  pthread_t purger;
  atomic_store(&purging_done, false);
  cr_assert_eq(pthread_create(&purger, NULL, purge_loop, NULL), 0);
  enum { ROUNDS = 3000, COUNT = 300 };
  static uint8_t *blocks[COUNT];
  for (int round = 0; round < ROUNDS; round++) {
    int count = 1 + (round * 37) % COUNT;
    for (int i = 0; i < count; i++) {
      blocks[i] = pm_malloc(BLOCK);
      cr_assert_not_null(blocks[i]);
      memset(blocks[i], (uint8_t)(round + i), BLOCK);
    }
    for (int i = 0; i < count; i++) {
      for (int j = 0; j < BLOCK; j += 61)
        cr_assert_eq(blocks[i][j], (uint8_t)(round + i), "round %d block %d byte %d", round, i, j);
      pm_free(blocks[i]);
    }
  }
  atomic_store(&purging_done, true);
  pthread_join(purger, NULL);
}
