/* fuzz_plan.c: libFuzzer target for poolmalloc-plan's input path: the CSV
 * reader and, for every problem it accepts, the solvers.
 *
 * Properties checked (a violation traps so libFuzzer keeps the input):
 *   - a rejected file gets a non-empty one-line message;
 *   - greedy-size places every buffer so that _pm_plan_validate passes,
 *     the arena is at least the lower bound and covers every buffer;
 *   - "best" is never larger than greedy-size and also validates.
 * The reader takes a path, so the input is handed over through a memfd. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "planner/csv.h"
#include "planner/planner.h"

/* Keeps each exec in the millisecond range: the search is exponential. */
#define MAX_BUFFERS 200
#define MAX_INPUT   8192

static int input_fd = -1;
static char input_path[64];

static void input_store(const uint8_t *data, size_t size) {
  if (input_fd < 0) {
    input_fd = memfd_create("fuzz_plan.csv", 0);
    if (input_fd < 0) __builtin_trap();
    snprintf(input_path, sizeof input_path, "/proc/self/fd/%d", input_fd);
  }
  if (ftruncate(input_fd, 0) != 0 || pwrite(input_fd, data, size, 0) != (ssize_t)size)
    __builtin_trap();
}

/* Alignments the CSV form cannot express, taken from the id so the same
 * file always gives the same problem: powers of two up to 256. */
static uint64_t alignment_of(const char *id) {
  uint32_t hash = 2166136261u; /* FNV-1a */
  for (const char *c = id; *c != '\0'; c++)
    hash = (hash ^ (uint8_t)*c) * 16777619u;
  return (uint64_t)1 << (hash % 9);
}

/* Solves with one algorithm, checks the result, returns the arena size or
 * UINT64_MAX when the solver refused (only overflow is an accepted reason). */
static uint64_t solve_checked(pm_buffer_t *buffers, size_t count, pm_algorithm_t algorithm) {
  pm_solve_options_t options = {.algorithm = algorithm, .time_limit_ms = 1, .capacity = 0};
  uint64_t arena_size = 0;
  errno = 0;
  if (_pm_plan_solve(buffers, count, &options, &arena_size) != 0) {
    if (errno != EOVERFLOW) __builtin_trap();
    return UINT64_MAX;
  }
  size_t first, second;
  if (_pm_plan_validate(buffers, count, &first, &second) != 0) __builtin_trap();
  if (arena_size < _pm_plan_lower_bound(buffers, count)) __builtin_trap();
  for (size_t i = 0; i < count; i++)
    if (buffers[i].offset > arena_size || buffers[i].size > arena_size - buffers[i].offset)
      __builtin_trap();
  return arena_size;
}

static void plan_problem(const pm_csv_problem_t *problem) {
  size_t count = problem->count;
  pm_buffer_t *buffers = calloc(count + 1, sizeof *buffers);
  if (buffers == NULL) __builtin_trap();
  for (size_t i = 0; i < count; i++) {
    const pm_csv_row_t *row = &problem->rows[i];
    buffers[i] = (pm_buffer_t){.lower = row->lower,
                               .upper = row->upper,
                               .size = row->size,
                               .alignment = alignment_of(row->id)};
  }
  uint64_t greedy = solve_checked(buffers, count, PM_ALGORITHM_GREEDY_SIZE);
  uint64_t best = solve_checked(buffers, count, PM_ALGORITHM_BEST);
  if (best > greedy) __builtin_trap();
  free(buffers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MAX_INPUT) return 0;
  input_store(data, size);
  pm_csv_problem_t problem;
  char error[256] = "";
  if (_pm_csv_read_problem(input_path, &problem, error, sizeof error) != 0) {
    if (error[0] == '\0' || strchr(error, '\n') != NULL) __builtin_trap();
    return 0;
  }
  if (problem.count <= MAX_BUFFERS) plan_problem(&problem);
  _pm_csv_free_problem(&problem);
  return 0;
}
