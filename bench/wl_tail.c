/* wl_tail.c: the latency of one thread's large allocations while another
 * thread frees big blocks, for bench/latency.py (make bench-latency).
 *
 * An allocator that gives memory back to the OS does so with munmap or
 * madvise calls that take milliseconds for tens of megabytes. If it makes
 * them, or waits for them, while holding a lock that other threads'
 * allocations need, those threads stall for as long: throughput
 * benchmarks average such stalls away, a latency percentile shows them.
 *
 * The measured thread allocates two blocks of 300-700 KiB, writes them,
 * frees them, and sleeps 20 us, over and over; the time of its malloc and
 * free calls (not of the writes) is recorded per round. Meanwhile the
 * freeing thread allocates and writes SHAPE's blocks, frees them all, and
 * sleeps 30 ms, over and over:
 *   many  64 blocks of about 1 MiB (large blocks, inside segments)
 *   huge  4 blocks of about 24 MiB (each a mapping of its own)
 * Usage: wl-tail SHAPE SECONDS. Prints the rounds, the median, the 99th
 * and 99.9th percentiles and the maximum, in microseconds. */
#include "bench_util.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKLOAD        "tail"
#define MAX_ROUNDS      2000000
#define FREER_PAUSE_NS  30000000L
#define ROUND_PAUSE_NS  20000L
#define MEASURED_SMALL  300000
#define MEASURED_STEP   65536
#define MEASURED_STEPS  7
#define MEASURED_SECOND 500000

typedef struct shape_s {
  const char *name;
  unsigned blocks;
  size_t block_size;
} shape_t;

static const shape_t shapes[] = {
    {"many", 64, (size_t)1 << 20},
    {"huge", 4, (size_t)24 << 20},
};

static atomic_bool freer_stop;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void pause_ns(long ns) {
  struct timespec pause = {0, ns};
  nanosleep(&pause, NULL);
}

/* Sizes differ a little between blocks and rounds, as real buffers do, so
 * no allocator serves them all from one exact-size cache entry. */
static void *free_big_blocks(void *arg) {
  const shape_t *shape = arg;
  bench_slot_t *slots = bench_calloc(WORKLOAD, shape->blocks, sizeof *slots);
  for (uint64_t round = 0; !atomic_load(&freer_stop); round++) {
    for (unsigned i = 0; i < shape->blocks; i++)
      bench_slot_allocate(WORKLOAD, &slots[i], shape->block_size + i * 4096, round * 64 + i);
    for (unsigned i = 0; i < shape->blocks; i++)
      bench_slot_release(WORKLOAD, &slots[i]);
    pause_ns(FREER_PAUSE_NS);
  }
  free(slots);
  return NULL;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static const shape_t *shape_named(const char *name) {
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    if (strcmp(shapes[i].name, name) == 0) return &shapes[i];
  return NULL;
}

int main(int argc, char **argv) {
  const shape_t *shape = argc == 3 ? shape_named(argv[1]) : NULL;
  char *end = NULL;
  double seconds = argc == 3 ? strtod(argv[2], &end) : 0;
  if (shape == NULL || end == argv[2] || *end != '\0' || !(seconds > 0 && seconds <= 600)) {
    fprintf(stderr, "usage: wl-tail many|huge SECONDS (0 < SECONDS <= 600)\n");
    return 2;
  }
  double *latencies = bench_malloc(WORKLOAD, MAX_ROUNDS * sizeof *latencies);
  pthread_t freer;
  bench_threads_start(WORKLOAD, &freer, 1, free_big_blocks, (void *)shape, 0);
  size_t rounds = 0;
  double stop_at = now_us() + seconds * 1e6;
  while (rounds < MAX_ROUNDS && now_us() < stop_at) {
    bench_slot_t first = {0}, second = {0};
    size_t size = MEASURED_SMALL + (rounds % MEASURED_STEPS) * MEASURED_STEP;
    double start = now_us();
    first.block = malloc(size);
    second.block = malloc(MEASURED_SECOND);
    double allocated = now_us();
    if (first.block == NULL || second.block == NULL) bench_fail(WORKLOAD, "malloc returned NULL");
    first.size = size;
    second.size = MEASURED_SECOND;
    first.tag = rounds * 2;
    second.tag = rounds * 2 + 1;
    bench_fill(first.block, first.size, first.tag);
    bench_fill(second.block, second.size, second.tag);
    bench_verify(WORKLOAD, first.block, first.size, first.tag);
    bench_verify(WORKLOAD, second.block, second.size, second.tag);
    double freeing = now_us();
    free(first.block);
    free(second.block);
    latencies[rounds++] = (allocated - start) + (now_us() - freeing);
    pause_ns(ROUND_PAUSE_NS);
  }
  atomic_store(&freer_stop, true);
  bench_threads_join(&freer, 1);
  if (rounds == 0) bench_fail(WORKLOAD, "no round finished");
  qsort(latencies, rounds, sizeof *latencies, compare_doubles);
  printf("shape=%s rounds=%zu\n", shape->name, rounds);
  printf("p50_us=%.2f\np99_us=%.2f\np999_us=%.2f\nmax_us=%.2f\n", latencies[rounds / 2],
         latencies[rounds * 99 / 100], latencies[rounds * 999 / 1000], latencies[rounds - 1]);
  free(latencies);
  return 0;
}
