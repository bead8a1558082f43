/* alloc_bad_pointer.c: bad pointers get one line on stderr naming the
 * function and the address, then abort(); never memory corruption. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "alloc_test.h"

TestSuite(alloc_bad_pointer, .timeout = 30);

typedef struct bad_call_s {
  int kind;
  void *ptr;
} bad_call_t;

enum { CALL_FREE, CALL_REALLOC, CALL_USABLE, CALL_FREE_SIZED };

static void make_bad_call(void *arg) {
  bad_call_t *call = arg;
  switch (call->kind) {
  case CALL_FREE:
    pm_free(call->ptr);
    break;
  case CALL_REALLOC:
    (void)!pm_realloc(call->ptr, 10);
    break;
  case CALL_USABLE:
    (void)pm_usable_size(call->ptr);
    break;
  case CALL_FREE_SIZED:
    pm_free_sized(call->ptr, 8);
    break;
  }
}

static void expect_abort(int kind, void *ptr, const char *func, const char *problem) {
  char out[256], want[256];
  int status;
  bad_call_t call = {kind, ptr};
  pm_test_capture(make_bad_call, &call, out, sizeof out, &status);
  snprintf(want, sizeof want, "poolmalloc: %s(): %s %p\n", func, problem, ptr);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s(%p) did not abort", func, ptr);
  cr_assert_str_eq(out, want);
}

/* Runs repeat in a child, which must abort reporting a double free in
 * func(); what names the case in a failure. */
static void expect_double_free_in(void (*repeat)(void *), void *arg, const char *func,
                                  const char *what) {
  char out[256], want[64];
  int status;
  pm_test_capture(repeat, arg, out, sizeof out, &status);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s: no abort (stderr: %s)", what,
            out);
  int len = snprintf(want, sizeof want, "poolmalloc: %s(): double free 0x", func);
  cr_assert(strncmp(out, want, (size_t)len) == 0, "%s: got %s", what, out);
}

Test(alloc_bad_pointer, foreign_pointers) {
  static char in_data[64];
  expect_abort(CALL_FREE, in_data + 16, "free", "invalid pointer");
  uint8_t *mapped = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect_abort(CALL_REALLOC, mapped, "realloc", "invalid pointer");
  expect_abort(CALL_USABLE, mapped + 4096, "malloc_usable_size", "invalid pointer");
  expect_abort(CALL_FREE, (void *)(uintptr_t)0xdead0000, "free", "invalid pointer");
  expect_abort(CALL_FREE, (void *)~(uintptr_t)15, "free", "invalid pointer");
  munmap(mapped, 8192);
}

/* The header's own descriptors are never written (segment.c); a pointer
 * into the header is still rejected. */
Test(alloc_bad_pointer, pointers_into_a_segment_header) {
  void *block = pm_malloc(100);
  uint8_t *segment = (uint8_t *)_pm_span_segment_lookup(block);
  expect_abort(CALL_FREE, segment, "free", "invalid pointer");
  expect_abort(CALL_FREE, segment + PM_PAGE_SIZE, "free", "invalid pointer");
  expect_abort(CALL_REALLOC, segment + 3 * PM_PAGE_SIZE + 64, "realloc", "invalid pointer");
  expect_abort(CALL_USABLE, segment + (PM_SEGMENT_HEADER_PAGES - 1) * PM_PAGE_SIZE,
               "malloc_usable_size", "invalid pointer");
  pm_free(block);
}

Test(alloc_bad_pointer, pointers_into_blocks) {
  uint8_t *small = pm_malloc(100);
  uint8_t *large = pm_malloc(100000);
  uint8_t *huge = pm_malloc(PM_TEST_HUGE_SIZE);
  expect_abort(CALL_FREE, small + 16, "free", "invalid pointer");
  expect_abort(CALL_FREE, small + 1, "free", "invalid pointer");
  expect_abort(CALL_FREE_SIZED, small + 48, "free_sized", "invalid pointer");
  expect_abort(CALL_FREE, large + 4096, "free", "invalid pointer");
  expect_abort(CALL_REALLOC, huge + 64, "realloc", "invalid pointer");
  pm_free(small);
  pm_free(large);
  pm_free(huge);
}

