/* plan_bench.c: how well and how fast the planner's solvers place buffers.
 *
 * Part 1, the eleven MiniMalloc "challenging" problems (google/minimalloc,
 * benchmarks/challenging): each must fit in 1,048,576 bytes. Prints the
 * lower bound, greedy-size's arena, best's arena and time, next to the time
 * MiniMalloc published for it (Moffitt, ASPLOS 2023).
 * Part 2, a synthetic problem of 10,000 random tensors: greedy-size's time
 * (median of several runs) and best's result. Times are given as wall and
 * CPU time; the "faster" count in the summary uses wall time.
 *
 * Usage: plan_bench [MINIMALLOC_DIR]; $POOLMALLOC_MINIMALLOC_DIR overrides
 * the directory. Files that are missing are reported and skipped. */
#include "planner/csv.h"
#include "planner/planner.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MINIMALLOC_CAPACITY 1048576u
#define BEST_TIME_LIMIT_MS  60000u
#define SYNTHETIC_TENSORS   10000u
#define GREEDY_RUNS         7

typedef struct published_s {
  const char *name;
  double minimalloc_seconds;
} published_t;

static const published_t published[] = {
    {"A", 4.9}, {"B", 3.7}, {"C", 0.64}, {"D", 2.7},  {"E", 3.7},  {"F", 5.4},
    {"G", 1.2}, {"H", 1.8}, {"I", 3.9},  {"J", 0.88}, {"K", 0.63},
};

static double clock_seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall time is what a user waits; CPU time stays meaningful on a loaded
 * machine, where the wall clock also counts other processes' turns. */
typedef struct timing_s {
  double wall, cpu;
} timing_t;

/* Reads a problem with the CLI's CSV reader; alignment 1 as in the
 * benchmark. Returns the buffer count, or -1 when the file is missing or
 * malformed (reported unless merely missing). */
static long read_problem(const char *path, pm_buffer_t **out) {
  if (access(path, R_OK) != 0) return -1;
  pm_csv_problem_t problem;
  char error[512];
  if (_pm_csv_read_problem(path, &problem, error, sizeof error) < 0) {
    fprintf(stderr, "plan_bench: %s\n", error);
    return -1;
  }
  pm_buffer_t *buffers = malloc((problem.count ? problem.count : 1) * sizeof *buffers);
  if (buffers)
    for (size_t i = 0; i < problem.count; i++)
      buffers[i] =
          (pm_buffer_t){problem.rows[i].lower, problem.rows[i].upper, problem.rows[i].size, 1, 0};
  long count = buffers ? (long)problem.count : -1;
  _pm_csv_free_problem(&problem);
  *out = buffers;
  return count;
}

static int check_valid(const char *what, const pm_buffer_t *buffers, size_t count) {
  size_t first, second;
  if (_pm_plan_validate(buffers, count, &first, &second) == 0) return 0;
  fprintf(stderr, "plan_bench: %s: INVALID plan (buffers %zu and %zu)\n", what, first, second);
  return -1;
}

static int solve(pm_buffer_t *buffers, size_t count, pm_algorithm_t algorithm, uint64_t capacity,
                 uint64_t time_limit_ms, uint64_t *arena, timing_t *timing) {
  pm_solve_options_t options = {algorithm, time_limit_ms, capacity};
  double wall = clock_seconds(CLOCK_MONOTONIC), cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
  int status = _pm_plan_solve(buffers, count, &options, arena);
  timing->wall = clock_seconds(CLOCK_MONOTONIC) - wall;
  timing->cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu;
  if (status < 0) fprintf(stderr, "plan_bench: solve failed: %s\n", strerror(errno));
  return status;
}

