/* wl_aligned.c: aligned allocations, as SIMD kernels and tensor libraries
 * make them: posix_memalign and aligned_alloc with alignments 16 to 4096 and
 * sizes from below the alignment to several times it, in a working set with
 * random replacement. Every result's alignment is checked (an allocator that
 * returns misaligned memory fails the workload) and its contents verified. */
#define _GNU_SOURCE
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>

#define WORKLOAD        "aligned"
#define LIVE_OBJECTS    4000
#define OPERATIONS      1000000
#define ALIGNMENT_STEPS 9 /* 16 << 0 .. 16 << 8 = 4096 */

/* Half the requests go through posix_memalign with any size, half through
 * aligned_alloc with a size that is a multiple of the alignment, as C11
 * requires. */
static void slot_allocate_aligned(bench_slot_t *slot, uint64_t *rng, uint64_t tag) {
  size_t alignment = (size_t)16 << (bench_rng_next(rng) % ALIGNMENT_STEPS);
  void *block = NULL;
  const char *how;
  if (bench_rng_next(rng) & 1) {
    how = "posix_memalign";
    slot->size = bench_rng_range(rng, 1, 4 * alignment > 8192 ? 8192 : 4 * alignment);
    if (posix_memalign(&block, alignment, slot->size) != 0) block = NULL;
  } else {
    how = "aligned_alloc";
    slot->size = alignment * bench_rng_range(rng, 1, alignment >= 1024 ? 2 : 4);
    block = aligned_alloc(alignment, slot->size);
  }
  if (block == NULL) bench_fail(WORKLOAD, "%s(%zu, %zu) failed", how, alignment, slot->size);
  if ((uintptr_t)block % alignment != 0)
    bench_fail(WORKLOAD, "%s(%zu, %zu) returned misaligned %p", how, alignment, slot->size, block);
  slot->block = block;
  slot->tag = tag;
  bench_fill(slot->block, slot->size, slot->tag);
}

int main(int argc, char **argv) {
  bench_args_t args = bench_parse_args(argc, argv, 1);
  size_t operations = bench_scaled(OPERATIONS, args.scale, 10000);
  uint64_t rng = 11;
  bench_slot_t *slots = bench_calloc(WORKLOAD, LIVE_OBJECTS, sizeof *slots);

  for (size_t i = 0; i < LIVE_OBJECTS; i++)
    slot_allocate_aligned(&slots[i], &rng, i);
  for (size_t op = 0; op < operations; op++) {
    bench_slot_t *slot = &slots[bench_rng_next(&rng) % LIVE_OBJECTS];
    bench_slot_release(WORKLOAD, slot);
    slot_allocate_aligned(slot, &rng, LIVE_OBJECTS + op);
  }
  for (size_t i = 0; i < LIVE_OBJECTS; i++)
    bench_slot_release(WORKLOAD, &slots[i]);
  free(slots);
  printf("operations=%zu\n", operations);
  bench_report_rss();
  return 0;
}
