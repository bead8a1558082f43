/* algorithm.c: the solvers' entry point. Names the algorithms, checks what
 * the solvers rely on, and dispatches; the naive layout lives here as it is
 * a few lines. */
#include "planner/planner.h"
#include "planner/solver.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
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

static int solve_dispatch(pm_buffer_t *buffers, size_t count, const pm_solve_options_t *options,
                          uint64_t *arena_size) {
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

/* A buffer live over the whole schedule (a graph's inputs, outputs and
 * weights) overlaps every other, so in any plan its bytes are its own at
 * every step: stacking all of them at the bottom, end to end, and planning
 * the rest above them loses nothing but alignment padding. The solvers
 * then never see them; greedy's work grows with the square of the buffers
 * live at once (10,000 weights took about a second). Below this many the
 * solvers run on everything, which may fit alignments more tightly. */
#define WHOLE_RUN_STACK_MIN 64

static bool buffer_whole_run(const pm_buffer_t *buffer, uint64_t first, uint64_t end) {
  return buffer->lower == first && buffer->upper == end;
}

/* Stacks the whole-run buffers, solves the rest into a copy, and moves the
 * copy's offsets above the stack; 1 if it did, 0 if too few are whole-run,
 * -1 on error. */
static int solve_whole_run_first(pm_buffer_t *buffers, size_t count,
                                 const pm_solve_options_t *options, uint64_t *arena_size) {
  uint64_t first = UINT64_MAX, end = 0;
  for (size_t i = 0; i < count; i++) {
    if (buffers[i].lower < first) first = buffers[i].lower;
    if (buffers[i].upper > end) end = buffers[i].upper;
  }
  size_t whole = 0;
  for (size_t i = 0; i < count; i++)
    whole += buffer_whole_run(&buffers[i], first, end);
  if (whole < WHOLE_RUN_STACK_MIN) return 0;
  size_t rest_count = count - whole;
  pm_buffer_t *rest = malloc((rest_count != 0 ? rest_count : 1) * sizeof *rest);
  size_t *rest_of = malloc((rest_count != 0 ? rest_count : 1) * sizeof *rest_of);
  if (rest == NULL || rest_of == NULL) {
    free(rest);
    free(rest_of);
    errno = ENOMEM;
    return -1;
  }
  uint64_t stack_end = 0, rest_alignment = 1;
  size_t r = 0;
  int status = 0;
  for (size_t i = 0; i < count && status == 0; i++) {
    if (!buffer_whole_run(&buffers[i], first, end)) {
      if (buffers[i].alignment > rest_alignment) rest_alignment = buffers[i].alignment;
      rest_of[r] = i;
      rest[r++] = buffers[i];
    } else if (!solver_align_up(stack_end, buffers[i].alignment, &buffers[i].offset) ||
               buffers[i].offset > UINT64_MAX - buffers[i].size) {
      status = -1;
    } else {
      stack_end = buffers[i].offset + buffers[i].size;
    }
  }
  uint64_t base = 0, rest_size = 0;
  if (status == 0 && !solver_align_up(stack_end, rest_alignment, &base)) status = -1;
  if (status == 0 && rest_count != 0) {
    if (solve_dispatch(rest, rest_count, options, &rest_size) != 0) {
      free(rest);
      free(rest_of);
      return -1;
    }
    if (rest_size > UINT64_MAX - base) status = -1;
    for (size_t i = 0; i < rest_count && status == 0; i++)
      buffers[rest_of[i]].offset = base + rest[i].offset;
  }
  free(rest);
  free(rest_of);
  if (status != 0) {
    errno = EOVERFLOW;
    return -1;
  }
  *arena_size = rest_count != 0 ? base + rest_size : stack_end;
  return 1;
}

int _pm_plan_solve(pm_buffer_t *buffers, size_t count, const pm_solve_options_t *options,
                   uint64_t *arena_size) {
  /* The solvers index buffers with 32 bits. */
  if (count >= UINT32_MAX / 2) {
    errno = EOVERFLOW;
    return -1;
  }
  /* The naive layout is the reference that savings are measured against:
   * it stays end to end in the buffers' order. */
  if (options->algorithm != PM_ALGORITHM_NAIVE) {
    int stacked = solve_whole_run_first(buffers, count, options, arena_size);
    if (stacked != 0) return stacked < 0 ? -1 : 0;
  }
  return solve_dispatch(buffers, count, options, arena_size);
}