/* Only the first and last page of a large block lead back to its head
 * (segment.c): an inner page keeps the offset an earlier span left there,
 * which must still lead to a descriptor that rejects the pointer. */
Test(alloc_bad_pointer, pointers_into_blocks_over_stale_offsets) {
  enum { PAGE = 4096 };
  pm_test_no_free_runs(); /* the run freed below is the one split next */
  uint8_t *wide = pm_malloc(40 * PAGE);
  pm_free(wide);
  uint8_t *front = pm_malloc(20 * PAGE);
  uint8_t *back = pm_malloc(20 * PAGE);
  cr_assert(front == wide && back == wide + 20 * PAGE, "both halves come from the freed run");
  expect_abort(CALL_FREE, front + 3 * PAGE, "free", "invalid pointer");
  expect_abort(CALL_FREE, back + 5 * PAGE, "free", "invalid pointer");
  expect_abort(CALL_USABLE, back + PAGE, "malloc_usable_size", "invalid pointer");
  expect_abort(CALL_REALLOC, back + 19 * PAGE, "realloc", "invalid pointer");
  pm_free(front);
  pm_free(back);
}

/* Growing in place absorbs the head of the free run after the block; a
 * pointer to that page is inside a live block, not a freed one. */
Test(alloc_bad_pointer, a_pointer_into_a_block_grown_in_place_is_invalid) {
  enum { PAGE = 4096 };
  void *fences[2];
  uint8_t *room = pm_test_free_run_between(30, 30, fences);
  uint8_t *block = pm_malloc(10 * PAGE);
  cr_assert_eq(block, room, "the block starts the free run");
  cr_assert_eq(pm_realloc(block, 15 * PAGE), block, "and grows into it in place");
  expect_abort(CALL_FREE, block + 10 * PAGE, "free", "invalid pointer");
  expect_abort(CALL_FREE, block + 12 * PAGE, "free", "invalid pointer");
  pm_free(block);
  pm_free(fences[0]);
  pm_free(fences[1]);
}

/* What a program's write after free does to the freed mark (internal.h):
 * the checks that do not rely on the mark are exercised through it. */
static void erase_mark(void *block) {
  ((uintptr_t *)block)[1] = 0;
}

Test(alloc_bad_pointer, double_frees) {
  /* The fast path sends a marked block, and a repeat of the latest free on
   * its slab even when unmarked, to the full check (a live neighbour keeps
   * the slab from being given back). */
  void *neighbour = pm_malloc(64);
  void *small = pm_malloc(64);
  pm_free(small);
  expect_abort(CALL_FREE, small, "free", "double free");
  erase_mark(small);
  expect_abort(CALL_FREE, small, "free", "double free");
  pm_free(neighbour);
  _pm_options.decay_ms = 60000;
  void *large = pm_malloc(200000);
  pm_free(large);
  expect_abort(CALL_FREE, large, "free", "double free");
  void *huge = pm_malloc(PM_TEST_HUGE_SIZE);
  pm_free(huge);
  expect_abort(CALL_FREE, huge, "free", "double free");
}

/* A huge block that its free unmapped (nothing retained), or that a
 * realloc moved, is no longer in the registry, like a pointer that was
 * never the allocator's; its repeated free is still named for what it is. */
Test(alloc_bad_pointer, a_repeated_free_of_an_unmapped_huge_block) {
  _pm_options.retain_max = 0;
  void *huge = pm_malloc(PM_TEST_HUGE_SIZE);
  pm_free(huge);
  expect_abort(CALL_FREE, huge, "free", "double free");
  expect_abort(CALL_USABLE, huge, "malloc_usable_size", "double free");
  void *fence = NULL, *old, *moved = pm_malloc(PM_TEST_HUGE_SIZE);
  size_t grow = 2;
  do {
    old = moved;
    moved = pm_realloc(old, grow * PM_TEST_HUGE_SIZE);
    cr_assert_not_null(moved);
    /* In the way of the next growth. Only while old is still mapped: once
     * the block moved, a new mapping may take old's address. */
    if (moved == old && fence == NULL) fence = pm_malloc(PM_TEST_HUGE_SIZE);
    grow *= 2;
  } while (moved == old && grow < 64);
  cr_assert_neq(moved, old, "a realloc moved the block");
  expect_abort(CALL_FREE, old, "free", "double free");
  pm_free(moved);
  pm_free(fence);
}