static int bench_minimalloc(const char *dir, unsigned *fitted, unsigned *faster, unsigned *ran) {
  printf("%-4s %7s %9s %9s %7s %9s %4s %8s %8s %8s\n", "file", "buffers", "lower", "greedy",
         "g/cap", "best", "fits", "best_s", "cpu_s", "mm_s");
  for (size_t f = 0; f < sizeof published / sizeof published[0]; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%u.csv", dir, published[f].name, MINIMALLOC_CAPACITY);
    pm_buffer_t *buffers;
    long count = read_problem(path, &buffers);
    if (count < 0) {
      printf("%-4s skipped: cannot read %s\n", published[f].name, path);
      continue;
    }
    uint64_t lower = _pm_plan_lower_bound(buffers, (size_t)count), greedy, best;
    timing_t greedy_time, best_time;
    if (solve(buffers, (size_t)count, PM_ALGORITHM_GREEDY_SIZE, 0, 0, &greedy, &greedy_time) < 0 ||
        check_valid(path, buffers, (size_t)count) < 0 ||
        solve(buffers, (size_t)count, PM_ALGORITHM_BEST, MINIMALLOC_CAPACITY, BEST_TIME_LIMIT_MS,
              &best, &best_time) < 0 ||
        check_valid(path, buffers, (size_t)count) < 0) {
      free(buffers);
      return -1;
    }
    int fits = best <= MINIMALLOC_CAPACITY;
    printf("%-4s %7ld %9" PRIu64 " %9" PRIu64 " %7.3f %9" PRIu64 " %4s %8.3f %8.3f %8.2f\n",
           published[f].name, count, lower, greedy, (double)greedy / MINIMALLOC_CAPACITY, best,
           fits ? "yes" : "no", best_time.wall, best_time.cpu, published[f].minimalloc_seconds);
    fflush(stdout);
    (*ran)++;
    *fitted += (unsigned)fits;
    *faster += (unsigned)(fits && best_time.wall < published[f].minimalloc_seconds);
    free(buffers);
  }
  return 0;
}

/* A fixed pseudo-random problem: xorshift keeps it the same everywhere. */
static uint64_t xorshift(uint64_t *state) {
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

static void make_synthetic(pm_buffer_t *buffers, size_t count) {
  uint64_t state = 0x9e3779b97f4a7c15u;
  for (size_t i = 0; i < count; i++) {
    uint64_t lower = xorshift(&state) % (count / 2);
    uint64_t length = 1 + xorshift(&state) % 64;
    uint64_t size = 64 + xorshift(&state) % (1u << 20);
    buffers[i] = (pm_buffer_t){lower, lower + length, size, 64, 0};
  }
}

static int double_compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int bench_synthetic(void) {
  pm_buffer_t *buffers = malloc(SYNTHETIC_TENSORS * sizeof *buffers);
  if (!buffers) return -1;
  make_synthetic(buffers, SYNTHETIC_TENSORS);
  uint64_t lower = _pm_plan_lower_bound(buffers, SYNTHETIC_TENSORS), greedy = 0, best;
  double wall[GREEDY_RUNS], cpu[GREEDY_RUNS];
  timing_t run, best_time;
  for (int r = 0; r < GREEDY_RUNS; r++) {
    if (solve(buffers, SYNTHETIC_TENSORS, PM_ALGORITHM_GREEDY_SIZE, 0, 0, &greedy, &run) < 0)
      goto fail;
    wall[r] = run.wall;
    cpu[r] = run.cpu;
  }
  if (check_valid("synthetic greedy-size", buffers, SYNTHETIC_TENSORS) < 0) goto fail;
  qsort(wall, GREEDY_RUNS, sizeof wall[0], double_compare);
  qsort(cpu, GREEDY_RUNS, sizeof cpu[0], double_compare);
  if (solve(buffers, SYNTHETIC_TENSORS, PM_ALGORITHM_BEST, 0, 0, &best, &best_time) < 0 ||
      check_valid("synthetic best", buffers, SYNTHETIC_TENSORS) < 0)
    goto fail;
  printf("\nsynthetic: %u random tensors, lower bound %" PRIu64 "\n", SYNTHETIC_TENSORS, lower);
  printf("  greedy-size: arena %" PRIu64 " (%.4f x lower bound), median of %d runs: %.2f ms wall, "
         "%.2f ms CPU\n",
         greedy, (double)greedy / (double)lower, GREEDY_RUNS, wall[GREEDY_RUNS / 2] * 1e3,
         cpu[GREEDY_RUNS / 2] * 1e3);
  printf("  best:        arena %" PRIu64 " (%.4f x lower bound), %.2f ms wall, %.2f ms CPU "
         "(default budget)\n",
         best, (double)best / (double)lower, best_time.wall * 1e3, best_time.cpu * 1e3);
  free(buffers);
  return 0;
fail:
  free(buffers);
  return -1;
}

int main(int argc, char **argv) {
  const char *dir = getenv("POOLMALLOC_MINIMALLOC_DIR");
  if (!dir || !*dir) dir = argc > 1 ? argv[1] : "../shared/data/minimalloc";
  printf("MiniMalloc challenging benchmarks from %s (capacity %u)\n", dir, MINIMALLOC_CAPACITY);
  unsigned fitted = 0, faster = 0, ran = 0;
  if (bench_minimalloc(dir, &fitted, &faster, &ran) < 0 || bench_synthetic() < 0) return 1;
  printf("\nsummary: best fits %u of %u MiniMalloc files, %u faster than MiniMalloc's published "
         "time\n",
         fitted, ran, faster);
  return 0;
}
