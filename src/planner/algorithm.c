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

/* Places buffers[order[0..n)] (order NULL: buffers[0..n)) end to end from
 * 0, each offset rounded up to its alignment; false on overflow. */
static bool place_end_to_end(pm_buffer_t *buffers, const size_t *order, size_t n, uint64_t *end) {
  uint64_t at = 0;
  for (size_t k = 0; k < n; k++) {
    pm_buffer_t *buffer = &buffers[order != NULL ? order[k] : k];
    if (!solver_align_up(at, buffer->alignment, &buffer->offset) ||
        buffer->offset > UINT64_MAX - buffer->size)
      return false;
    at = buffer->offset + buffer->size;
  }
  *end = at;
  return true;
}

static int naive_solve(pm_buffer_t *buffers, size_t count, uint64_t *arena_size) {
  if (place_end_to_end(buffers, NULL, count, arena_size)) return 0;
  errno = EOVERFLOW;
  return -1;
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
 * every step: the whole-run buffers can be stacked end to end, and the
 * rest planned on its own beside the stack, at the cost of alignment
 * padding only (the smaller of two layouts is kept: the stack below the
 * rest or above it, so the padding is at most the smaller of the two
 * groups' largest alignments). The solvers then never see them; greedy's
 * work grows with the square of the buffers live at once (10,000 weights
 * took about a second). Below this many the solvers run on everything,
 * which may fit alignments more tightly. */
#define WHOLE_RUN_STACK_MIN 64

static bool buffer_whole_run(const pm_buffer_t *buffer, uint64_t first, uint64_t end) {
  return buffer->lower == first && buffer->upper == end;
}

typedef struct stack_entry_s {
  uint64_t alignment;
  size_t index;
} stack_entry_t;

/* Largest alignment first, then in the buffers' order: the least padding
 * between stacked buffers, and a deterministic layout. */
static int stack_entry_compare(const void *a, const void *b) {
  const stack_entry_t *x = a, *y = b;
  if (x->alignment != y->alignment) return x->alignment > y->alignment ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Adds base to the offsets of buffers[order[0..n)] (checked not to overflow). */
static void offsets_shift(pm_buffer_t *buffers, const size_t *order, size_t n, uint64_t base) {
  for (size_t k = 0; k < n; k++)
    buffers[order[k]].offset += base;
}

/* Stacks the whole-run buffers, solves the rest into a copy, and puts the
 * two side by side; 1 if it did, 0 if too few are whole-run, -1 on error. */
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
  size_t *order = malloc(count * sizeof *order); /* the stack's, then the rest's */
  pm_buffer_t *rest = malloc((rest_count != 0 ? rest_count : 1) * sizeof *rest);
  stack_entry_t *entries = malloc(whole * sizeof *entries);
  if (order == NULL || rest == NULL || entries == NULL) {
    free(order);
    free(rest);
    free(entries);
    errno = ENOMEM;
    return -1;
  }
  size_t *rest_of = order + whole;
  size_t w = 0, r = 0;
  uint64_t rest_alignment = 1;
  for (size_t i = 0; i < count; i++) {
    if (buffer_whole_run(&buffers[i], first, end)) {
      order[w++] = i;
    } else {
      if (buffers[i].alignment > rest_alignment) rest_alignment = buffers[i].alignment;
      rest_of[r] = i;
      rest[r++] = buffers[i];
    }
  }
  for (size_t k = 0; k < whole; k++)
    entries[k] = (stack_entry_t){buffers[order[k]].alignment, order[k]};
  qsort(entries, whole, sizeof *entries, stack_entry_compare);
  for (size_t k = 0; k < whole; k++)
    order[k] = entries[k].index;
  uint64_t stack_alignment = entries[0].alignment, stack_end = 0, rest_size = 0;
  free(entries);
  bool ok = place_end_to_end(buffers, order, whole, &stack_end);
  if (ok && rest_count != 0) {
    if (solve_dispatch(rest, rest_count, options, &rest_size) != 0) {
      free(order);
      free(rest);
      return -1;
    }
    for (size_t k = 0; k < rest_count; k++)
      buffers[rest_of[k]].offset = rest[k].offset;
  }
  free(rest);
  /* The rest above the stack, or the stack above the rest: the smaller. */
  uint64_t rest_base = 0, stack_base = 0;
  bool rest_above = ok && solver_align_up(stack_end, rest_alignment, &rest_base) &&
                    rest_size <= UINT64_MAX - rest_base;
  bool stack_above = ok && rest_count != 0 &&
                     solver_align_up(rest_size, stack_alignment, &stack_base) &&
                     stack_end <= UINT64_MAX - stack_base;
  if (rest_count == 0) {
    *arena_size = stack_end;
  } else if (stack_above && (!rest_above || stack_base + stack_end < rest_base + rest_size)) {
    offsets_shift(buffers, order, whole, stack_base);
    *arena_size = stack_base + stack_end;
  } else if (rest_above) {
    offsets_shift(buffers, rest_of, rest_count, rest_base);
    *arena_size = rest_base + rest_size;
  } else {
    ok = false;
  }
  free(order);
  if (!ok) {
    errno = EOVERFLOW;
    return -1;
  }
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
