/* alloc_test.h: helpers shared by the allocator's white-box tests, which link
 * the library's own objects and so reach its internal _pm_ state. */
#ifndef PM_ALLOC_TEST_H
#define PM_ALLOC_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* Runs fn(arg) in a child whose stderr goes to a pipe; returns what the
 * child wrote and stores its wait status. */
static inline void pm_test_capture(void (*fn)(void *), void *arg, char *out, size_t out_size,
                                   int *status) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0, "pipe failed");
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork failed");
  if (pid == 0) {
    /* A child that hangs (a regression in what it tests) ends by SIGALRM and
     * fails the test, rather than spinning on after Criterion's timeout. */
    alarm(20);
    dup2(fds[1], 2);
    close(fds[0]);
    fn(arg);
    _exit(0);
  }
  close(fds[1]);
  size_t len = 0;
  ssize_t n;
  while (len + 1 < out_size && (n = read(fds[0], out + len, out_size - 1 - len)) > 0)
    len += (size_t)n;
  out[len] = '\0';
  close(fds[0]);
  waitpid(pid, status, 0);
}

/* A block past the page-run limit: a mapping of its own. */
#define PM_TEST_HUGE_SIZE (PM_LARGE_MAX + ((size_t)1 << 20))

/* How many of the pages pages from start (page-aligned) are resident. */
static inline size_t pm_test_resident_pages(const void *start, size_t pages) {
  unsigned char vector[64];
  size_t resident = 0;
  for (size_t done = 0; done < pages; done += sizeof vector) {
    size_t chunk = pages - done < sizeof vector ? pages - done : sizeof vector;
    const uint8_t *from = (const uint8_t *)start + done * PM_PAGE_SIZE;
    cr_assert_eq(mincore((void *)from, chunk * PM_PAGE_SIZE, vector), 0, "mincore failed");
    for (size_t i = 0; i < chunk; i++)
      resident += vector[i] & 1;
  }
  return resident;
}

/* Whether this process wrote the page at addr: present and mapped by it
 * alone. A page that was only read maps the shared zero page, which is
 * neither, and counts in no one's RSS. */
static inline bool pm_test_page_written(const void *addr) {
  int fd = open("/proc/self/pagemap", O_RDONLY);
  cr_assert_geq(fd, 0, "cannot open /proc/self/pagemap");
  uint64_t entry = 0;
  off_t at = (off_t)((uintptr_t)addr / PM_PAGE_SIZE * sizeof entry);
  ssize_t n = pread(fd, &entry, sizeof entry, at);
  close(fd);
  cr_assert_eq(n, (ssize_t)sizeof entry, "cannot read /proc/self/pagemap");
  return (entry >> 63 & 1) != 0 && (entry >> 56 & 1) != 0;
}

/* Reads the options, then postpones decay and releases what is retained:
 * the test starts with no resident free run, and the runs it frees stay
 * resident, so it knows which run the next requests get. */
static inline void pm_test_no_free_runs(void) {
  pm_free(pm_malloc(1));
  _pm_options.decay_ms = 60000;
  /* and frees go straight to the pool, not to this thread's cache */
  _pm_options.large_cache = 0;
  pm_trim(0);
}

/* Leaves a free run of `pages` pages between two live blocks of
 * fence_pages each (returned in fences) and returns its start, the only
 * resident free run (pm_test_no_free_runs). The three are carved in turn
 * from the start of one freed block, the only dirty run, which requests
 * take before clean ones. */
static inline uint8_t *pm_test_free_run_between(size_t pages, size_t fence_pages, void *fences[2]) {
  pm_test_no_free_runs();
  pm_free(pm_malloc((pages + 2 * fence_pages) * PM_PAGE_SIZE));
  fences[0] = pm_malloc(fence_pages * PM_PAGE_SIZE);
  uint8_t *run = pm_malloc(pages * PM_PAGE_SIZE);
  fences[1] = pm_malloc(fence_pages * PM_PAGE_SIZE);
  cr_assert(run == (uint8_t *)fences[0] + fence_pages * PM_PAGE_SIZE &&
                (uint8_t *)fences[1] == run + pages * PM_PAGE_SIZE,
            "the fences and the run are carved in order from one freed block");
  pm_free(run);
  return run;
}

/* The slab descriptor of a small block. */
static inline pm_span_t *pm_test_slab_of(const void *block) {
  return _pm_slab_candidate(_pm_span_segment_lookup(block), block);
}

/* The descriptor of the page pages past the head of span, in its segment
 * (descriptors are not contiguous: see _pm_segment_span). */
static inline pm_span_t *pm_test_span_after(const pm_span_t *span, size_t pages) {
  pm_segment_t *segment = _pm_segment_of_span(span);
  return _pm_segment_span(segment, _pm_span_page(segment, span) + pages);
}

static inline pm_stats_t pm_test_stats(void) {
  pm_stats_t s;
  cr_assert_eq(pm_stats(&s), 0, "pm_stats failed");
  return s;
}

/* Whether a check that freed memory is still held, made after since_ms
 * (the clock read before the frees), means anything: with a short decay
 * time, a test that the machine stalls for that long finds the memory
 * purged already. Checked after the check's own reading. */
static inline bool pm_test_within_half_decay(uint64_t since_ms) {
  return _pm_prim_clock_ms() - since_ms < _pm_options.decay_ms / 2;
}

#endif /* PM_ALLOC_TEST_H */
