/* planner.h: the planner's internal interface, shared by the files of
 * src/planner/.
 *
 * Kept apart as in TFLite's arena planner: lifetime analysis (graph.c, what
 * to plan) produces pm_buffer_t intervals; the solvers (where to put it)
 * only ever see those intervals and write offsets back. */
#ifndef PM_PLANNER_H
#define PM_PLANNER_H

#include <stddef.h>
#include <stdint.h>

/* One buffer to place: live over steps [lower, upper), size bytes, its
 * offset a multiple of alignment (a power of two, >= 1). */
typedef struct pm_buffer_s {
  uint64_t lower;
  uint64_t upper;
  uint64_t size;
  uint64_t alignment;
  uint64_t offset; /* written by the solver */
} pm_buffer_t;

typedef enum pm_algorithm_e {
  PM_ALGORITHM_NAIVE = 0,       /* no reuse: buffers end to end */
  PM_ALGORITHM_GREEDY_SIZE = 1, /* TFLite's rule: largest first, best-fit gap */
  PM_ALGORITHM_BEST = 2         /* search that never does worse than greedy-size */
} pm_algorithm_t;

typedef struct pm_solve_options_s {
  pm_algorithm_t algorithm;
  uint64_t time_limit_ms; /* budget for PM_ALGORITHM_BEST; 0 = default */
  uint64_t capacity;      /* optional target arena size the search may stop at; 0 = none */
} pm_solve_options_t;

/* Name <-> algorithm. Returns 0, or -1 for an unknown name. */
int _pm_algorithm_parse(const char *name, pm_algorithm_t *out);
const char *_pm_algorithm_name(pm_algorithm_t algorithm);

/* Writes an offset into every buffer and the arena size (the largest
 * offset + size) into *arena_size. Returns 0, or -1 when memory for the
 * search could not be had (buffers are then left unplaced). Input is assumed
 * valid: lower < upper, size > 0, alignment a power of two. */
int _pm_plan_solve(pm_buffer_t *buffers, size_t count, const pm_solve_options_t *options,
                   uint64_t *arena_size);

/* Sum of sizes, each rounded up to its alignment: the arena with no reuse. */
uint64_t _pm_plan_naive_bytes(const pm_buffer_t *buffers, size_t count);
/* Peak of bytes live at one step: no plan can be smaller. */
uint64_t _pm_plan_lower_bound(const pm_buffer_t *buffers, size_t count);

/* Checks a solved plan: every offset aligned, and no two buffers overlap in
 * both time and address. Returns 0 if valid; else -1 and the indexes of one
 * offending pair (*first == *second for a misaligned buffer). */
int _pm_plan_validate(const pm_buffer_t *buffers, size_t count, size_t *first, size_t *second);

#endif /* PM_PLANNER_H */
