/* wl_cache_scratch.c: passive false sharing, after the cache-scratch test of
 * Berger et al., "Hoard: A Scalable Memory Allocator for Multithreaded
 * Applications" (ASPLOS 2000). The main thread allocates one small object
 * per thread (so they sit next to each other, likely in one cache line) and
 * hands one to each thread. Each thread frees it and then repeatedly
 * allocates a small object, writes it many times and frees it. An allocator
 * that gives the freed neighbouring objects back to different threads makes
 * them write to one cache line from several cores. */
#include "bench_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKLOAD             "cache-scratch"
#define OBJECT_SIZE          8
#define ITERATIONS           10000
#define WRITES_PER_ITERATION 4000

typedef struct scratcher_s {
  unsigned char *given; /* allocated by the main thread */
  size_t iterations;
} scratcher_t;

static void *scratcher_run(void *arg) {
  scratcher_t *scratcher = arg;
  free(scratcher->given);
  for (size_t i = 0; i < scratcher->iterations; i++) {
    /* volatile: every write must reach the cache line, as the original's
     * repeated stores do. */
    volatile unsigned char *object = bench_malloc(WORKLOAD, OBJECT_SIZE);
    for (size_t k = 0; k < OBJECT_SIZE; k++)
      object[k] = 0;
    for (size_t w = 0; w < WRITES_PER_ITERATION; w++)
      for (size_t k = 0; k < OBJECT_SIZE; k++)
        object[k]++;
    for (size_t k = 0; k < OBJECT_SIZE; k++)
      if (object[k] != (unsigned char)WRITES_PER_ITERATION)
        bench_fail(WORKLOAD, "object %p lost writes: another thread shares it", (void *)object);
    free((void *)object);
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t args = bench_parse_args(argc, argv, 1);
  size_t iterations = bench_scaled(ITERATIONS, args.scale, 10);
  scratcher_t *scratchers = bench_calloc(WORKLOAD, args.threads, sizeof *scratchers);
  pthread_t *threads = bench_calloc(WORKLOAD, args.threads, sizeof *threads);

  for (unsigned t = 0; t < args.threads; t++) {
    scratchers[t].given = bench_malloc(WORKLOAD, OBJECT_SIZE);
    scratchers[t].iterations = iterations;
  }
  bench_threads_start(WORKLOAD, threads, args.threads, scratcher_run, scratchers,
                      sizeof *scratchers);
  bench_threads_join(threads, args.threads);
  free(scratchers);
  free(threads);
  printf("threads=%u iterations=%zu\n", args.threads, iterations);
  bench_report_rss();
  return 0;
}
