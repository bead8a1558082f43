/* alloc_stats.c: the counters move as blocks come and go, and both output
 * formats carry the same keys (the JSON one is also checked by a parser in
 * alloc_preload.sh). */
#include <pthread.h>
#include <stdlib.h>

#include "alloc_test.h"

TestSuite(alloc_stats, .timeout = 30);

Test(alloc_stats, counters_follow_allocations) {
  pm_stats_t before = pm_test_stats();
  void *small = pm_malloc(100);
  void *large = pm_malloc(100000);
  void *huge = pm_malloc(PM_TEST_HUGE_SIZE);
  pm_stats_t during = pm_test_stats();
  cr_assert_eq(during.total_allocations - before.total_allocations, 3);
  cr_assert_eq(during.allocated_bytes - before.allocated_bytes,
               pm_usable_size(small) + pm_usable_size(large) + pm_usable_size(huge));
  cr_assert_geq(during.peak_allocated_bytes, during.allocated_bytes);
  cr_assert_geq(during.mapped_bytes, during.allocated_bytes);
  cr_assert_float_eq(during.fragmentation,
                     1.0 - (double)during.allocated_bytes / (double)during.mapped_bytes, 1e-9);
  cr_assert_eq(during.class_count, PM_CLASS_COUNT);
  size_t c = _pm_class_of(100);
  cr_assert_eq(during.classes[c].block_size, 112);
  cr_assert_eq(during.classes[c].live_blocks - before.classes[c].live_blocks, 1);
  pm_free(small);
  pm_free(large);
  pm_free(huge);
  pm_stats_t after = pm_test_stats();
  cr_assert_eq(after.total_frees - before.total_frees, 3);
  cr_assert_eq(after.allocated_bytes, before.allocated_bytes);
  cr_assert_geq(after.peak_allocated_bytes, during.allocated_bytes, "the peak stays");
}

Test(alloc_stats, reuse_is_counted) {
  void *p = pm_malloc(5000);
  pm_free(p);
  pm_stats_t before = pm_test_stats();
  enum { COUNT = 1000 };
  for (int i = 0; i < COUNT; i++)
    pm_free(pm_malloc(5000));
  pm_stats_t after = pm_test_stats();
  /* The class's first empties give its slab back (idle.c), and the
   * blocks of the next slab count as fresh. */
  cr_assert_geq(after.reuse_count - before.reuse_count, COUNT - PM_COLD_EMPTIES - 1,
                "freed blocks served again");
  cr_assert_float_eq(after.reuse_rate, (double)after.reuse_count / (double)after.total_allocations,
                     1e-9);
  cr_assert_eq(pm_stats(NULL), -1);
}

/* Small blocks are carved a page at a time: a slab that starts over
 * (idle.c) carves again blocks it handed out before, which are not fresh,
 * so only a page's batch per slab may count as fresh before it is used:
 * the thread's slab, and the test runner's slab of the class, whose
 * unused batch the totals no longer hide once this thread's allocations
 * outnumber it. */
enum { REUSE_COUNT = 10000, REUSE_SIZE = 16 };

static void *ping_pong(void *reuse) {
  pm_stats_t before = pm_test_stats();
  for (int i = 0; i < REUSE_COUNT; i++)
    pm_free(pm_malloc(REUSE_SIZE));
  pm_stats_t after = pm_test_stats();
  *(uint64_t *)reuse = after.reuse_count - before.reuse_count;
  return NULL;
}

Test(alloc_stats, reuse_of_small_blocks_survives_start_overs) {
  /* In a new thread: its heap's class has not yet started over (the test
   * runner's own allocations may have made it hot in this one). */
  uint64_t reuse = 0;
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, ping_pong, &reuse), 0);
  pthread_join(thread, NULL);
  cr_assert_geq(reuse, REUSE_COUNT - 2 * PM_PAGE_SIZE / REUSE_SIZE, "reuse %llu of %d allocations",
                (unsigned long long)reuse, REUSE_COUNT);
}