/* A slab whose blocks were all freed after a phase that carved several
 * pages starts over (idle.c) and forgets its free list; a second free of
 * one of those blocks is still a double free. */
Test(alloc_bad_pointer, a_double_free_into_a_slab_that_started_over) {
  pm_test_no_free_runs();
  enum { BLOCKS = 128 }; /* 128 x 256 B: eight pages, more than one extension */
  void *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = pm_malloc(256);
  for (int i = 0; i < BLOCKS; i++)
    pm_free(blocks[i]);
  expect_abort(CALL_FREE, blocks[BLOCKS - 1], "free", "double free");
  expect_abort(CALL_FREE, blocks[3], "free", "double free");
  expect_abort(CALL_FREE, (uint8_t *)blocks[3] + 16, "free", "invalid pointer");
}

/* The same after decay has purged the started-over slab's pages (which
 * erases the marks the frees wrote) and a request has carved its first
 * page again: the repeated free points at a carved block that waits on
 * the free list, and must not be pushed onto it a second time. */
Test(alloc_bad_pointer, a_double_free_into_a_started_over_slab_carved_again) {
  pm_test_no_free_runs();
  enum { BLOCKS = 128 }; /* as above: eight pages of 256-byte blocks */
  void *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++)
    blocks[i] = pm_malloc(256);
  for (int i = 0; i < BLOCKS; i++)
    pm_free(blocks[i]);
  pm_trim(0); /* the emptied slab's pages go back, zeroed */
  void *again = pm_malloc(256);
  cr_assert_eq(again, blocks[0], "the same slab, carved again from its first block");
  expect_abort(CALL_FREE, blocks[3], "free", "double free");
  expect_abort(CALL_REALLOC, blocks[3], "realloc", "double free");
  pm_free(again);
}

/* The plainest double free, free(p); free(p), in a class nothing else
 * uses: the emptied slab stays with its heap (idle.c), so the pages are not
 * handed to the request in between, and the repeat is reported. */
Test(alloc_bad_pointer, a_double_free_with_another_request_in_between) {
  pm_test_no_free_runs();     /* a slab given back would be the one resident run */
  void *p = pm_malloc(13000); /* classes nothing else in the test uses */
  pm_free(p);
  void *q = pm_malloc(15000);
  cr_assert_neq(q, p, "the freed block's pages did not go to another class");
  expect_abort(CALL_FREE, p, "free", "double free");
  pm_free(q);
}

/* A slab that empties while it is not its class's current one goes back to
 * the free runs, so a second free of one of its blocks points into a free
 * run, where the block layout is no longer known. */
Test(alloc_bad_pointer, a_double_free_into_a_slab_given_back) {
  enum { BLOCK = 9000, PER_SLAB = PM_SLAB_SIZE / 9216 }; /* 9216-byte blocks */
  void *first[PER_SLAB];
  for (int i = 0; i < PER_SLAB; i++)
    first[i] = pm_malloc(BLOCK);
  void *next = pm_malloc(BLOCK); /* the first slab is full: a second one is current */
  pm_span_t *slab = pm_test_slab_of(first[0]);
  cr_assert_neq(pm_test_slab_of(next), slab, "a second slab serves the class");
  for (int i = 0; i < PER_SLAB; i++)
    pm_free(first[i]);
  _pm_lock(&_pm_pages_lock);
  pm_span_t *now = _pm_span_containing(_pm_span_segment_lookup(first[1]), first[1]);
  _pm_unlock(&_pm_pages_lock);
  cr_assert_eq(now->kind, PM_SPAN_FREE, "the empty slab went back to the free runs");
  expect_abort(CALL_FREE, first[1], "free", "double free or invalid pointer");
  expect_abort(CALL_USABLE, (uint8_t *)first[1] + 16, "malloc_usable_size",
               "double free or invalid pointer");
  pm_free(next);
}

