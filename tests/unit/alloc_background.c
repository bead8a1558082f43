/* alloc_background.c: the background release thread gives idle memory back
 * while the program sleeps without calling malloc, also in a forked child
 * and when that memory is the slabs of a thread that exited;
 * idle, it stays while the main thread runs; a child of _Fork, which has
 * no such thread, and background_thread:0 release on slow paths. */
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>

#include "alloc_test.h"

TestSuite(alloc_background, .timeout = 60);

enum { COUNT = 64, BLOCK = 500000 }; /* 64 large runs: about 32 MiB */
#define FREED ((size_t)COUNT * BLOCK)

/* Sets the options and starts from nothing retained, so no deadline
 * computed with the default decay time is pending. */
static void start_with(uint64_t decay_ms, uint64_t background_thread) {
  _pm_options.decay_ms = decay_ms;
  _pm_options.background_thread = background_thread;
  pm_trim(0);
}

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* When free_resident_memory began to free (clock ms). */
static uint64_t frees_began_ms;

/* Allocates and touches FREED bytes, frees them; returns the RSS before the
 * free. */
static size_t free_resident_memory(void) {
  void *blocks[COUNT];
  for (int i = 0; i < COUNT; i++) {
    blocks[i] = pm_malloc(BLOCK);
    cr_assert_not_null(blocks[i]);
    memset(blocks[i], 0x5a, BLOCK);
  }
  size_t rss = _pm_prim_rss();
  frees_began_ms = _pm_prim_clock_ms();
  for (int i = 0; i < COUNT; i++)
    pm_free(blocks[i]);
  return rss;
}

/* Sleeps twice the decay time, then (on a loaded machine) up to a few
 * seconds more until the memory is released; never calls malloc. */
static pm_stats_t idle_until_released(uint64_t released_before) {
  sleep_ms((long)_pm_options.decay_ms * 2);
  pm_stats_t now = pm_test_stats();
  for (int i = 0; i < 100 && now.released_bytes - released_before < FREED / 4 * 3; i++) {
    sleep_ms(50);
    now = pm_test_stats();
  }
  return now;
}

Test(alloc_background, idle_program_gets_memory_back) {
  start_with(100, 1);
  pm_stats_t before = pm_test_stats();
  size_t rss_full = free_resident_memory();
  size_t retained = pm_test_stats().retained_bytes;
  if (pm_test_within_half_decay(frees_began_ms))
    cr_assert_geq(retained, FREED, "kept resident at first");
  pm_stats_t after = idle_until_released(before.released_bytes);
  cr_assert_geq(after.released_bytes - before.released_bytes, FREED / 4 * 3,
                "released %zu bytes while idle", after.released_bytes - before.released_bytes);
  size_t rss_idle = _pm_prim_rss();
  cr_assert_lt(rss_idle + ((size_t)20 << 20), rss_full, "RSS dropped from %zu to %zu", rss_full,
               rss_idle);
}

/* The process's threads; 0 if unreadable. */
static long thread_count(void) {
  char state;
  long threads;
  return _pm_prim_process_threads(&state, &threads) ? threads : 0;
}

/* The background thread stays longer than the 1 s of idleness after
 * which it used to end, also when woken while idle (it then looks whether
 * to end): ending would bring glibc's thread-exit cleanup code into the
 * process's RSS. */
Test(alloc_background, idle_thread_stays_while_the_main_thread_runs) {
  start_with(100, 1);
  pm_stats_t before = pm_test_stats();
  free_resident_memory();
  idle_until_released(before.released_bytes);
  long threads = thread_count();
  cr_assert_geq(threads, 2, "the background thread runs (%ld threads)", threads);
  /* Woken, the idle thread looks at once whether it should end. */
  _pm_background_kick(true);
  sleep_ms(2500);
  cr_assert_eq(thread_count(), threads, "the idle background thread is still there");
}

/* Polls _pm_prim_last_thread for up to 5 s until it reads want. */
static bool last_thread_becomes(bool want) {
  for (int i = 0; i < 200; i++) {
    if ((_pm_prim_last_thread() > 0) == want) return true;
    sleep_ms(25);
  }
  return false;
}

