/* sections.c: compresses time for the solvers. Only the steps where some
 * buffer starts or ends matter, so the sorted distinct lower/upper values
 * cut time into sections, and each buffer spans a range of them. Both the
 * greedy planner's time index and the search work in sections. */
#include "planner/solver.h"

#include <stdlib.h>

static int step_compare(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Position of step in the sorted, distinct steps[0..count). */
static uint32_t step_position(const uint64_t *steps, size_t count, uint64_t step) {
  size_t lo = 0, hi = count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (steps[mid] < step)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (uint32_t)lo;
}

int _pm_sections_build(const pm_buffer_t *buffers, size_t count, uint32_t *first, uint32_t *end,
                       size_t *sections) {
  if (count == 0) {
    *sections = 0;
    return 0;
  }
  uint64_t *steps = malloc(2 * count * sizeof *steps);
  if (!steps) return -1;
  for (size_t i = 0; i < count; i++) {
    steps[2 * i] = buffers[i].lower;
    steps[2 * i + 1] = buffers[i].upper;
  }
  qsort(steps, 2 * count, sizeof *steps, step_compare);
  size_t distinct = 1;
  for (size_t i = 1; i < 2 * count; i++)
    if (steps[i] != steps[distinct - 1]) steps[distinct++] = steps[i];
  for (size_t i = 0; i < count; i++) {
    first[i] = step_position(steps, distinct, buffers[i].lower);
    end[i] = step_position(steps, distinct, buffers[i].upper);
  }
  free(steps);
  *sections = distinct - 1;
  return 0;
}
