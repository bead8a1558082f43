/* wl_larson.c: a server simulation after Larson & Krishnan, "Memory
 * allocation for long-running server applications" (ISMM 1998). Each thread
 * owns an array of slots and repeatedly frees a random slot and allocates a
 * block of random size into it. When a thread has done its share of a round
 * it exits and its slot array passes to a fresh thread, which then frees
 * blocks that another thread allocated: remote frees, and threads that come
 * and go as in a server's worker pool. */
#include "bench_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKLOAD                    "larson"
#define SLOTS_PER_THREAD            1000
#define ROUNDS                      10
#define OPERATIONS_PER_THREAD_ROUND 200000
#define MIN_SIZE                    8
#define MAX_SIZE                    1000

typedef struct worker_s {
  BENCH_THREAD_STATE bench_slot_t *slots; /* handed from one round's thread to the next */
  size_t operations;
  uint64_t rng;
  uint64_t next_tag;
} worker_t;

static void *worker_run(void *arg) {
  worker_t *worker = arg;
  for (size_t op = 0; op < worker->operations; op++) {
    bench_slot_t *slot = &worker->slots[bench_rng_next(&worker->rng) % SLOTS_PER_THREAD];
    bench_slot_release(WORKLOAD, slot);
    bench_slot_allocate(WORKLOAD, slot, bench_rng_range(&worker->rng, MIN_SIZE, MAX_SIZE),
                        worker->next_tag++);
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t args = bench_parse_args(argc, argv, 2);
  size_t operations = bench_scaled(OPERATIONS_PER_THREAD_ROUND, args.scale, 1000);
  worker_t *workers = bench_calloc_lines(WORKLOAD, args.threads, sizeof *workers);
  pthread_t *threads = bench_calloc(WORKLOAD, args.threads, sizeof *threads);

  /* The main thread allocates the first blocks, so round 0 already frees
   * remotely. */
  for (unsigned t = 0; t < args.threads; t++) {
    workers[t].slots = bench_calloc(WORKLOAD, SLOTS_PER_THREAD, sizeof(bench_slot_t));
    workers[t].rng = 1000 + t;
    workers[t].next_tag = (uint64_t)t << 40;
    workers[t].operations = operations;
    for (size_t i = 0; i < SLOTS_PER_THREAD; i++)
      bench_slot_allocate(WORKLOAD, &workers[t].slots[i],
                          bench_rng_range(&workers[t].rng, MIN_SIZE, MAX_SIZE),
                          workers[t].next_tag++);
  }
  for (unsigned round = 0; round < ROUNDS; round++) {
    bench_threads_start(WORKLOAD, threads, args.threads, worker_run, workers, sizeof *workers);
    bench_threads_join(threads, args.threads);
    /* Rotate the slot arrays so each next thread inherits another thread's
     * blocks. */
    bench_slot_t *first = workers[0].slots;
    for (unsigned t = 0; t + 1 < args.threads; t++)
      workers[t].slots = workers[t + 1].slots;
    workers[args.threads - 1].slots = first;
  }
  for (unsigned t = 0; t < args.threads; t++) {
    for (size_t i = 0; i < SLOTS_PER_THREAD; i++)
      bench_slot_release(WORKLOAD, &workers[t].slots[i]);
    free(workers[t].slots);
  }
  free(workers);
  free(threads);
  printf("threads=%u operations=%zu\n", args.threads, operations * ROUNDS * args.threads);
  bench_report_rss();
  return 0;
}