/* The forked child's second thread, which runs until its pipe is written
 * to, and that pipe. */
typedef struct other_thread_s {
  pthread_t thread;
  int fds[2];
} other_thread_t;

static void *wait_on_pipe(void *arg) {
  char byte;
  return (void *)(intptr_t)read(((other_thread_t *)arg)->fds[0], &byte, 1);
}

/* Reports, by the process's exit status, what it saw: not the last thread
 * while the main thread ran, nor while the other thread still ran after
 * the main thread left; the last one after that thread ended too. */
static void *watch_threads(void *arg) {
  other_thread_t *other = arg;
  bool before = _pm_prim_last_thread() == 0;
  sleep_ms(200); /* the main thread leaves meanwhile */
  bool with_other = _pm_prim_last_thread() == 0;
  bool ended = write(other->fds[1], "x", 1) == 1 && pthread_join(other->thread, NULL) == 0;
  _exit(before && with_other && ended && last_thread_becomes(true) ? 0 : 1);
}

/* What an idle background thread looks at before it ends: in a forked
 * child, the main thread leaves through pthread_exit while two threads
 * run on, and one of them watches. (tests/integration/exit_paths.sh has
 * the process end then.) */
Test(alloc_background, last_thread_is_seen) {
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork failed");
  if (pid == 0) {
    alarm(20);
    /* No background thread of the child's own: it would be one more. */
    _pm_options.background_thread = 0;
    static other_thread_t other;
    pthread_t watcher;
    if (pipe(other.fds) != 0 || pthread_create(&other.thread, NULL, wait_on_pipe, &other) != 0 ||
        pthread_create(&watcher, NULL, watch_threads, &other) != 0)
      _exit(2);
    pthread_exit(NULL);
  }
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the watcher saw itself the last thread only at the end (status %d)", status);
}

/* The main thread's exit hook wakes an idle background thread, which then
 * ends once the main thread has gone, rather than at its next look 30 s
 * later. In a forked child whose thread is idle, the test calls the hook
 * as pthread_exit would, then ends the main thread with the bare system
 * call, which gives nothing back to the allocator (pthread_exit would, and
 * that alone would wake the thread). The parent sees the child end. */
Test(alloc_background, idle_thread_ends_when_told_the_main_thread_left) {
  start_with(100, 1);
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork failed");
  if (pid == 0) {
    pm_stats_t before = pm_test_stats();
    free_resident_memory();
    idle_until_released(before.released_bytes);
    _pm_background_thread_exited(true);
    syscall(SYS_exit, 0);
  }
  int status = 0;
  pid_t ended = 0;
  for (int i = 0; i < 200 && ended == 0; i++) {
    sleep_ms(50);
    ended = waitpid(pid, &status, WNOHANG);
  }
  if (ended == 0) kill(pid, SIGKILL); /* it would end by itself within 30 s */
  cr_assert(ended == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the child ended within 10 s (status %d)", status);
}

Test(alloc_background, forked_child_gets_a_thread_of_its_own) {
  start_with(100, 1);
  free_resident_memory(); /* the parent's thread now exists */
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork failed");
  if (pid == 0) {
    pm_stats_t before = pm_test_stats();
    size_t rss_full = free_resident_memory();
    pm_stats_t after = idle_until_released(before.released_bytes);
    bool released = after.released_bytes - before.released_bytes >= FREED / 4 * 3;
    _exit(released && _pm_prim_rss() + ((size_t)20 << 20) < rss_full ? 0 : 1);
  }
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the child released its idle memory (status %d)", status);
}

enum { ORPHANS = 40000, ORPHAN_SIZE = 48 };

/* Allocates ORPHANS small blocks and exits with them live: its slabs are
 * abandoned, owned by no thread. */
static void *allocate_and_exit(void *out) {
  void **blocks = out;
  for (int i = 0; i < ORPHANS; i++) {
    blocks[i] = pm_malloc(ORPHAN_SIZE);
    cr_assert_not_null(blocks[i]);
  }
  return NULL;
}

/* Another thread frees every block of a thread that exited; then the
 * program sleeps. Nothing else would empty those slabs: the frees
 * themselves schedule the pass that gives them back. */
Test(alloc_background, slabs_emptied_after_their_thread_exited_go_back_while_idle) {
  start_with(100, 1);
  static void *blocks[ORPHANS];
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, allocate_and_exit, blocks), 0);
  pthread_join(thread, NULL);
  size_t size_class = _pm_class_of(ORPHAN_SIZE);
  uint64_t slabs = _pm_pool.slabs[size_class];
  cr_assert_geq(slabs, 20, "the blocks fill %llu slabs", (unsigned long long)slabs);
  for (int i = 0; i < ORPHANS; i++)
    pm_free(blocks[i]);
  for (int i = 0; i < 100 && _pm_pool.slabs[size_class] > 1; i++)
    sleep_ms(50);
  cr_assert_leq(_pm_pool.slabs[size_class], 1, "%llu of %llu slabs left",
                (unsigned long long)_pm_pool.slabs[size_class], (unsigned long long)slabs);
}

