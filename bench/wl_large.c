/* wl_large.c: large blocks of 64 KiB to 8 MiB whose pages are all touched,
 * as buffers for images, tensors or I/O are. Sizes are log-uniform so each
 * size class of large block is exercised. A held set of blocks stays live
 * while transient blocks come and go; every few operations a held block is
 * replaced. This measures how the allocator maps, caches and returns large
 * blocks, and what that costs in page faults and RSS.
 *
 * With THREADS above 1 (the large-threads workload) each thread runs the
 * same pattern on its own blocks at once, as the workers of a thread pool
 * handling requests do: then what also counts is whether large blocks share
 * one lock. With one thread the pattern runs on the main thread. */
#include "bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKLOAD      "large"
#define HELD_BLOCKS   16
#define OPERATIONS    4000
#define REPLACE_EVERY 4
#define MIN_SIZE      (64.0 * 1024)
#define MAX_SIZE      (8.0 * 1024 * 1024)

typedef struct large_worker_s {
  BENCH_THREAD_STATE uint64_t rng;
  size_t operations;
} large_worker_t;

static size_t size_draw(uint64_t *rng) {
  double unit = (double)(bench_rng_next(rng) >> 11) / 9007199254740992.0; /* [0, 1) */
  return (size_t)(MIN_SIZE * exp(unit * log(MAX_SIZE / MIN_SIZE)));
}

static void *worker_run(void *arg) {
  large_worker_t *worker = arg;
  bench_slot_t held[HELD_BLOCKS];
  for (size_t i = 0; i < HELD_BLOCKS; i++)
    bench_slot_allocate(WORKLOAD, &held[i], size_draw(&worker->rng), i);
  for (size_t op = 0; op < worker->operations; op++) {
    uint64_t tag = HELD_BLOCKS + op;
    if (op % REPLACE_EVERY == 0) {
      bench_slot_t *slot = &held[bench_rng_next(&worker->rng) % HELD_BLOCKS];
      bench_slot_release(WORKLOAD, slot);
      bench_slot_allocate(WORKLOAD, slot, size_draw(&worker->rng), tag);
      continue;
    }
    bench_slot_t transient;
    bench_slot_allocate(WORKLOAD, &transient, size_draw(&worker->rng), tag);
    bench_slot_release(WORKLOAD, &transient);
  }
  for (size_t i = 0; i < HELD_BLOCKS; i++)
    bench_slot_release(WORKLOAD, &held[i]);
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t args = bench_parse_args(argc, argv, 1);
  size_t operations = bench_scaled(OPERATIONS, args.scale, 20);
  large_worker_t *workers = bench_calloc_lines(WORKLOAD, args.threads, sizeof *workers);
  for (unsigned t = 0; t < args.threads; t++)
    workers[t] = (large_worker_t){.rng = 5 + t, .operations = operations};
  if (args.threads == 1) {
    worker_run(&workers[0]);
  } else {
    pthread_t *threads = bench_calloc(WORKLOAD, args.threads, sizeof *threads);
    bench_threads_start(WORKLOAD, threads, args.threads, worker_run, workers, sizeof *workers);
    bench_threads_join(threads, args.threads);
    free(threads);
  }
  free(workers);
  printf("threads=%u operations=%zu\n", args.threads, operations * args.threads);
  bench_report_rss();
  return 0;
}
