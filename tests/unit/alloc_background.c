/* alloc_background.c: the background release thread gives idle memory back
 * while the program sleeps without calling malloc, also in a forked child;
 * idle, it stays while the main thread runs; background_thread:0 restores
 * the lazy checks on slow paths. */
#include <pthread.h>
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
  cr_assert_geq(pm_test_stats().retained_bytes, FREED, "kept resident at first");
  pm_stats_t after = idle_until_released(before.released_bytes);
  cr_assert_geq(after.released_bytes - before.released_bytes, FREED / 4 * 3,
                "released %zu bytes while idle", after.released_bytes - before.released_bytes);
  size_t rss_idle = _pm_prim_rss();
  cr_assert_lt(rss_idle + ((size_t)20 << 20), rss_full, "RSS dropped from %zu to %zu", rss_full,
               rss_idle);
}

/* The process's live threads (field 20 of /proc/self/stat), read without
 * allocating: the caller may have handed its heap back. 0 if unreadable. */
static int thread_count(void) {
  char text[1024];
  int fd = open("/proc/self/stat", O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  /* Fields 3 on follow the command name's closing parenthesis. */
  char *field = strrchr(text, ')');
  for (int i = 2; field != NULL && i < 20; i++)
    field = strchr(field + 1, ' ');
  return field != NULL ? atoi(field + 1) : 0;
}

/* The background thread waits longer than its idle period (decay.c's
 * BACKGROUND_IDLE_MS, 1 s): ending would bring glibc's thread-exit cleanup
 * code into the process's RSS. */
Test(alloc_background, idle_thread_stays_while_the_main_thread_runs) {
  start_with(100, 1);
  pm_stats_t before = pm_test_stats();
  free_resident_memory();
  idle_until_released(before.released_bytes);
  int threads = thread_count();
  cr_assert_geq(threads, 2, "the background thread runs (%d threads)", threads);
  sleep_ms(2500);
  cr_assert_eq(thread_count(), threads, "the idle background thread is still there");
}

/* Reports, by the exit status of the process, whether it saw the main
 * thread running first and gone after it left through pthread_exit. */
static void *watch_main_thread(void *running_before) {
  bool gone = false;
  for (int i = 0; i < 200 && !gone; i++) {
    sleep_ms(25);
    gone = !_pm_prim_main_thread_running();
  }
  _exit(*(bool *)running_before && gone ? 0 : 1);
}

/* What an idle background thread looks at before it ends: in a forked
 * child, the main thread leaves through pthread_exit and another thread
 * watches. (tests/integration/exit_paths.sh has the process end then.) */
Test(alloc_background, main_thread_leaving_is_seen) {
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork failed");
  if (pid == 0) {
    alarm(20);
    static bool running_before;
    running_before = _pm_prim_main_thread_running();
    pthread_t watcher;
    if (pthread_create(&watcher, NULL, watch_main_thread, &running_before) != 0) _exit(2);
    pthread_exit(NULL);
  }
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the watcher saw the main thread running, then gone (status %d)", status);
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