static void realloc_in_place_after_free(void *unused) {
  void *p = pm_malloc(40), *keep = pm_malloc(40); /* keep: the slab is not emptied */
  pm_free(p);
  (void)!pm_realloc(p, 40); /* fits where it is: nothing is freed */
  pm_free(keep);
  (void)unused;
}

static void *realloc_in_place(void *block) {
  (void)!pm_realloc(block, 40);
  return NULL;
}

static void realloc_in_place_after_a_remote_free(void *unused) {
  void *p = pm_malloc(40), *keep = pm_malloc(40);
  pm_free(p);
  pthread_t thread;
  pthread_create(&thread, NULL, realloc_in_place, p); /* trusts the mark */
  pthread_join(thread, NULL);
  pm_free(keep);
  (void)unused;
}

/* realloc of a freed block to a size that fits where it is would hand its
 * memory out again without a free (a smaller or larger size moves it, and
 * the free of the old block reports the repeat); glibc lets it through,
 * the freed mark stops it. */
Test(alloc_bad_pointer, realloc_of_a_freed_block) {
  expect_double_free_in(realloc_in_place_after_free, NULL, "realloc", "realloc in place");
  expect_double_free_in(realloc_in_place_after_a_remote_free, NULL, "realloc",
                        "realloc in place on another thread");
}

Test(alloc_bad_pointer, null_is_a_no_op) {
  pm_free(NULL);
  pm_free_sized(NULL, 0);
  cr_assert_eq(pm_usable_size(NULL), 0);
}

static void free_twice_among_others(void *arg) {
  (void)arg;
  enum { PER_SLAB = PM_SLAB_SIZE / 9216 }; /* 9000-byte requests: 9216-byte blocks */
  void *first[PER_SLAB], *second[PER_SLAB];
  for (int i = 0; i < PER_SLAB; i++)
    first[i] = pm_malloc(9000);
  for (int i = 0; i < PER_SLAB; i++)
    second[i] = pm_malloc(9000); /* the first slab is full and no longer current */
  for (int i = 0; i < PER_SLAB - 1; i++)
    pm_free(first[i]);
  /* Unmarked and not the latest free, so the fast path lets it through;
   * the slab's count reaches zero with a block still out, and the check
   * catches it. */
  erase_mark(first[0]);
  pm_free(first[0]);
  (void)second;
}

Test(alloc_bad_pointer, double_free_found_when_the_slab_empties) {
  expect_double_free_in(free_twice_among_others, NULL, "free", "among others");
}

/* A class used in malloc/free ping-pong keeps its emptied current slab
 * without the empty-slab check (idle.c): a repeat free there once pushed
 * the block again and wrapped the slab's count of blocks in use, and
 * malloc then returned the same block twice. */
static void *free_twice_in_a_fresh_heap(void *unused) {
  for (int i = 0; i < 2 * PM_COLD_EMPTIES + 1; i++)
    pm_free(pm_malloc(16)); /* empty the current slab again and again: hot */
  void *a = pm_malloc(16), *b = pm_malloc(16);
  pm_free(a);
  pm_free(b);
  erase_mark(a);
  pm_free(a);
  return unused;
}

static void free_twice_into_a_hot_empty_slab(void *unused) {
  /* A new thread's heap has slabs of its own, which the test harness's
   * blocks do not keep from emptying. */
  pthread_t thread;
  pthread_create(&thread, NULL, free_twice_in_a_fresh_heap, unused);
  pthread_join(thread, NULL);
}

Test(alloc_bad_pointer, double_free_into_a_hot_empty_slab) {
  expect_double_free_in(free_twice_into_a_hot_empty_slab, NULL, "free", "hot empty slab");
}

/* Frees from a thread that does not own the slab go on its remote list. A
 * block pushed there twice closes the list into a loop, which the owner
 * walked forever (under the pages lock when the reaper walked it, so every
 * thread hung). Past the mark, the repeat of the latest remote free is
 * caught at once; others when the owner collects the list. */
typedef struct remote_frees_s {
  void *order[3];
  int count;
  bool erase_marks; /* before each free */
} remote_frees_t;

