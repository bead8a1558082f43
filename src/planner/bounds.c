/* bounds.c: the two yardsticks every plan is reported against: the arena
 * with no reuse at all (naive) and the peak of bytes live at one step,
 * which no plan can beat (lower bound). */
#include "planner/planner.h"
#include "planner/solver.h"

#include <stdlib.h>

/* The buffers end to end, each offset rounded up to its alignment: what
 * the naive algorithm lays out, so its plan reports no saving. The last
 * buffer's padding is not counted, as in every plan's size. */
uint64_t _pm_plan_naive_bytes(const pm_buffer_t *buffers, size_t count) {
  uint64_t end = 0, offset;
  for (size_t i = 0; i < count; i++) {
    if (!solver_align_up(end, buffers[i].alignment, &offset)) return UINT64_MAX;
    end = solver_add_saturated(offset, buffers[i].size);
  }
  return end;
}

typedef struct live_event_s {
  uint64_t step;
  uint64_t size;
  int starts; /* 0 = the buffer ends here, 1 = it starts */
} live_event_t;

/* By step; at the same step ends come first, as lifetimes are half-open. */
static int live_event_compare(const void *a, const void *b) {
  const live_event_t *x = a, *y = b;
  if (x->step != y->step) return x->step < y->step ? -1 : 1;
  return x->starts - y->starts;
}

/* Sweeps the start/end events in time order. Falls back to the sum of sizes
 * (still a valid, if weak, answer) when there is no memory for the sweep. */
uint64_t _pm_plan_lower_bound(const pm_buffer_t *buffers, size_t count) {
  live_event_t *events = malloc((count ? 2 * count : 1) * sizeof *events);
  if (!events) {
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++)
      total = solver_add_saturated(total, buffers[i].size);
    return total;
  }
  for (size_t i = 0; i < count; i++) {
    events[2 * i] = (live_event_t){buffers[i].lower, buffers[i].size, 1};
    events[2 * i + 1] = (live_event_t){buffers[i].upper, buffers[i].size, 0};
  }
  qsort(events, 2 * count, sizeof *events, live_event_compare);
  /* 128-bit sums: absurd sizes may pass 2^64 together but not 2^128. */
  unsigned __int128 live = 0, peak = 0;
  for (size_t e = 0; e < 2 * count; e++) {
    if (events[e].starts) {
      live += events[e].size;
      if (live > peak) peak = live;
    } else {
      live -= events[e].size;
    }
  }
  free(events);
  return peak > UINT64_MAX ? UINT64_MAX : (uint64_t)peak;
}