/* Writes the stats in one format to a temporary file and returns it. */
static char *stats_text(pm_stats_format_t format) {
  char path[] = "/tmp/pm-stats-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  unlink(path);
  cr_assert_eq(pm_stats_print(fd, format), 0);
  off_t size = lseek(fd, 0, SEEK_END);
  char *text = calloc(1, (size_t)size + 1);
  cr_assert_eq(pread(fd, text, (size_t)size, 0), size);
  close(fd);
  return text;
}

Test(alloc_stats, text_and_json_carry_the_same_keys) {
  void *keep = pm_malloc(300);
  char *json = stats_text(PM_STATS_JSON);
  char *text = stats_text(PM_STATS_TEXT);
  static const char *keys[] = {
      "allocated_bytes", "peak_allocated_bytes", "mapped_bytes", "released_bytes",
      "retained_bytes",  "total_allocations",    "total_frees",  "reuse_count",
      "reuse_rate",      "fragmentation",        "classes",      "arenas",
      "block_size",      "live_blocks",          "slab_bytes"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    /* Text shows a key as "key: value" on its own line, or as "key=value"
     * inside the one-line row of an array element. */
    char quoted[64], line[64], row[64];
    snprintf(quoted, sizeof quoted, "\"%s\": ", keys[i]);
    snprintf(line, sizeof line, " %s:", keys[i]);
    snprintf(row, sizeof row, " %s=", keys[i]);
    cr_assert_not_null(strstr(json, quoted), "JSON lacks %s", keys[i]);
    cr_assert(strstr(text, line) != NULL || strstr(text, row) != NULL, "text lacks %s", keys[i]);
  }
  cr_assert_eq(json[0], '{');
  cr_assert_str_eq(json + strlen(json) - 2, "}\n");
  free(json);
  free(text);
  pm_free(keep);
}

Test(alloc_stats, print_reports_write_errors) {
  errno = 0;
  cr_assert_eq(pm_stats_print(-1, PM_STATS_JSON), -1);
  cr_assert_eq(errno, EBADF);
  cr_assert_eq(pm_stats_print(1, (pm_stats_format_t)7), -1);
  cr_assert_eq(errno, EINVAL);
}

Test(alloc_stats, peak_covers_small_blocks) {
  enum { COUNT = 20000 };
  static void *blocks[COUNT];
  pm_stats_t before = pm_test_stats();
  for (int i = 0; i < COUNT; i++)
    blocks[i] = pm_malloc(100);
  for (int i = 0; i < COUNT; i++)
    pm_free(blocks[i]);
  pm_stats_t after = pm_test_stats();
  /* Sampled when slabs are taken: at most one slab short of the truth. */
  cr_assert_geq(after.peak_allocated_bytes + PM_SLAB_SIZE,
                before.allocated_bytes + (size_t)COUNT * 112, "peak %zu",
                after.peak_allocated_bytes);
}

/* Growth in place takes no block from the pool but raises what it has
 * handed out, so it is sampled as a new block is (pm_stats, which samples
 * too, comes only after the block has shrunk back). */
Test(alloc_stats, peak_covers_growth_in_place) {
  enum { SMALL = 20000, GROWN = 7000000, ROOM_PAGES = 1800 };
  void *fences[2];
  uint8_t *room = pm_test_free_run_between(ROOM_PAGES, 8, fences);
  /* The room's first use set the peak: a huge block (a mapping of its own,
   * which leaves the room alone) puts the growth above it. */
  void *held = pm_malloc(PM_TEST_HUGE_SIZE);
  size_t before = pm_test_stats().allocated_bytes;
  void *block = pm_malloc(SMALL);
  cr_assert_eq(block, room, "the block starts the free run");
  cr_assert_eq(pm_realloc(block, GROWN), block, "and grows into it in place");
  cr_assert_eq(pm_realloc(block, SMALL), block);
  pm_stats_t after = pm_test_stats();
  cr_assert_geq(after.peak_allocated_bytes, before + GROWN, "large: peak %zu",
                after.peak_allocated_bytes);
  pm_free(block);
  pm_free(held);
  pm_free(fences[0]);
  pm_free(fences[1]);
  enum { HUGE_GROWN = 200 << 20 };
  before = pm_test_stats().allocated_bytes;
  block = pm_malloc(PM_TEST_HUGE_SIZE);
  block = pm_realloc(block, HUGE_GROWN); /* mremap */
  block = pm_realloc(block, PM_TEST_HUGE_SIZE);
  after = pm_test_stats();
  cr_assert_geq(after.peak_allocated_bytes, before + HUGE_GROWN, "huge: peak %zu",
                after.peak_allocated_bytes);
  pm_free(block);
}