/* A child made by _Fork runs no fork handlers: it inherits the state of a
 * running thread it does not have. Its slow paths see the deadline long
 * past and purge. */
Test(alloc_background, child_of_fork_without_handlers_releases_on_slow_paths) {
  start_with(100, 1);
  free_resident_memory(); /* the parent's thread now exists */
  sleep_ms(50);
  pid_t pid = _Fork();
  cr_assert_neq(pid, -1, "_Fork failed");
  if (pid == 0) {
    pm_stats_t before = pm_test_stats();
    free_resident_memory();
    sleep_ms(400);                 /* the deadline and a decay period more */
    for (int i = 0; i < 1024; i++) /* slow paths, each a look in 256 */
      pm_free(pm_malloc((size_t)1 << 20));
    pm_stats_t after = pm_test_stats();
    _exit(after.released_bytes - before.released_bytes >= FREED / 2 ? 0 : 1);
  }
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the child released its idle memory (status %d)", status);
}

Test(alloc_background, disabled_means_release_on_slow_paths_only) {
  start_with(100, 0);
  pm_stats_t before = pm_test_stats();
  free_resident_memory();
  sleep_ms(400);
  pm_stats_t idle = pm_test_stats();
  cr_assert_eq(idle.released_bytes, before.released_bytes, "nothing released while idle");
  cr_assert_geq(idle.retained_bytes, FREED);
  /* The next allocation slow path sees the deadline passed. */
  void *p = pm_malloc((size_t)1 << 20);
  cr_assert_not_null(p);
  pm_stats_t after = pm_test_stats();
  cr_assert_geq(after.released_bytes - before.released_bytes, FREED / 2,
                "released %zu bytes on the slow path",
                after.released_bytes - before.released_bytes);
  pm_free(p);
}

/* A child made by _Fork inherits held the locks its parent's threads held
 * at that moment, and no unlock will come: it stops with a message naming
 * the way out rather than sleep for ever. */
Test(alloc_background, child_of_fork_without_handlers_stops_on_a_lock_held_at_the_fork) {
  start_with(100, 1);
  int pipe_fds[2];
  cr_assert_eq(pipe(pipe_fds), 0);
  _pm_lock(&_pm_pages_lock); /* as the background thread's purge would hold it */
  pid_t pid = _Fork();
  cr_assert_neq(pid, -1, "_Fork failed");
  if (pid == 0) {
    dup2(pipe_fds[1], 2);
    alarm(20); /* a child that sleeps on the lock ends by SIGALRM, and fails the test */
    pm_free(pm_malloc((size_t)1 << 20)); /* a slow path: the pages lock */
    _exit(0);
  }
  _pm_unlock(&_pm_pages_lock);
  close(pipe_fds[1]);
  char message[512] = {0};
  size_t got = 0;
  for (ssize_t n; got < sizeof message - 1 &&
                  (n = read(pipe_fds[0], message + got, sizeof message - 1 - got)) > 0;)
    got += (size_t)n;
  close(pipe_fds[0]);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "the child aborted (status %d)",
            status);
  cr_assert(strncmp(message, "poolmalloc: a child of _Fork waits for a lock", 45) == 0 &&
                strstr(message, "background_thread:0") != NULL &&
                strchr(message, '\n') == message + strlen(message) - 1,
            "one line naming the problem and the option: %s", message);
}

