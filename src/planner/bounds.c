/* bounds.c: the two yardsticks every plan is reported against: the arena
 * with no reuse at all (naive) and the peak of bytes live at one step,
 * which no plan can beat (lower bound); and the bound the best search aims
 * at, which counts the alignment padding no plan avoids. */
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

/* A buffer's start or end; by step, and at the same step ends first, as
 * lifetimes are half-open. */
typedef struct bound_event_s {
  uint64_t step;
  uint32_t buffer;
  int starts; /* 0 = the buffer ends here, 1 = it starts */
} bound_event_t;

static int bound_event_compare(const void *a, const void *b) {
  const bound_event_t *x = a, *y = b;
  if (x->step != y->step) return x->step < y->step ? -1 : 1;
  return x->starts - y->starts;
}

/* Both sweeps' events, sorted; NULL when there is no memory for them. */
static bound_event_t *bound_events(const pm_buffer_t *buffers, size_t count) {
  if (count > UINT32_MAX) return NULL;
  bound_event_t *events = malloc((count ? 2 * count : 1) * sizeof *events);
  if (!events) return NULL;
  for (size_t i = 0; i < count; i++) {
    events[2 * i] = (bound_event_t){buffers[i].lower, (uint32_t)i, 1};
    events[2 * i + 1] = (bound_event_t){buffers[i].upper, (uint32_t)i, 0};
  }
  qsort(events, 2 * count, sizeof *events, bound_event_compare);
  return events;
}

/* Sweeps the start/end events in time order. Falls back to the sum of sizes
 * (still a valid, if weak, answer) when there is no memory for the sweep. */
uint64_t _pm_plan_lower_bound(const pm_buffer_t *buffers, size_t count) {
  bound_event_t *events = bound_events(buffers, count);
  if (!events) {
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++)
      total = solver_add_saturated(total, buffers[i].size);
    return total;
  }
  /* 128-bit sums: absurd sizes may pass 2^64 together but not 2^128. */
  unsigned __int128 live = 0, peak = 0;
  for (size_t e = 0; e < 2 * count; e++) {
    uint64_t size = buffers[events[e].buffer].size;
    if (events[e].starts) {
      live += size;
      if (live > peak) peak = live;
    } else {
      live -= size;
    }
  }
  free(events);
  return peak > UINT64_MAX ? UINT64_MAX : (uint64_t)peak;
}

/* ---- the bound the search aims at: alignment padding counted ----
 * Buffers of alignment a or more that are live together sit at multiples
 * of a, apart, so each but the topmost takes its size rounded up to a: they
 * need the sum of their rounded sizes less the largest rounding among them.
 * Maximised over steps and over the alignments present, that is never
 * below the peak of live bytes, and above it where sizes are not multiples
 * of their alignment (64 by default): the best search stops at once when
 * its greedy start reaches it, rather than spend its budget on targets no
 * plan can meet. */

/* A max-heap of buffer indexes by padding; buffers that have ended are
 * dropped only when they reach the top. */
typedef struct padding_heap_s {
  uint32_t *items;
  size_t count;
  const pm_buffer_t *buffers;
  uint64_t alignment;
} padding_heap_t;

static bool heap_above(const padding_heap_t *h, size_t i, size_t j) {
  return solver_padding(h->buffers[h->items[i]].size, h->alignment) >
         solver_padding(h->buffers[h->items[j]].size, h->alignment);
}

static void heap_swap(padding_heap_t *h, size_t i, size_t j) {
  uint32_t item = h->items[i];
  h->items[i] = h->items[j];
  h->items[j] = item;
}

static void heap_push(padding_heap_t *h, uint32_t buffer) {
  size_t i = h->count++;
  h->items[i] = buffer;
  for (; i > 0 && heap_above(h, i, (i - 1) / 2); i = (i - 1) / 2)
    heap_swap(h, i, (i - 1) / 2);
}

static void heap_pop(padding_heap_t *h) {
  h->items[0] = h->items[--h->count];
  for (size_t i = 0;;) {
    size_t largest = i, left = 2 * i + 1, right = left + 1;
    if (left < h->count && heap_above(h, left, largest)) largest = left;
    if (right < h->count && heap_above(h, right, largest)) largest = right;
    if (largest == i) return;
    heap_swap(h, i, largest);
    i = largest;
  }
}

/* The bound for the buffers of alignment at least the given one. */
static unsigned __int128 padded_peak(const bound_event_t *events, size_t event_count,
                                     padding_heap_t *heap) {
  unsigned __int128 live = 0, peak = 0;
  heap->count = 0;
  for (size_t e = 0; e < event_count; e++) {
    const pm_buffer_t *buffer = &heap->buffers[events[e].buffer];
    if (buffer->alignment < heap->alignment) continue;
    unsigned __int128 rounded =
        (unsigned __int128)buffer->size + solver_padding(buffer->size, heap->alignment);
    if (!events[e].starts) {
      live -= rounded;
      continue;
    }
    live += rounded;
    heap_push(heap, events[e].buffer);
    /* The buffer just pushed is live, so the loop stops at it at worst. */
    while (heap->buffers[heap->items[0]].upper <= events[e].step)
      heap_pop(heap);
    unsigned __int128 need =
        live - solver_padding(heap->buffers[heap->items[0]].size, heap->alignment);
    if (need > peak) peak = need;
  }
  return peak;
}

uint64_t _pm_plan_padded_lower_bound(const pm_buffer_t *buffers, size_t count) {
  bound_event_t *events = bound_events(buffers, count);
  uint32_t *items = malloc((count ? count : 1) * sizeof *items);
  if (!events || !items) {
    free(events);
    free(items);
    return _pm_plan_lower_bound(buffers, count);
  }
  uint64_t alignments = 0; /* bit k: some buffer is aligned to 2^k */
  for (size_t i = 0; i < count; i++)
    alignments |= buffers[i].alignment;
  padding_heap_t heap = {items, 0, buffers, 0};
  unsigned __int128 peak = 0;
  for (int k = 0; k < 64; k++) {
    if (!(alignments >> k & 1)) continue;
    heap.alignment = (uint64_t)1 << k;
    unsigned __int128 need = padded_peak(events, 2 * count, &heap);
    if (need > peak) peak = need;
  }
  free(events);
  free(items);
  return peak > UINT64_MAX ? UINT64_MAX : (uint64_t)peak;
}
