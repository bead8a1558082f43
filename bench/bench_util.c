/* bench_util.c: helpers shared by the allocator benchmark programs (see
 * bench_util.h). */
#define _GNU_SOURCE
#include "bench_util.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE_STRIDE 4096
#define EDGE_BYTES  16

bench_args_t bench_parse_args(int argc, char **argv, unsigned threads_per_core) {
  bench_args_t args = {0, 1.0};
  if (argc > 3) bench_fail(argv[0], "usage: %s [THREADS [SCALE]]", argv[0]);
  if (argc > 1) {
    char *end = NULL;
    long threads = strtol(argv[1], &end, 10);
    if (*end != '\0' || threads < 0 || threads > 1024)
      bench_fail(argv[0], "THREADS must be 0..1024, got '%s'", argv[1]);
    args.threads = (unsigned)threads;
  }
  if (argc > 2) {
    char *end = NULL;
    args.scale = strtod(argv[2], &end);
    if (*end != '\0' || !(args.scale > 0.0 && args.scale <= 100.0))
      bench_fail(argv[0], "SCALE must be in (0, 100], got '%s'", argv[2]);
  }
  if (args.threads == 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    args.threads = threads_per_core * (unsigned)(cores > 0 ? cores : 1);
  }
  return args;
}

size_t bench_scaled(size_t base, double scale, size_t minimum) {
  size_t scaled = (size_t)((double)base * scale);
  return scaled < minimum ? minimum : scaled;
}

static inline unsigned char pattern_byte(uint64_t tag, size_t offset) {
  return (unsigned char)((tag * 31u) ^ (offset * 7u) ^ (offset >> 12));
}

/* Writes (write != 0) or checks the bytes bench_fill covers. Only the edges
 * and one byte per page are covered so the pattern work stays small next to
 * the allocator work being measured. Returns the offset of the first byte
 * that differs, or size when none does. */
static size_t pattern_walk(unsigned char *bytes, size_t size, uint64_t tag, int write) {
  size_t offset = 0;
  for (; offset < size; offset++) {
    /* Past the head and before the tail only one byte per page. */
    if (offset == EDGE_BYTES && size > 4 * EDGE_BYTES) {
      size_t next = (offset / PAGE_STRIDE + 1) * PAGE_STRIDE;
      while (next < size - EDGE_BYTES) {
        if (write)
          bytes[next] = pattern_byte(tag, next);
        else if (bytes[next] != pattern_byte(tag, next))
          return next;
        next += PAGE_STRIDE;
      }
      offset = size - EDGE_BYTES;
    }
    if (write)
      bytes[offset] = pattern_byte(tag, offset);
    else if (bytes[offset] != pattern_byte(tag, offset))
      return offset;
  }
  return size;
}

void bench_fill(void *block, size_t size, uint64_t tag) {
  pattern_walk(block, size, tag, 1);
}

void bench_verify(const char *workload, const void *block, size_t size, uint64_t tag) {
  size_t bad = pattern_walk((unsigned char *)block, size, tag, 0);
  if (bad != size)
    bench_fail(workload, "corrupted block %p (size %zu): byte %zu differs from what was written",
               block, size, bad);
}

void bench_fail(const char *workload, const char *format, ...) {
  va_list list;
  va_start(list, format);
  fprintf(stderr, "%s: FAIL: ", workload);
  vfprintf(stderr, format, list);
  fputc('\n', stderr);
  va_end(list);
  exit(2);
}

void *bench_malloc(const char *workload, size_t size) {
  void *block = malloc(size);
  if (block == NULL) bench_fail(workload, "malloc(%zu) returned NULL", size);
  return block;
}

void bench_slot_allocate(const char *workload, bench_slot_t *slot, size_t size, uint64_t tag) {
  slot->block = bench_malloc(workload, size);
  slot->size = size;
  slot->tag = tag;
  bench_fill(slot->block, size, tag);
}

