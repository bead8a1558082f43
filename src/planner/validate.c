/* validate.c: checks a solved plan, independently of how it was made:
 * every offset aligned and no two buffers sharing both a step and a byte.
 *
 * A sweep over time in O(n log n): the buffers live at the current step are
 * kept ordered by offset; they never overlap each other (or the sweep has
 * stopped), so a starting buffer can only collide with its two neighbours
 * in that order. The ordered set is a Fenwick tree over the buffers' ranks
 * by offset, which gives predecessor and successor in O(log n). Both time
 * [lower, upper) and address [offset, offset + size) are half-open. */
#include "planner/planner.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct rank_key_s {
  uint64_t offset;
  size_t index;
} rank_key_t;

static int rank_key_compare(const void *a, const void *b) {
  const rank_key_t *x = a, *y = b;
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

typedef struct sweep_event_s {
  uint64_t step;
  size_t index;
  int starts;
} sweep_event_t;

static int sweep_event_compare(const void *a, const void *b) {
  const sweep_event_t *x = a, *y = b;
  if (x->step != y->step) return x->step < y->step ? -1 : 1;
  if (x->starts != y->starts) return x->starts - y->starts; /* ends first */
  return (x->index > y->index) - (x->index < y->index);
}

/* Fenwick tree of 0/1 counts over ranks 1..size. */
typedef struct fenwick_s {
  size_t size;
  int32_t *tree;
} fenwick_t;

static void fenwick_add(fenwick_t *f, size_t rank, int32_t delta) {
  for (; rank <= f->size; rank += rank & -rank)
    f->tree[rank] += delta;
}

static size_t fenwick_count_upto(const fenwick_t *f, size_t rank) {
  size_t count = 0;
  for (; rank > 0; rank -= rank & -rank)
    count += (size_t)f->tree[rank];
  return count;
}

/* The rank holding the k-th (1-based) present element. */
static size_t fenwick_find(const fenwick_t *f, size_t k) {
  size_t position = 0, step = 1;
  while (step * 2 <= f->size)
    step *= 2;
  for (; step > 0; step /= 2)
    if (position + step <= f->size && (size_t)f->tree[position + step] < k) {
      position += step;
      k -= (size_t)f->tree[position];
    }
  return position + 1;
}

static bool overlaps_above(const pm_buffer_t *low, const pm_buffer_t *high) {
  return low->offset + low->size > high->offset;
}

static void report_pair(size_t a, size_t b, size_t *first, size_t *second) {
  *first = a < b ? a : b;
  *second = a < b ? b : a;
}

/* The sweep proper; returns 1 on a collision, 0 if none, -1 without memory. */
static int validate_sweep(const pm_buffer_t *buffers, size_t count, size_t *first, size_t *second) {
  int status = -1;
  rank_key_t *keys = malloc(count * sizeof *keys);
  size_t *rank = malloc(count * sizeof *rank);
  sweep_event_t *events = malloc(2 * count * sizeof *events);
  fenwick_t live = {count, calloc(count + 1, sizeof(int32_t))};
  if (!keys || !rank || !events || !live.tree) goto out;
  for (size_t i = 0; i < count; i++)
    keys[i] = (rank_key_t){buffers[i].offset, i};
  qsort(keys, count, sizeof *keys, rank_key_compare);
  for (size_t r = 0; r < count; r++)
    rank[keys[r].index] = r + 1;
  for (size_t i = 0; i < count; i++) {
    events[2 * i] = (sweep_event_t){buffers[i].lower, i, 1};
    events[2 * i + 1] = (sweep_event_t){buffers[i].upper, i, 0};
  }
  qsort(events, 2 * count, sizeof *events, sweep_event_compare);
  status = 0;
  for (size_t e = 0; e < 2 * count && status == 0; e++) {
    size_t i = events[e].index;
    if (!events[e].starts) {
      fenwick_add(&live, rank[i], -1);
      continue;
    }
    size_t below = fenwick_count_upto(&live, rank[i]);
    size_t total = fenwick_count_upto(&live, count);
    if (below > 0) {
      size_t p = keys[fenwick_find(&live, below) - 1].index;
      if (overlaps_above(&buffers[p], &buffers[i])) {
        report_pair(p, i, first, second);
        status = 1;
      }
    }
    if (status == 0 && below < total) {
      size_t q = keys[fenwick_find(&live, below + 1) - 1].index;
      if (overlaps_above(&buffers[i], &buffers[q])) {
        report_pair(i, q, first, second);
        status = 1;
      }
    }
    fenwick_add(&live, rank[i], 1);
  }
out:
  free(keys);
  free(rank);
  free(events);
  free(live.tree);
  return status;
}

int _pm_plan_validate(const pm_buffer_t *buffers, size_t count, size_t *first, size_t *second) {
  for (size_t i = 0; i < count; i++) {
    const pm_buffer_t *b = &buffers[i];
    bool misaligned = b->alignment == 0 || (b->offset & (b->alignment - 1)) != 0;
    if (misaligned || b->offset > UINT64_MAX - b->size) {
      *first = *second = i;
      return -1;
    }
  }
  if (count < 2) return 0;
  int collision = validate_sweep(buffers, count, first, second);
  if (collision < 0) {
    /* Without memory nothing was proven: fail rather than pass the plan,
     * with errno telling the caller that no buffer is at fault. */
    errno = ENOMEM;
    *first = *second = 0;
    return -1;
  }
  return collision ? -1 : 0;
}
