/* greedy.c: greedy by size, the rule of TFLite's memory planners (Lee et
 * al., "On-Device Neural Net Inference with Mobile GPUs", 2019): take the
 * buffers largest first and put each in the smallest free address range
 * (gap) left between the already placed buffers that overlap it in time, or
 * above all of them when no gap fits. The same placement in other orders
 * (by area, by lifetime length) gives best more starting points.
 *
 * Cost: O(n log n) to sort, plus for each buffer O((k + 1) log T) to list
 * the k placed buffers overlapping it (time_index.c) and O(k log k) to order
 * them by offset; so O(n log n + P log n) in all, where P is the number of
 * time-overlapping pairs. Only an all-overlapping problem approaches n^2,
 * and then its arena is the sum of the sizes anyway. */
#include "planner/solver.h"

#include <errno.h>
#include <stdlib.h>

typedef struct order_key_s {
  uint64_t key, size, lower;
  uint32_t index;
} order_key_t;

/* Largest key first, then largest size; ties by earlier start, then input
 * order: deterministic. */
static int order_key_compare(const void *a, const void *b) {
  const order_key_t *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  if (x->size != y->size) return x->size > y->size ? -1 : 1;
  if (x->lower != y->lower) return x->lower < y->lower ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

static uint64_t greedy_key(const pm_buffer_t *b, pm_greedy_order_t order) {
  uint64_t width = b->upper - b->lower;
  switch (order) {
  case PM_GREEDY_BY_AREA:
    return width != 0 && b->size > UINT64_MAX / width ? UINT64_MAX : b->size * width;
  case PM_GREEDY_BY_LENGTH:
    return width;
  case PM_GREEDY_BY_SIZE:
    break;
  }
  return b->size;
}

/* Neighbours are sorted once per placement, so the sort is inlined rather
 * than qsort's indirect calls: quicksort with median-of-three, insertion
 * sort for short runs, heapsort past a depth limit (O(k log k) always). */
static void span_swap(pm_span_t *a, pm_span_t *b) {
  pm_span_t t = *a;
  *a = *b;
  *b = t;
}

static void span_insertion_sort(pm_span_t *spans, size_t count) {
  for (size_t i = 1; i < count; i++) {
    pm_span_t x = spans[i];
    size_t j = i;
    for (; j > 0 && spans[j - 1].offset > x.offset; j--)
      spans[j] = spans[j - 1];
    spans[j] = x;
  }
}

static void span_sift_down(pm_span_t *spans, size_t root, size_t count) {
  for (size_t child; (child = 2 * root + 1) < count; root = child) {
    if (child + 1 < count && spans[child + 1].offset > spans[child].offset) child++;
    if (spans[root].offset >= spans[child].offset) return;
    span_swap(&spans[root], &spans[child]);
  }
}

static void span_heap_sort(pm_span_t *spans, size_t count) {
  for (size_t i = count / 2; i-- > 0;)
    span_sift_down(spans, i, count);
  for (size_t end = count; end-- > 1;) {
    span_swap(&spans[0], &spans[end]);
    span_sift_down(spans, 0, end);
  }
}

static void span_sort(pm_span_t *spans, size_t count, unsigned depth) {
  while (count > 16) {
    if (depth-- == 0) {
      span_heap_sort(spans, count);
      return;
    }
    size_t mid = count / 2;
    if (spans[mid].offset < spans[0].offset) span_swap(&spans[mid], &spans[0]);
    if (spans[count - 1].offset < spans[0].offset) span_swap(&spans[count - 1], &spans[0]);
    if (spans[count - 1].offset < spans[mid].offset) span_swap(&spans[count - 1], &spans[mid]);
    uint64_t pivot = spans[mid].offset;
    size_t i = 0, j = count - 1;
    for (;;) {
      while (spans[i].offset < pivot)
        i++;
      while (spans[j].offset > pivot)
        j--;
      if (i >= j) break;
      span_swap(&spans[i++], &spans[j--]);
    }
    /* Recurse into the smaller side, loop on the larger. */
    size_t left = j + 1;
    if (left < count - left) {
      span_sort(spans, left, depth);
      spans += left;
      count -= left;
    } else {
      span_sort(spans + left, count - left, depth);
      count = left;
    }
  }
  span_insertion_sort(spans, count);
}

/* Best-fit offset for buffer among neighbours (sorted by offset): the start
 * of the smallest gap it fits in, lowest first on ties, else above them all.
 * Returns false when every candidate offset would overflow. */
static bool greedy_best_fit(const pm_buffer_t *buffer, const pm_span_t *neighbours, size_t count,
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
  order_key_t *order;
  pm_time_index_t *index;
  pm_span_t *neighbours;
  size_t neighbours_capacity;
} greedy_t;

static void greedy_release(greedy_t *g) {
  free(g->first);
  free(g->end);
  free(g->order);
  _pm_time_index_destroy(g->index);
  free(g->neighbours);
}

static int greedy_place_all(greedy_t *g, pm_buffer_t *buffers, size_t count, uint64_t *arena_size) {
  uint64_t arena = 0;
  for (size_t n = 0; n < count; n++) {
    uint32_t b = g->order[n].index;
    long found = _pm_time_index_query(g->index, g->first[b], g->end[b], &g->neighbours,
                                      &g->neighbours_capacity);
    if (found < 0) return ENOMEM;
    span_sort(g->neighbours, (size_t)found, 64);
    if (!greedy_best_fit(&buffers[b], g->neighbours, (size_t)found, &buffers[b].offset))
      return EOVERFLOW;
    uint64_t top = buffers[b].offset + buffers[b].size;
    if (_pm_time_index_insert(g->index, g->first[b], g->end[b], buffers[b].offset, top) < 0)
      return ENOMEM;
    if (buffers[b].offset + buffers[b].size > arena) arena = buffers[b].offset + buffers[b].size;
  }
  *arena_size = arena;
  return 0;
}

int _pm_greedy_solve(pm_buffer_t *buffers, size_t count, pm_greedy_order_t order,
                     uint64_t *arena_size) {
  greedy_t g = {0};
  size_t sections = 0;
  int error = ENOMEM;
  g.first = malloc((count ? count : 1) * sizeof *g.first);
  g.end = malloc((count ? count : 1) * sizeof *g.end);
  g.order = malloc((count ? count : 1) * sizeof *g.order);
  if (!g.first || !g.end || !g.order) goto out;
  if (_pm_sections_build(buffers, count, g.first, g.end, &sections) < 0) goto out;
  g.index = _pm_time_index_create(sections);
  if (!g.index) goto out;
  for (size_t i = 0; i < count; i++)
    g.order[i] = (order_key_t){greedy_key(&buffers[i], order), buffers[i].size, buffers[i].lower,
                               (uint32_t)i};
  qsort(g.order, count, sizeof *g.order, order_key_compare);
  error = greedy_place_all(&g, buffers, count, arena_size);
out:
  greedy_release(&g);
  if (error) {
    errno = error;
    return -1;
  }
  return 0;
}