static void *free_in_order(void *arg) {
  remote_frees_t *frees = arg;
  for (int i = 0; i < frees->count; i++) {
    if (frees->erase_marks) erase_mark(frees->order[i]);
    pm_free(frees->order[i]);
  }
  return NULL;
}

static void free_remotely_then_collect(void *arg) {
  pthread_t thread;
  pthread_create(&thread, NULL, free_in_order, arg);
  pthread_join(thread, NULL);
  pm_trim(0); /* collects the remote lists of this thread's slabs */
}

Test(alloc_bad_pointer, remote_double_frees) {
  void *x = pm_malloc(48), *y = pm_malloc(48), *keep = pm_malloc(48);
  char out[256], want[256];
  int status;
  remote_frees_t twice = {{x, x}, 2, true};
  pm_test_capture(free_remotely_then_collect, &twice, out, sizeof out, &status);
  snprintf(want, sizeof want, "poolmalloc: free(): double free %p\n", x);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "x, x did not abort");
  cr_assert_str_eq(out, want);

  remote_frees_t apart = {{x, y, x}, 3, true};
  expect_double_free_in(free_remotely_then_collect, &apart, "free", "x, y, x");
  pm_free(x);
  pm_free(y);
  pm_free(keep);
}

/* A large block its thread keeps (large_cache.c) is marked so: a repeat
 * is a double free from the owner and from another thread, and so is one
 * of a block that went to the pool with the cache turned off. */
Test(alloc_bad_pointer, double_frees_of_large_blocks_cached_or_not) {
  _pm_options.decay_ms = 60000;
  _pm_options.large_cache = (uint64_t)4 << 20;
  void *large = pm_malloc(200000);
  pm_free(large);
  pm_span_t *span = _pm_span_of(_pm_span_segment_lookup(large), large);
  cr_assert_eq(pm_span_get(span, kind), PM_SPAN_CACHED, "the thread keeps it");
  expect_abort(CALL_FREE, large, "free", "double free");
  remote_frees_t remote = {{large}, 1, false};
  expect_double_free_in(free_remotely_then_collect, &remote, "free", "cached, then remote");
  _pm_options.large_cache = 0;
  void *pooled = pm_malloc(300000);
  uint64_t pool_frees = _pm_pool.large_frees;
  pm_free(pooled);
  cr_assert_eq(_pm_pool.large_frees, pool_frees + 1, "back in the pool");
  expect_abort(CALL_FREE, pooled, "free", "double free");
}

/* The freed mark (internal.h) catches the repeats that the checks above
 * let through, each of which put one block on a slab's lists twice, so
 * that malloc later returned it twice. Every function below makes one
 * such repeat and then returns normally unless it was stopped. */

/* A remote free of a block the owner had already taken from the remote list. */
static void free_remotely_again_after_collection(void *arg) {
  remote_frees_t once = {{((remote_frees_t *)arg)->order[0]}, 1, false};
  free_remotely_then_collect(&once);
  free_remotely_then_collect(&once);
}

/* The owner's free of a block another thread freed already. */
static void free_remotely_then_locally(void *arg) {
  remote_frees_t *frees = arg;
  pthread_t thread;
  pthread_create(&thread, NULL, free_in_order, frees);
  pthread_join(thread, NULL);
  pm_free(frees->order[0]);
}

/* free(a); free(b); free(a) on a slab that stays in use (keep). */
static void free_twice_around_another(void *arg) {
  remote_frees_t *blocks = arg;
  pm_free(blocks->order[0]);
  pm_free(blocks->order[1]);
  pm_free(blocks->order[0]);
}

static void expect_repeat_caught(void (*repeat)(void *), const char *what) {
  void *x = pm_malloc(48), *y = pm_malloc(48), *keep = pm_malloc(48);
  remote_frees_t frees = {{x, y}, 1, false};
  expect_double_free_in(repeat, &frees, "free", what);
  pm_free(x);
  pm_free(y);
  pm_free(keep);
}

Test(alloc_bad_pointer, a_remote_repeat_after_the_owner_collected) {
  expect_repeat_caught(free_remotely_again_after_collection, "remote, collected, remote");
}

