/* best.c: PM_ALGORITHM_BEST. Starts from greedy-size's plan, tries the
 * same placement in other orders, and keeps the smallest unless the search
 * (search.c) finds a smaller arena still, so it is never worse than
 * greedy-size. Problems too large to search get the best greedy plan.
 *
 * With a capacity the search just looks for a plan that fits it. Without
 * one it minimises the arena: it first asks for the lower bound, with the
 * alignment padding no placement avoids counted (often reached on real
 * networks, and then the plan is optimal), then bisects
 * between the lower bound and the best arena found so far. A probe that
 * exhausts its search proves the target impossible; one that runs out of
 * budget is treated the same (the answer is then best-effort, not proven).
 * Budgets are counted in work units, not time, so the same input always
 * gets the same plan; small problems finish their searches within budget,
 * which makes their plans optimal. */
#include "planner/solver.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIME_LIMIT_MS 1000
/* Search work units per millisecond of CPU: 190k-750k measured on the
 * MiniMalloc benchmarks (a unit is one buffer or section visited), taken
 * low so that the budget rarely overruns the time limit. */
#define WORK_UNITS_PER_MS 200000

static uint64_t plan_arena(const pm_buffer_t *buffers, size_t count) {
  uint64_t arena = 0;
  for (size_t i = 0; i < count; i++)
    if (buffers[i].offset + buffers[i].size > arena) arena = buffers[i].offset + buffers[i].size;
  return arena;
}

static void plan_adopt(pm_buffer_t *buffers, size_t count, const uint64_t *offsets) {
  for (size_t i = 0; i < count; i++)
    buffers[i].offset = offsets[i];
}

/* Bisects for the smallest arena in [lower, *best); *best and buffers hold
 * the best plan so far. */
static void best_minimise(pm_search_t *search, pm_buffer_t *buffers, size_t count,
                          uint64_t *offsets, uint64_t lower, uint64_t *best, uint64_t work) {
  uint64_t work_left = work, impossible_below = lower;
  bool first = true;
  while (impossible_below < *best && work_left > 0) {
    uint64_t target =
        first ? impossible_below : impossible_below + (*best - 1 - impossible_below) / 2;
    /* Half of what is left: the lower bound, the likeliest optimum, gets
     * the most; each later probe is closer to a plan already found. */
    uint64_t probe_work = work_left > 1 ? work_left / 2 : work_left;
    uint64_t probe_left = probe_work;
    pm_search_result_t result = _pm_search_fit(search, target, &probe_left, offsets);
    work_left -= probe_work - probe_left;
    first = false;
    if (result == PM_SEARCH_FOUND) {
      plan_adopt(buffers, count, offsets);
      *best = plan_arena(buffers, count);
    } else {
      impossible_below = target + 1;
    }
  }
}

/* Greedy in every order; the smallest plan ends up in buffers. */
static int best_greedy(pm_buffer_t *buffers, size_t count, uint64_t *best) {
  if (_pm_greedy_solve(buffers, count, PM_GREEDY_BY_SIZE, best) < 0) return -1;
  pm_buffer_t *trial = malloc(count * sizeof *trial);
  if (!trial) return 0; /* greedy-size's plan is a fine answer */
  for (int order = PM_GREEDY_BY_SIZE + 1; order < PM_GREEDY_ORDERS; order++) {
    memcpy(trial, buffers, count * sizeof *trial);
    uint64_t arena;
    if (_pm_greedy_solve(trial, count, (pm_greedy_order_t)order, &arena) == 0 && arena < *best) {
      memcpy(buffers, trial, count * sizeof *trial);
      *best = arena;
    }
  }
  free(trial);
  return 0;
}

int _pm_best_solve(pm_buffer_t *buffers, size_t count, const pm_solve_options_t *options,
                   uint64_t *arena_size) {
  uint64_t best;
  if (count == 0) {
    *arena_size = 0;
    return 0;
  }
  if (best_greedy(buffers, count, &best) < 0) return -1;
  *arena_size = best;
  uint64_t lower = _pm_plan_padded_lower_bound(buffers, count);
  uint64_t capacity = options->capacity;
  if (best <= lower || (capacity && best <= capacity)) return 0;
  /* Too large to search (or no memory for it): the greedy plan stands. */
  pm_search_t *search = _pm_search_create(buffers, count);
  if (!search) return 0;
  uint64_t *offsets = malloc(count * sizeof *offsets);
  if (!offsets) {
    _pm_search_destroy(search);
    return 0;
  }
  uint64_t limit_ms = options->time_limit_ms ? options->time_limit_ms : DEFAULT_TIME_LIMIT_MS;
  uint64_t work =
      limit_ms > UINT64_MAX / WORK_UNITS_PER_MS ? UINT64_MAX : limit_ms * WORK_UNITS_PER_MS;
  if (capacity >= lower) {
    uint64_t work_left = work;
    if (_pm_search_fit(search, capacity, &work_left, offsets) == PM_SEARCH_FOUND) {
      plan_adopt(buffers, count, offsets);
      best = plan_arena(buffers, count);
    }
  } else {
    best_minimise(search, buffers, count, offsets, lower, &best, work);
  }
  free(offsets);
  _pm_search_destroy(search);
  *arena_size = best;
  return 0;
}