/* While the background thread purges with the pages lock dropped, other
 * threads free neighbours of the runs in flight and grow blocks in place
 * next to them: no run being purged is merged or grown into, which would
 * zero a live block's pages. */
enum { CHURN_THREADS = 2, CHURN_BLOCKS = 16 };

typedef struct churn_s {
  unsigned seed;
  size_t unit; /* block sizes are 1-32 units, growth 1-8 */
} churn_t;

static void *churn_large_blocks(void *churn_arg) {
  const churn_t *churn = churn_arg;
  unsigned seed = churn->seed;
  size_t unit = churn->unit;
  uint8_t *blocks[CHURN_BLOCKS] = {0};
  size_t sizes[CHURN_BLOCKS] = {0};
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  uintptr_t broken = 0;
  do {
    for (int round = 0; round < 16 && !broken; round++) {
      int i = rand_r(&seed) % CHURN_BLOCKS;
      uint8_t mark = (uint8_t)(i + 1);
      if (blocks[i] != NULL) {
        for (size_t at = 0; at < sizes[i]; at += 4096)
          if (blocks[i][at] != mark || blocks[i][sizes[i] - 1] != mark) broken = 1;
        if (rand_r(&seed) % 2 == 0) { /* grow: in place when the next run is free */
          size_t grown = sizes[i] + unit * (size_t)(1 + rand_r(&seed) % 8);
          uint8_t *moved = pm_realloc(blocks[i], grown);
          if (moved == NULL) return (void *)2;
          memset(moved + sizes[i], mark, grown - sizes[i]);
          blocks[i] = moved;
          sizes[i] = grown;
          continue;
        }
        pm_free(blocks[i]);
      }
      sizes[i] = unit * (size_t)(1 + rand_r(&seed) % 32);
      blocks[i] = pm_malloc(sizes[i]);
      if (blocks[i] == NULL) return (void *)2;
      memset(blocks[i], mark, sizes[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (!broken && now.tv_sec - start.tv_sec < 2);
  for (int i = 0; i < CHURN_BLOCKS; i++)
    pm_free(blocks[i]);
  return (void *)broken;
}

/* Runs the churn on CHURN_THREADS threads with blocks of 1-32 units. */
static void churn_beside_purges(size_t unit) {
  start_with(1, 1); /* the thread purges every millisecond or so */
  free_resident_memory();
  pthread_t threads[CHURN_THREADS];
  churn_t churns[CHURN_THREADS];
  for (unsigned t = 0; t < CHURN_THREADS; t++) {
    churns[t] = (churn_t){.seed = t + 1, .unit = unit};
    cr_assert_eq(pthread_create(&threads[t], NULL, churn_large_blocks, &churns[t]), 0);
  }
  uint64_t released_before = pm_test_stats().released_bytes;
  for (int t = 0; t < CHURN_THREADS; t++) {
    void *result;
    pthread_join(threads[t], &result);
    cr_assert_null(result, "thread %d: %s", t,
                   (uintptr_t)result == 1 ? "a live block's pages changed" : "out of memory");
  }
  cr_assert_gt(pm_test_stats().released_bytes, released_before, "the thread purged meanwhile");
}

Test(alloc_background, blocks_stay_intact_beside_a_purge_that_drops_the_lock) {
  churn_beside_purges(65536); /* large blocks: runs of the segments */
}

/* Huge blocks, their own mappings: the cached ones are unmapped with the
 * lock dropped, after they left the cache and the registry. */
Test(alloc_background, huge_blocks_stay_intact_beside_unmaps_that_drop_the_lock) {
  churn_beside_purges((size_t)512 << 10); /* 512 KiB-16 MiB: huge past 8 MiB */
}