Test(alloc_bad_pointer, a_local_free_of_a_remotely_freed_block) {
  expect_repeat_caught(free_remotely_then_locally, "remote, then local");
}

Test(alloc_bad_pointer, a_repeat_behind_another_free_on_a_slab_in_use) {
  expect_repeat_caught(free_twice_around_another, "a, b, a with a block still out");
}

/* The owner confirms a mark before it aborts: a live block whose second
 * word happens to hold the mark's value is freed normally. */
Test(alloc_bad_pointer, a_block_that_holds_the_mark_value_frees_normally) {
  if (!PM_HARDENING) cr_skip_test("the freed mark is a hardening check");
  uintptr_t *block = pm_malloc(32);
  void *keep = pm_malloc(32);
  block[1] = _pm_block_mark_value((pm_block_t *)block);
  pm_free(block);
  uintptr_t *again = pm_malloc(32);
  cr_assert_eq(again, block, "the block was freed and is handed out next");
  cr_assert_eq(again[1], 0, "with its mark cleared");
  pm_free(again);
  pm_free(keep);
}

static void *free_on_this_thread(void *block) {
  pm_free(block);
  return NULL;
}

static void free_on_another_thread(void *block) {
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, free_on_this_thread, block), 0);
  pthread_join(thread, NULL);
}

/* Another thread trusts a mark without the lists' word, so a mark copied
 * from a freed block into a live one (stale bytes of recycled pages, moved
 * by realloc or memcpy) must not match there. */
Test(alloc_bad_pointer, a_mark_copied_into_a_live_block_frees_on_another_thread) {
  if (!PM_HARDENING) cr_skip_test("the freed mark is a hardening check");
  uintptr_t *freed = pm_malloc(32), *live = pm_malloc(32);
  void *keep = pm_malloc(32);
  pm_free(freed);
  live[1] = freed[1];
  free_on_another_thread(live);
  pm_free(keep);
}

/* A size query or a realloc racing a free of the same huge block (the
 * program's bug) aborts with the message; it never faults on the header
 * the free unmapped. Each race runs in a child of its own, many times,
 * with the free landing at a different point of the racer's call. */
static void *volatile raced_block;
static atomic_bool racer_running;

static void *race_huge_block(void *kind) {
  atomic_store(&racer_running, true);
  for (;;) {
    if ((intptr_t)kind == CALL_USABLE)
      (void)pm_usable_size(raced_block);
    else /* in place: still more than a page run, and over half the block */
      (void)!pm_realloc(raced_block, PM_TEST_HUGE_SIZE - PM_PAGE_SIZE);
  }
  return NULL;
}

static void expect_races_abort(int kind) {
  /* memcheck runs one thread at a time: no race, and 200 slow children. */
  if (getenv("PM_UNDER_VALGRIND") != NULL) cr_skip_test("memcheck serialises the threads");
  enum { TRIALS = 200 };
  int faults = 0, aborts = 0;
  for (int trial = 0; trial < TRIALS; trial++) {
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 2);
      _pm_options.retain_max = 0; /* the free unmaps the block at once */
      raced_block = pm_malloc(PM_TEST_HUGE_SIZE);
      pthread_t racer;
      if (pthread_create(&racer, NULL, race_huge_block, (void *)(intptr_t)kind) != 0) _exit(3);
      while (!atomic_load(&racer_running)) {
      }
      for (volatile int spin = 0; spin < trial % 40 * 25; spin++) {
      }
      pm_free(raced_block);
      sleep(5); /* the racer's next call aborts */
      _exit(4);
    }
    int status;
    cr_assert_eq(waitpid(child, &status, 0), child);
    faults += WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
    aborts += WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  }
  cr_expect_eq(faults, 0, "%d of %d races faulted", faults, TRIALS);
  cr_expect_eq(aborts, TRIALS, "%d of %d races aborted", aborts, TRIALS);
}

Test(alloc_bad_pointer, a_size_query_racing_a_huge_free_aborts) {
  expect_races_abort(CALL_USABLE);
}

Test(alloc_bad_pointer, a_realloc_racing_a_huge_free_aborts) {
  expect_races_abort(CALL_REALLOC);
}
