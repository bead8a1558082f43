/* solver.h: what the solver files of src/planner/ share among themselves
 * (greedy placement, the time index behind it, the branch-and-bound search
 * and its driver). The rest of the planner only sees planner.h. */
#ifndef PM_SOLVER_H
#define PM_SOLVER_H

#include "planner/planner.h"

#include <stdbool.h>

/* Rounds value up to a multiple of alignment (a power of two). Returns false
 * instead of wrapping when the result does not fit in 64 bits. */
static inline bool solver_align_up(uint64_t value, uint64_t alignment, uint64_t *out) {
  uint64_t mask = alignment - 1;
  if (value > UINT64_MAX - mask) return false;
  *out = (value + mask) & ~mask;
  return true;
}

/* Bytes that rounding size up to alignment (a power of two) adds; never
 * overflows, unlike the rounded size itself. */
static inline uint64_t solver_padding(uint64_t size, uint64_t alignment) {
  return (0 - size) & (alignment - 1);
}

/* a + b, or UINT64_MAX when that overflows: an impossible height that any
 * capacity check then rejects. */
static inline uint64_t solver_add_saturated(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Time compression: the distinct lower/upper steps, sorted, cut time into
 * sections. Writes each buffer's section range [first[i], end[i]) and the
 * number of sections. Returns 0, or -1 when out of memory. */
int _pm_sections_build(const pm_buffer_t *buffers, size_t count, uint32_t *first, uint32_t *end,
                       size_t *sections);

/* An address range [offset, top) taken by a placed buffer. */
typedef struct pm_span_s {
  uint64_t offset;
  uint64_t top;
} pm_span_t;

/* Placed buffers' address ranges indexed by lifetime (see time_index.c). */
typedef struct pm_time_index_s pm_time_index_t;
pm_time_index_t *_pm_time_index_create(size_t sections);
void _pm_time_index_destroy(pm_time_index_t *index);
/* Records [offset, top) as taken over sections [first, end). */
int _pm_time_index_insert(pm_time_index_t *index, uint32_t first, uint32_t end, uint64_t offset,
                          uint64_t top);
/* Lists, each once, the ranges recorded over sections meeting [first, end)
 * into *out (grown with realloc as needed). Returns the count, or -1 when
 * out of memory. */
long _pm_time_index_query(const pm_time_index_t *index, uint32_t first, uint32_t end,
                          pm_span_t **out, size_t *out_capacity);

/* Greedy placement (greedy.c) in one of these orders, largest first. */
typedef enum pm_greedy_order_e {
  PM_GREEDY_BY_SIZE,   /* TFLite's greedy by size: PM_ALGORITHM_GREEDY_SIZE */
  PM_GREEDY_BY_AREA,   /* size times lifetime length */
  PM_GREEDY_BY_LENGTH, /* lifetime length, then size */
} pm_greedy_order_t;
#define PM_GREEDY_ORDERS 3
/* Places every buffer, writes offsets and the arena size. Returns 0, or -1
 * with errno ENOMEM (no memory) or EOVERFLOW (an offset would not fit in 64
 * bits). */
int _pm_greedy_solve(pm_buffer_t *buffers, size_t count, pm_greedy_order_t order,
                     uint64_t *arena_size);

/* The search (see search.c): is there a placement within capacity? */
typedef struct pm_search_s pm_search_t;
typedef enum pm_search_result_e {
  PM_SEARCH_FOUND = 0,      /* offsets written, all within capacity */
  PM_SEARCH_INFEASIBLE = 1, /* proven: no placement fits in capacity */
  PM_SEARCH_GAVE_UP = 2     /* work budget spent first */
} pm_search_result_t;
/* NULL when out of memory or when the problem is too large to search. */
pm_search_t *_pm_search_create(const pm_buffer_t *buffers, size_t count);
void _pm_search_destroy(pm_search_t *search);
/* Spends at most *work_left units (decremented; a unit is about one buffer
 * or section visited). Deterministic for the same input and budget. */
pm_search_result_t _pm_search_fit(pm_search_t *search, uint64_t capacity, uint64_t *work_left,
                                  uint64_t *offsets);

/* The peak of live bytes with each buffer's alignment padding counted as
 * far as any placement must pay it (bounds.c): what the best search aims
 * at, never below _pm_plan_lower_bound. */
uint64_t _pm_plan_padded_lower_bound(const pm_buffer_t *buffers, size_t count);

/* PM_ALGORITHM_BEST: greedy-size, then the search for smaller arenas. */
int _pm_best_solve(pm_buffer_t *buffers, size_t count, const pm_solve_options_t *options,
                   uint64_t *arena_size);

#endif /* PM_SOLVER_H */
