/* wl_churn.c: single-threaded small-object churn. A working set of live
 * objects of random sizes (8-512 B) in which a random object is replaced by
 * a new one millions of times: the allocator's fast paths and its reuse of
 * freed blocks under a stable live size. */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>

#define WORKLOAD     "churn"
#define LIVE_OBJECTS 20000
#define OPERATIONS   4000000
#define MIN_SIZE     8
#define MAX_SIZE     512

int main(int argc, char **argv) {
  bench_args_t args = bench_parse_args(argc, argv, 1);
  size_t operations = bench_scaled(OPERATIONS, args.scale, 10000);
  uint64_t rng = 42;
  bench_slot_t *slots = bench_calloc(WORKLOAD, LIVE_OBJECTS, sizeof *slots);

  for (size_t i = 0; i < LIVE_OBJECTS; i++)
    bench_slot_allocate(WORKLOAD, &slots[i], bench_rng_range(&rng, MIN_SIZE, MAX_SIZE), i);
  for (size_t op = 0; op < operations; op++) {
    bench_slot_t *slot = &slots[bench_rng_next(&rng) % LIVE_OBJECTS];
    bench_slot_release(WORKLOAD, slot);
    bench_slot_allocate(WORKLOAD, slot, bench_rng_range(&rng, MIN_SIZE, MAX_SIZE),
                        LIVE_OBJECTS + op);
  }
  for (size_t i = 0; i < LIVE_OBJECTS; i++)
    bench_slot_release(WORKLOAD, &slots[i]);
  free(slots);
  printf("operations=%zu\n", operations);
  bench_report_rss();
  return 0;
}
