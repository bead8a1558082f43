/* algorithm.c: the solvers' entry point. Names the algorithms, checks what
 * the solvers rely on, and dispatches; the naive layout lives here as it is
 * a few lines. */
#include "planner/planner.h"
#include "planner/solver.h"

#include <errno.h>
#include <string.h>

static const char *const algorithm_names[] = {
    [PM_ALGORITHM_NAIVE] = "naive",
    [PM_ALGORITHM_GREEDY_SIZE] = "greedy-size",
    [PM_ALGORITHM_BEST] = "best",
};

#define ALGORITHM_COUNT (sizeof algorithm_names / sizeof algorithm_names[0])

int _pm_algorithm_parse(const char *name, pm_algorithm_t *out) {
  if (!name) return -1;
  for (size_t a = 0; a < ALGORITHM_COUNT; a++)
    if (strcmp(name, algorithm_names[a]) == 0) {
      *out = (pm_algorithm_t)a;
      return 0;
    }
  return -1;
}

const char *_pm_algorithm_name(pm_algorithm_t algorithm) {
  return (size_t)algorithm < ALGORITHM_COUNT ? algorithm_names[algorithm] : "unknown";
}

/* Buffers end to end, each offset rounded up to its alignment. */
static int naive_solve(pm_buffer_t *buffers, size_t count, uint64_t *arena_size) {
  uint64_t end = 0;
  for (size_t i = 0; i < count; i++) {
    if (!solver_align_up(end, buffers[i].alignment, &buffers[i].offset) ||
        buffers[i].offset > UINT64_MAX - buffers[i].size) {
      errno = EOVERFLOW;
      return -1;
    }
    end = buffers[i].offset + buffers[i].size;
  }
  *arena_size = end;
  return 0;
}

int _pm_plan_solve(pm_buffer_t *buffers, size_t count, const pm_solve_options_t *options,
                   uint64_t *arena_size) {
  /* The solvers index buffers with 32 bits. */
  if (count >= UINT32_MAX / 2) {
    errno = EOVERFLOW;
    return -1;
  }
  switch (options->algorithm) {
  case PM_ALGORITHM_NAIVE:
    return naive_solve(buffers, count, arena_size);
  case PM_ALGORITHM_GREEDY_SIZE:
    return _pm_greedy_solve(buffers, count, PM_GREEDY_BY_SIZE, arena_size);
  case PM_ALGORITHM_BEST:
    return _pm_best_solve(buffers, count, options, arena_size);
  }
  errno = EINVAL;
  return -1;
}