/* Big blocks taken again after small ones grew: their own earlier high
 * is not reached, but with the small ones they make a new peak. (Blocks
 * served from the thread's cache of large blocks are not sampled: the
 * cache is off here.) */
Test(alloc_stats, peak_covers_big_blocks_on_top_of_small_growth) {
  enum { BIG = 5, BIG_SIZE = 2 << 20, SMALL = 40000, SMALL_SIZE = 128 };
  static void *small[SMALL];
  void *big[BIG];
  _pm_options.large_cache = 0;
  size_t before = pm_test_stats().allocated_bytes;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < BIG; i++)
      big[i] = pm_malloc(BIG_SIZE);
    for (int i = 0; i < BIG; i++)
      pm_free(big[i]);
    for (int i = 0; round == 0 && i < SMALL; i++)
      small[i] = pm_malloc(SMALL_SIZE);
  }
  pm_stats_t after = pm_test_stats();
  size_t truth = before + (size_t)BIG * BIG_SIZE + (size_t)SMALL * SMALL_SIZE;
  cr_assert_geq(after.peak_allocated_bytes + PM_SLAB_SIZE, truth, "peak %zu, truth %zu",
                after.peak_allocated_bytes, truth);
  for (int i = 0; i < SMALL; i++)
    pm_free(small[i]);
}

/* In the capturing child: statistics to a stats_file of 127 "%p", which
 * fits as written (254 bytes) but not expanded, when the pid has three
 * digits or more; exits 77 (skip) for a smaller pid, whose expansion is
 * never longer than "%p" itself. */
static void print_to_an_overlong_path(void *unused) {
  (void)unused;
  if (getpid() < 100) _exit(77);
  _pm_options.stats = PM_STATS_MODE_TEXT;
  size_t len = 0;
  while (len + 2 < sizeof _pm_options.stats_file) {
    memcpy(_pm_options.stats_file + len, "%p", 2);
    len += 2;
  }
  _pm_options.stats_file[len] = '\0';
  _pm_stats_print_at_exit();
}

/* A stats_file pattern whose %p expansions overflow the 255-byte limit is
 * refused with a warning, and the statistics go to stderr. */
Test(alloc_stats, an_overlong_stats_file_path_falls_back_to_stderr) {
  char out[8192];
  int status;
  pm_test_capture(print_to_an_overlong_path, NULL, out, sizeof out, &status);
  cr_assert(WIFEXITED(status), "the child exited");
  if (WEXITSTATUS(status) == 77) cr_skip_test("the pid has fewer than three digits");
  cr_assert_eq(WEXITSTATUS(status), 0);
  const char *warning = "poolmalloc: the stats file path is too long once %p is replaced: %p%p";
  cr_assert_eq(strncmp(out, warning, strlen(warning)), 0, "got: %.200s", out);
  cr_assert_not_null(strstr(out, "; writing to stderr\n"));
  cr_assert_not_null(strstr(out, "mapped"), "the statistics follow on stderr");
}

/* In the capturing child: statistics to a file that opens but takes no
 * byte (ENOSPC). */
static void print_to_a_full_device(void *unused) {
  (void)unused;
  _pm_options.stats = PM_STATS_MODE_JSON;
  strcpy(_pm_options.stats_file, "/dev/full");
  _pm_stats_print_at_exit();
}

Test(alloc_stats, an_unwritable_stats_file_falls_back_to_stderr) {
  if (access("/dev/full", W_OK) != 0) cr_skip_test("no writable /dev/full");
  char out[8192];
  int status;
  pm_test_capture(print_to_a_full_device, NULL, out, sizeof out, &status);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child exited");
  const char *warning = "poolmalloc: cannot write the stats file /dev/full; writing to stderr\n";
  cr_assert_eq(strncmp(out, warning, strlen(warning)), 0, "got: %.200s", out);
  cr_assert_not_null(strstr(out, "\"mapped_bytes\""), "the statistics follow on stderr");
}
