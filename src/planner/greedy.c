/* greedy.c: greedy by size, the rule of TFLite's memory planners (Lee et
 * al., "On-Device Neural Net Inference with Mobile GPUs", 2019): take the
 * buffers largest first and put each in the smallest free address range
 * (gap) left between the already placed buffers that overlap it in time, or
 * above all of them when no gap fits.
 *
 * Cost: O(n log n) to sort, plus for each buffer O((k + 1) log T) to list
 * the k placed buffers overlapping it (time_index.c) and O(k log k) to order
 * them by offset; so O(n log n + P log n) in all, where P is the number of
 * time-overlapping pairs. Only an all-overlapping problem approaches n^2,
 * and then its arena is the sum of the sizes anyway. */
#include "planner/solver.h"

#include <errno.h>
#include <stdlib.h>

typedef struct size_order_s {
  uint64_t size;
  uint64_t lower;
  uint32_t index;
} size_order_t;

/* Largest first; ties by earlier start, then input order: deterministic. */
static int size_order_compare(const void *a, const void *b) {
  const size_order_t *x = a, *y = b;
  if (x->size != y->size) return x->size > y->size ? -1 : 1;
  if (x->lower != y->lower) return x->lower < y->lower ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

typedef struct placed_s {
  uint64_t offset;
  uint64_t top;
} placed_t;

static int placed_compare(const void *a, const void *b) {
  const placed_t *x = a, *y = b;
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  return (x->top > y->top) - (x->top < y->top);
}

/* Best-fit offset for buffer among neighbours (sorted by offset): the start
 * of the smallest gap it fits in, lowest first on ties, else above them all.
 * Returns false when every candidate offset would overflow. */
static bool greedy_best_fit(const pm_buffer_t *buffer, const placed_t *neighbours, size_t count,
                            uint64_t *offset) {
  uint64_t cursor = 0, best_gap = UINT64_MAX, candidate;
  bool found = false;
  for (size_t i = 0; i < count; i++) {
    if (neighbours[i].offset > cursor && solver_align_up(cursor, buffer->alignment, &candidate) &&
        candidate <= neighbours[i].offset && neighbours[i].offset - candidate >= buffer->size) {
      uint64_t gap = neighbours[i].offset - cursor;
      if (!found || gap < best_gap) {
        best_gap = gap;
        *offset = candidate;
        found = true;
      }
    }
    if (neighbours[i].top > cursor) cursor = neighbours[i].top;
  }
  if (found) return true;
  if (!solver_align_up(cursor, buffer->alignment, &candidate)) return false;
  if (candidate > UINT64_MAX - buffer->size) return false;
  *offset = candidate;
  return true;
}

typedef struct greedy_s {
  uint32_t *first, *end;
  size_order_t *order;
  pm_time_index_t *index;
  uint32_t *overlapping;
  size_t overlapping_capacity;
  placed_t *neighbours;
  size_t neighbours_capacity;
} greedy_t;

static void greedy_release(greedy_t *g) {
  free(g->first);
  free(g->end);
  free(g->order);
  _pm_time_index_destroy(g->index);
  free(g->overlapping);
  free(g->neighbours);
}

static int greedy_place_all(greedy_t *g, pm_buffer_t *buffers, size_t count, uint64_t *arena_size) {
  uint64_t arena = 0;
  for (size_t n = 0; n < count; n++) {
    uint32_t b = g->order[n].index;
    long found = _pm_time_index_query(g->index, g->first[b], g->end[b], &g->overlapping,
                                      &g->overlapping_capacity);
    if (found < 0) return ENOMEM;
    if ((size_t)found > g->neighbours_capacity) {
      placed_t *grown = realloc(g->neighbours, (size_t)found * sizeof *grown);
      if (!grown) return ENOMEM;
      g->neighbours = grown;
      g->neighbours_capacity = (size_t)found;
    }
    for (long i = 0; i < found; i++) {
      const pm_buffer_t *other = &buffers[g->overlapping[i]];
      g->neighbours[i] = (placed_t){other->offset, other->offset + other->size};
    }
    qsort(g->neighbours, (size_t)found, sizeof *g->neighbours, placed_compare);
    if (!greedy_best_fit(&buffers[b], g->neighbours, (size_t)found, &buffers[b].offset))
      return EOVERFLOW;
    if (_pm_time_index_insert(g->index, b, g->first[b], g->end[b]) < 0) return ENOMEM;
    if (buffers[b].offset + buffers[b].size > arena) arena = buffers[b].offset + buffers[b].size;
  }
  *arena_size = arena;
  return 0;
}

int _pm_greedy_size_solve(pm_buffer_t *buffers, size_t count, uint64_t *arena_size) {
  greedy_t g = {0};
  size_t sections = 0;
  int error = ENOMEM;
  g.first = malloc((count ? count : 1) * sizeof *g.first);
  g.end = malloc((count ? count : 1) * sizeof *g.end);
  g.order = malloc((count ? count : 1) * sizeof *g.order);
  if (!g.first || !g.end || !g.order) goto out;
  if (_pm_sections_build(buffers, count, g.first, g.end, &sections) < 0) goto out;
  g.index = _pm_time_index_create(sections, count);
  if (!g.index) goto out;
  for (size_t i = 0; i < count; i++)
    g.order[i] = (size_order_t){buffers[i].size, buffers[i].lower, (uint32_t)i};
  qsort(g.order, count, sizeof *g.order, size_order_compare);
  error = greedy_place_all(&g, buffers, count, arena_size);
out:
  greedy_release(&g);
  if (error) {
    errno = error;
    return -1;
  }
  return 0;
}
