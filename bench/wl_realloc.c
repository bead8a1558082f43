/* wl_realloc.c: buffers that grow by small appends, as string builders and
 * vectors do. Many buffers grow in turn, so a buffer's neighbour is usually
 * in the way of growing it in place, up to sizes of several MiB, which
 * brings in the allocator's large-block and remapping paths. */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKLOAD   "realloc"
#define BUFFERS    32
#define ROUNDS     3
#define MIN_TARGET (64u * 1024)
#define MAX_TARGET (4u * 1024 * 1024)
#define MAX_APPEND 512

typedef struct builder_s {
  unsigned char *data;
  size_t length;
  size_t target;
  uint64_t tag;
} builder_t;

static inline unsigned char content_byte(uint64_t tag, size_t offset) {
  return (unsigned char)(tag + offset * 13u);
}

/* Checks a few bytes of what was appended so far: the first, the last and
 * one in between, so each append stays cheap. */
static void builder_check_sample(const builder_t *builder, uint64_t *rng) {
  if (builder->length == 0) return;
  size_t probes[3] = {0, builder->length - 1, bench_rng_next(rng) % builder->length};
  for (size_t i = 0; i < 3; i++)
    if (builder->data[probes[i]] != content_byte(builder->tag, probes[i]))
      bench_fail(WORKLOAD, "realloc lost contents: byte %zu of a %zu-byte buffer", probes[i],
                 builder->length);
}

static void builder_append(builder_t *builder, size_t count, uint64_t *rng) {
  builder_check_sample(builder, rng);
  unsigned char *grown = realloc(builder->data, builder->length + count);
  if (grown == NULL) bench_fail(WORKLOAD, "realloc to %zu bytes failed", builder->length + count);
  builder->data = grown;
  builder_check_sample(builder, rng);
  for (size_t i = 0; i < count; i++)
    grown[builder->length + i] = content_byte(builder->tag, builder->length + i);
  builder->length += count;
}

static void builder_finish(builder_t *builder) {
  for (size_t i = 0; i < builder->length; i++)
    if (builder->data[i] != content_byte(builder->tag, i))
      bench_fail(WORKLOAD, "realloc lost contents: byte %zu of a %zu-byte buffer", i,
                 builder->length);
  free(builder->data);
  memset(builder, 0, sizeof *builder);
}

int main(int argc, char **argv) {
  bench_args_t args = bench_parse_args(argc, argv, 1);
  size_t rounds = bench_scaled(ROUNDS, args.scale, 1);
  size_t max_target = bench_scaled(MAX_TARGET, args.scale < 1.0 ? args.scale : 1.0, MIN_TARGET);
  uint64_t rng = 99;
  builder_t builders[BUFFERS];
  memset(builders, 0, sizeof builders);
  size_t reallocs = 0;

  for (size_t round = 0; round < rounds; round++) {
    size_t growing = BUFFERS;
    for (size_t b = 0; b < BUFFERS; b++) {
      builders[b].target = bench_rng_range(&rng, MIN_TARGET, max_target);
      builders[b].tag = round * BUFFERS + b;
    }
    /* Round-robin appends until every buffer reached its target. */
    while (growing > 0) {
      growing = 0;
      for (size_t b = 0; b < BUFFERS; b++) {
        builder_t *builder = &builders[b];
        if (builder->length >= builder->target) continue;
        growing++;
        builder_append(builder, bench_rng_range(&rng, 1, MAX_APPEND), &rng);
        reallocs++;
      }
    }
    for (size_t b = 0; b < BUFFERS; b++)
      builder_finish(&builders[b]);
  }
  printf("reallocs=%zu\n", reallocs);
  bench_report_rss();
  return 0;
}