void bench_slot_release(const char *workload, bench_slot_t *slot) {
  bench_verify(workload, slot->block, slot->size, slot->tag);
  free(slot->block);
  slot->block = NULL;
  slot->size = 0;
}

void bench_threads_start(const char *workload, pthread_t *threads, unsigned count,
                         void *(*body)(void *), void *items, size_t item_size) {
  for (unsigned i = 0; i < count; i++)
    if (pthread_create(&threads[i], NULL, body, (char *)items + i * item_size) != 0)
      bench_fail(workload, "pthread_create failed for thread %u of %u", i + 1, count);
}

void bench_threads_join(pthread_t *threads, unsigned count) {
  for (unsigned i = 0; i < count; i++)
    pthread_join(threads[i], NULL);
}

void *bench_calloc(const char *workload, size_t count, size_t size) {
  void *block = calloc(count, size);
  if (block == NULL) bench_fail(workload, "calloc(%zu, %zu) returned NULL", count, size);
  return block;
}

void *bench_calloc_lines(const char *workload, size_t count, size_t size) {
  if (size % BENCH_CACHE_LINE != 0 || (count != 0 && size > SIZE_MAX / count))
    bench_fail(workload, "bench_calloc_lines(%zu, %zu): not whole cache lines", count, size);
  /* posix_memalign rather than aligned_alloc: Debian's mimalloc 2.0.9
   * returns misaligned blocks from aligned_alloc (the aligned workload). */
  void *block = NULL;
  int error = posix_memalign(&block, BENCH_CACHE_LINE, count * size);
  if (error != 0)
    bench_fail(workload, "posix_memalign(%d, %zu) failed", BENCH_CACHE_LINE, count * size);
  memset(block, 0, count * size);
  return block;
}

/* Reads fields of /proc/self/status (KiB) in one pass, so that they
 * describe the same moment; a field not found reads -1. */
static void status_fields_kb(const char *const fields[], long kb[], size_t count) {
  for (size_t i = 0; i < count; i++)
    kb[i] = -1;
  FILE *status = fopen("/proc/self/status", "r");
  if (status == NULL) return;
  char line[256];
  while (fgets(line, sizeof line, status) != NULL) {
    for (size_t i = 0; i < count; i++) {
      size_t length = strlen(fields[i]);
      if (strncmp(line, fields[i], length) == 0 && line[length] == ':')
        kb[i] = strtol(line + length + 1, NULL, 10);
    }
  }
  fclose(status);
}

/* "rss_WHEN_kb=N" (VmRSS) and its anonymous part "anon_WHEN_kb=N" (RssAnon). */
static void print_rss(const char *when) {
  static const char *const fields[] = {"VmRSS", "RssAnon"};
  long kb[2];
  status_fields_kb(fields, kb, 2);
  printf("rss_%s_kb=%ld\nanon_%s_kb=%ld\n", when, kb[0], when, kb[1]);
}

/* An allocator that defers release (libpoolmalloc's decay, jemalloc's)
 * gives memory back some time after the frees; the runner asks for a settle
 * time (BENCH_SETTLE_MS) before RSS is read and subtracts it from the wall
 * time, which it reads back from "settle_s". */
static void settle(void) {
  const char *text = getenv("BENCH_SETTLE_MS");
  long ms = text != NULL ? strtol(text, NULL, 10) : 0;
  if (ms <= 0) return;
  struct timespec start, end, pause = {ms / 1000, (ms % 1000) * 1000000L};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (nanosleep(&pause, &pause) != 0) {
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("settle_s=%.6f\n",
         (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
}

void bench_report_rss(void) {
  static const char *const peak_field[] = {"VmHWM"};
  long peak_kb;
  status_fields_kb(peak_field, &peak_kb, 1);
  printf("peak_rss_kb=%ld\n", peak_kb);
  settle();
  print_rss("after_free");
  const char *trim = getenv("BENCH_TRIM");
  if (trim != NULL && strcmp(trim, "1") == 0) {
    malloc_trim(0);
    print_rss("after_trim");
  }
  fflush(stdout);
}
