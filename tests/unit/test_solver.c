/* test_solver.c: the planner's solvers on hand-worked and random problems:
 * the validator catches bad plans, the bounds are what they claim, greedy
 * by size places exactly as TFLite's rule says, and best is valid, never
 * worse than greedy-size and optimal where the optimum is known. */
#include "planner/planner.h"
#include "planner/solver.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

/* A hang fails its test, not the whole run (Criterion applies no time
 * limit to a test whose suite and declaration set none). */
TestSuite(validate, .timeout = 30);
TestSuite(bounds, .timeout = 30);
TestSuite(greedy, .timeout = 30);
TestSuite(solver, .timeout = 30);
TestSuite(search, .timeout = 30);
TestSuite(best, .timeout = 60);
TestSuite(random, .timeout = 120);

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t solve(pm_buffer_t *buffers, size_t count, pm_algorithm_t algorithm,
                      uint64_t time_limit_ms) {
  pm_solve_options_t options = {algorithm, time_limit_ms, 0};
  uint64_t arena = 0;
  cr_assert_eq(_pm_plan_solve(buffers, count, &options, &arena), 0, "%s failed",
               _pm_algorithm_name(algorithm));
  return arena;
}

static void assert_valid(const pm_buffer_t *buffers, size_t count, const char *what) {
  size_t first = 0, second = 0;
  cr_assert_eq(_pm_plan_validate(buffers, count, &first, &second), 0,
               "%s: buffers %zu and %zu collide", what, first, second);
  uint64_t arena = 0;
  for (size_t i = 0; i < count; i++)
    if (buffers[i].offset + buffers[i].size > arena) arena = buffers[i].offset + buffers[i].size;
  cr_assert_geq(arena, _pm_plan_lower_bound(buffers, count), "%s: below the lower bound", what);
}

Test(solver, algorithm_names_round_trip) {
  pm_algorithm_t algorithm;
  const char *names[] = {"naive", "greedy-size", "best"};
  for (size_t i = 0; i < LEN(names); i++) {
    cr_assert_eq(_pm_algorithm_parse(names[i], &algorithm), 0);
    cr_assert_str_eq(_pm_algorithm_name(algorithm), names[i]);
  }
  cr_assert_eq(_pm_algorithm_parse("greedy", &algorithm), -1);
  cr_assert_eq(_pm_algorithm_parse(NULL, &algorithm), -1);
}

Test(solver, empty_problem_gives_empty_arena) {
  pm_buffer_t none[1];
  for (int a = PM_ALGORITHM_NAIVE; a <= PM_ALGORITHM_BEST; a++)
    cr_assert_eq(solve(none, 0, (pm_algorithm_t)a, 0), 0);
  size_t first, second;
  cr_assert_eq(_pm_plan_validate(none, 0, &first, &second), 0);
  cr_assert_eq(_pm_plan_lower_bound(none, 0), 0);
  cr_assert_eq(_pm_plan_naive_bytes(none, 0), 0);
}

Test(validate, accepts_touching_buffers) {
  /* Half-open in time and in address: sharing an end point is no overlap. */
  pm_buffer_t plan[] = {
      {0, 2, 100, 1, 0},
      {2, 4, 100, 1, 0},  /* same bytes, starts when the first ends */
      {0, 4, 50, 1, 100}, /* right above the first two */
  };
  size_t first, second;
  cr_assert_eq(_pm_plan_validate(plan, LEN(plan), &first, &second), 0);
}

Test(validate, catches_overlap) {
  pm_buffer_t plan[] = {
      {0, 10, 64, 1, 0},
      {20, 30, 64, 1, 0},
      {5, 25, 16, 1, 200},
      {9, 12, 8, 1, 60}, /* bytes 60..68 at step 9 meet buffer 0's 0..64 */
  };
  size_t first = 99, second = 99;
  cr_assert_eq(_pm_plan_validate(plan, LEN(plan), &first, &second), -1);
  cr_assert_eq(first, 0);
  cr_assert_eq(second, 3);
  plan[3].offset = 64; /* now it sits right above buffer 0 */
  cr_assert_eq(_pm_plan_validate(plan, LEN(plan), &first, &second), 0);
  plan[2].offset = 40; /* meets buffer 0 at steps 5..10 and buffer 1 after 20 */
  cr_assert_eq(_pm_plan_validate(plan, LEN(plan), &first, &second), -1);
  cr_assert(first == 0 || first == 1, "pair %zu,%zu", first, second);
  cr_assert_eq(second, 2);
}

Test(validate, catches_same_offset_and_containment) {
  pm_buffer_t same[] = {{0, 5, 8, 8, 16}, {4, 9, 8, 8, 16}};
  size_t first, second;
  cr_assert_eq(_pm_plan_validate(same, LEN(same), &first, &second), -1);
  pm_buffer_t inside[] = {{0, 9, 100, 1, 0}, {3, 4, 1, 1, 50}};
  cr_assert_eq(_pm_plan_validate(inside, LEN(inside), &first, &second), -1);
  cr_assert_eq(first, 0);
  cr_assert_eq(second, 1);
}

Test(validate, catches_misalignment_and_overflow) {
  pm_buffer_t plan[] = {{0, 1, 8, 64, 0}, {1, 2, 8, 64, 96}};
  size_t first, second;
  cr_assert_eq(_pm_plan_validate(plan, LEN(plan), &first, &second), -1);
  cr_assert_eq(first, 1);
  cr_assert_eq(second, 1);
  pm_buffer_t wraps[] = {{0, 1, 16, 1, UINT64_MAX - 8}};
  cr_assert_eq(_pm_plan_validate(wraps, LEN(wraps), &first, &second), -1);
  cr_assert_eq(first, 0);
}

/* The naive figure is the naive layout's size: padding between buffers
 * counts, the last buffer's does not, and the naive algorithm saves 0. */
Test(bounds, naive_is_the_end_to_end_layout) {
  pm_buffer_t buffers[] = {{0, 1, 10, 16, 0}, {0, 1, 100, 64, 0}, {5, 6, 64, 64, 0}};
  cr_assert_eq(_pm_plan_naive_bytes(buffers, LEN(buffers)), 64 + 128 + 64);
  pm_buffer_t plan[LEN(buffers)];
  for (size_t i = 0; i < LEN(buffers); i++)
    plan[i] = buffers[i];
  cr_assert_eq(solve(plan, LEN(plan), PM_ALGORITHM_NAIVE, 0), 256);
  cr_assert_eq(plan[1].offset, 64);
  cr_assert_eq(plan[2].offset, 192);
  assert_valid(plan, LEN(plan), "naive");
}

Test(bounds, lower_bound_is_peak_live_bytes) {
  /* Step 0: 100; step 1: 100 + 50; step 2: 50 + 70 (the first has ended);
   * step 3: 70. */
  pm_buffer_t buffers[] = {{0, 2, 100, 1, 0}, {1, 3, 50, 1, 0}, {2, 4, 70, 1, 0}};
  cr_assert_eq(_pm_plan_lower_bound(buffers, LEN(buffers)), 150);
  pm_buffer_t apart[] = {{0, 1, 30, 1, 0}, {1, 2, 40, 1, 0}, {2, 3, 20, 1, 0}};
  cr_assert_eq(_pm_plan_lower_bound(apart, LEN(apart)), 40);
  cr_assert_eq(_pm_plan_lower_bound(apart, 0), 0);
}

Test(greedy, hand_worked_example) {
  /* Largest first. A, B, C, D, E stack up at steps 0..2; from step 3 on only
   * A (0..100), C (180..250) and E (310..368) stay, leaving gaps of 80 at 100
   * and of 60 at 250. F (55) takes the smaller gap, at 250; G (45) then
   * only fits the gap at 100; H (30) the rest of it, 145..180, above G; I
   * (3, aligned to 8) goes to 152 in what is left of that gap at step 6. */
  pm_buffer_t buffers[] = {
      {0, 10, 100, 1, 0}, /* A */
      {0, 3, 80, 1, 0},   /* B */
      {0, 10, 70, 1, 0},  /* C */
      {0, 3, 60, 1, 0},   /* D */
      {0, 10, 58, 1, 0},  /* E */
      {4, 8, 55, 1, 0},   /* F */
      {5, 9, 45, 1, 0},   /* G */
      {4, 6, 30, 1, 0},   /* H */
      {6, 7, 3, 8, 0},    /* I */
  };
  uint64_t expected[] = {0, 100, 180, 250, 310, 250, 100, 145, 152};
  cr_assert_eq(solve(buffers, LEN(buffers), PM_ALGORITHM_GREEDY_SIZE, 0), 368);
  for (size_t i = 0; i < LEN(buffers); i++)
    cr_assert_eq(buffers[i].offset, expected[i], "buffer %zu at %lu, expected %lu", i,
                 (unsigned long)buffers[i].offset, (unsigned long)expected[i]);
  assert_valid(buffers, LEN(buffers), "greedy-size");
}

Test(greedy, refuses_offsets_that_overflow) {
  pm_buffer_t buffers[] = {{0, 2, UINT64_MAX - 10, 1, 0}, {1, 3, 100, 1, 0}};
  pm_solve_options_t options = {PM_ALGORITHM_GREEDY_SIZE, 0, 0};
  uint64_t arena;
  cr_assert_eq(_pm_plan_solve(buffers, LEN(buffers), &options, &arena), -1);
  options.algorithm = PM_ALGORITHM_NAIVE;
  cr_assert_eq(_pm_plan_solve(buffers, LEN(buffers), &options, &arena), -1);
}

/* A fixed generator, so every run sees the same problems. */
static uint64_t next_random(uint64_t *state) {
  *state = *state * 6364136223846793005u + 1442695040888963407u;
  return *state >> 33;
}

static void random_problem(uint64_t *state, pm_buffer_t *buffers, size_t count, uint64_t steps,
                           uint64_t max_length, uint64_t max_size) {
  static const uint64_t alignments[] = {1, 1, 4, 8, 64, 256};
  for (size_t i = 0; i < count; i++) {
    uint64_t lower = next_random(state) % steps;
    uint64_t length = 1 + next_random(state) % max_length;
    uint64_t size = 1 + next_random(state) % max_size;
    buffers[i] = (pm_buffer_t){lower, lower + length, size,
                               alignments[next_random(state) % LEN(alignments)], 0};
  }
}

Test(random, every_algorithm_valid_and_best_never_worse, .timeout = 60) {
  uint64_t state = 42;
  pm_buffer_t problem[120], plan[120];
  for (int round = 0; round < 100; round++) {
    size_t count = 1 + next_random(&state) % LEN(problem);
    uint64_t steps = 2 + next_random(&state) % 200;
    uint64_t max_size = round % 2 ? 64 : 1u << 20;
    random_problem(&state, problem, count, steps, steps / 2 + 1, max_size);
    uint64_t arena[3];
    for (int a = PM_ALGORITHM_NAIVE; a <= PM_ALGORITHM_BEST; a++) {
      for (size_t i = 0; i < count; i++)
        plan[i] = problem[i];
      arena[a] = solve(plan, count, (pm_algorithm_t)a, 5);
      assert_valid(plan, count, _pm_algorithm_name((pm_algorithm_t)a));
    }
    cr_assert_leq(arena[PM_ALGORITHM_BEST], arena[PM_ALGORITHM_GREEDY_SIZE],
                  "round %d: best %lu > greedy-size %lu", round,
                  (unsigned long)arena[PM_ALGORITHM_BEST],
                  (unsigned long)arena[PM_ALGORITHM_GREEDY_SIZE]);
  }
}

Test(random, large_problems_valid, .timeout = 120) {
  /* Sizes on both sides of the search's limit of 4096 buffers. */
  static const size_t counts[] = {3000, 6000};
  uint64_t state = 2024;
  for (size_t c = 0; c < LEN(counts); c++) {
    size_t count = counts[c];
    pm_buffer_t *problem = malloc(count * sizeof *problem), *plan = malloc(count * sizeof *plan);
    cr_assert(problem && plan, "no memory for the test");
    random_problem(&state, problem, count, count, 40, 1u << 16);
    for (size_t i = 0; i < count; i++)
      plan[i] = problem[i];
    uint64_t greedy = solve(plan, count, PM_ALGORITHM_GREEDY_SIZE, 0);
    assert_valid(plan, count, "greedy-size");
    for (size_t i = 0; i < count; i++)
      plan[i] = problem[i];
    cr_assert_leq(solve(plan, count, PM_ALGORITHM_BEST, 50), greedy);
    assert_valid(plan, count, "best");
    free(problem);
    free(plan);
  }
}

typedef struct small_stack_plan_s {
  pm_buffer_t *plan;
  size_t count;
  int status;
  uint64_t arena;
} small_stack_plan_t;

static void *plan_on_this_stack(void *arg) {
  small_stack_plan_t *job = arg;
  pm_solve_options_t options = {PM_ALGORITHM_BEST, 50, 0};
  job->status = _pm_plan_solve(job->plan, job->count, &options, &job->arena);
  return NULL;
}

/* The search recurses one level per buffer placed: a thread with a small
 * stack (a JVM's 1 MiB, or less) must get the greedy plan rather than a
 * stack overflow when the problem is deep. */
Test(best, a_small_thread_stack_limits_the_search_not_the_program, .timeout = 60) {
  enum { COUNT = 3000, STACK = 128 << 10 };
  uint64_t state = 2024;
  pm_buffer_t *plan = malloc(COUNT * sizeof *plan);
  cr_assert(plan != NULL, "no memory for the test");
  random_problem(&state, plan, COUNT, COUNT, 40, 1u << 16);
  small_stack_plan_t job = {plan, COUNT, -1, 0};
  pthread_attr_t attr;
  pthread_t thread;
  cr_assert_eq(pthread_attr_init(&attr), 0);
  cr_assert_eq(pthread_attr_setstacksize(&attr, STACK), 0);
  cr_assert_eq(pthread_create(&thread, &attr, plan_on_this_stack, &job), 0);
  pthread_join(thread, NULL);
  pthread_attr_destroy(&attr);
  cr_assert_eq(job.status, 0, "best failed on a small stack");
  assert_valid(plan, COUNT, "best on a small stack");
  free(plan);
}

/* The same on a stack the program made itself, which pthread does not
 * know: a coroutine's (makecontext), with a guard page below it. */
static small_stack_plan_t *coroutine_job;
static ucontext_t coroutine_caller, coroutine;

static void plan_in_coroutine(void) {
  plan_on_this_stack(coroutine_job);
}

Test(best, a_coroutine_stack_limits_the_search_not_the_program, .timeout = 60) {
  enum { COUNT = 3000, STACK = 64 << 10, GUARD = 4096 };
  uint64_t state = 2024;
  pm_buffer_t *plan = malloc(COUNT * sizeof *plan);
  cr_assert(plan != NULL, "no memory for the test");
  random_problem(&state, plan, COUNT, COUNT, 40, 1u << 16);
  small_stack_plan_t job = {plan, COUNT, -1, 0};
  uint8_t *stack =
      mmap(NULL, GUARD + STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert(stack != MAP_FAILED, "no memory for the coroutine's stack");
  cr_assert_eq(mprotect(stack, GUARD, PROT_NONE), 0);
  cr_assert_eq(getcontext(&coroutine), 0);
  coroutine.uc_stack.ss_sp = stack + GUARD;
  coroutine.uc_stack.ss_size = STACK;
  coroutine.uc_link = &coroutine_caller;
  coroutine_job = &job;
  makecontext(&coroutine, plan_in_coroutine, 0);
  cr_assert_eq(swapcontext(&coroutine_caller, &coroutine), 0);
  munmap(stack, GUARD + STACK);
  cr_assert_eq(job.status, 0, "best failed on a coroutine's stack");
  assert_valid(plan, COUNT, "best on a coroutine's stack");
  free(plan);
}

static void assert_best_reaches(pm_buffer_t *buffers, size_t count, uint64_t expected) {
  uint64_t lower = _pm_plan_lower_bound(buffers, count);
  cr_assert_eq(lower, expected, "lower bound %lu", (unsigned long)lower);
  cr_assert_eq(solve(buffers, count, PM_ALGORITHM_BEST, 0), expected);
  assert_valid(buffers, count, "best");
}

Test(best, chain_reaches_lower_bound) {
  /* Each op reads the previous tensor and writes the next. */
  pm_buffer_t chain[] = {
      {0, 2, 150528, 64, 0}, {1, 3, 802816, 64, 0}, {2, 4, 200704, 64, 0},
      {3, 5, 802816, 64, 0}, {4, 6, 100352, 64, 0}, {5, 7, 4096, 64, 0},
  };
  assert_best_reaches(chain, LEN(chain), 1003520);
}

Test(best, diamond_reaches_lower_bound) {
  /* a feeds b and c, which both feed d: at step 2, a, b and c are live; at
   * step 3, b, c and d. */
  pm_buffer_t diamond[] = {
      {0, 3, 64, 64, 0},  /* a */
      {1, 4, 128, 64, 0}, /* b */
      {2, 4, 64, 64, 0},  /* c */
      {3, 4, 256, 64, 0}, /* d */
  };
  assert_best_reaches(diamond, LEN(diamond), 448);
}

Test(best, beats_greedy_where_greedy_is_suboptimal) {
  /* Greedy puts the 6 at 0, the 5 at 0 too (they never meet), the 2 live
   * over [2,5) above the 6 at 6, and the last 2 finds only a 1-byte gap
   * under it: arena 10. Putting the long 2 at 0 under everything gives the
   * peak of step 3, 5 + 2 + 2 = 9. */
  pm_buffer_t buffers[] = {{3, 4, 5, 1, 0}, {2, 5, 2, 1, 0}, {3, 5, 2, 1, 0}, {1, 3, 6, 1, 0}};
  pm_buffer_t greedy[LEN(buffers)];
  for (size_t i = 0; i < LEN(buffers); i++)
    greedy[i] = buffers[i];
  cr_assert_eq(solve(greedy, LEN(greedy), PM_ALGORITHM_GREEDY_SIZE, 0), 10);
  assert_best_reaches(buffers, LEN(buffers), 9);
}

Test(best, capacity_stops_at_a_fitting_plan) {
  pm_buffer_t buffers[] = {{3, 4, 5, 1, 0}, {2, 5, 2, 1, 0}, {3, 5, 2, 1, 0}, {1, 3, 6, 1, 0}};
  pm_solve_options_t options = {PM_ALGORITHM_BEST, 0, 9};
  uint64_t arena;
  cr_assert_eq(_pm_plan_solve(buffers, LEN(buffers), &options, &arena), 0);
  cr_assert_eq(arena, 9);
  assert_valid(buffers, LEN(buffers), "best with capacity");
}

/* The optimum by brute force: some order of the buffers, each put at the
 * lowest offset where it fits, reaches it (push an optimal plan down and
 * take its buffers by offset). Tries every order of up to 7 buffers. */
static uint64_t brute_force_place(pm_buffer_t *buffers, const size_t *order, size_t count) {
  uint64_t arena = 0;
  for (size_t n = 0; n < count; n++) {
    pm_buffer_t *b = &buffers[order[n]];
    uint64_t offset = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (size_t m = 0; m < n; m++) {
        const pm_buffer_t *o = &buffers[order[m]];
        if (o->lower < b->upper && b->lower < o->upper && o->offset < offset + b->size &&
            offset < o->offset + o->size) {
          offset = (o->offset + o->size + b->alignment - 1) & ~(b->alignment - 1);
          moved = true;
        }
      }
    }
    b->offset = offset;
    if (offset + b->size > arena) arena = offset + b->size;
  }
  return arena;
}

static uint64_t brute_force_optimum(pm_buffer_t *buffers, size_t *order, size_t at, size_t count) {
  if (at == count) return brute_force_place(buffers, order, count);
  uint64_t best = UINT64_MAX;
  for (size_t i = at; i < count; i++) {
    size_t swap = order[at];
    order[at] = order[i];
    order[i] = swap;
    uint64_t arena = brute_force_optimum(buffers, order, at + 1, count);
    if (arena < best) best = arena;
    order[i] = order[at];
    order[at] = swap;
  }
  return best;
}

Test(best, optimal_on_small_problems, .timeout = 60) {
  uint64_t state = 7;
  pm_buffer_t problem[7], plan[7];
  size_t order[7];
  int greedy_beaten = 0;
  for (int round = 0; round < 60; round++) {
    size_t count = 2 + next_random(&state) % LEN(problem) % 6;
    random_problem(&state, problem, count, 8, 5, round % 2 ? 16 : 300);
    for (size_t i = 0; i < count; i++) {
      plan[i] = problem[i];
      order[i] = i;
    }
    uint64_t optimum = brute_force_optimum(plan, order, 0, count);
    uint64_t padded = _pm_plan_padded_lower_bound(problem, count);
    cr_assert_leq(padded, optimum, "round %d: the padded bound %lu is above the optimum %lu", round,
                  (unsigned long)padded, (unsigned long)optimum);
    cr_assert_geq(padded, _pm_plan_lower_bound(problem, count), "round %d", round);
    for (size_t i = 0; i < count; i++)
      plan[i] = problem[i];
    uint64_t greedy = solve(plan, count, PM_ALGORITHM_GREEDY_SIZE, 0);
    for (size_t i = 0; i < count; i++)
      plan[i] = problem[i];
    uint64_t best = solve(plan, count, PM_ALGORITHM_BEST, 0);
    assert_valid(plan, count, "best");
    cr_assert_eq(best, optimum, "round %d: best %lu, optimum %lu", round, (unsigned long)best,
                 (unsigned long)optimum);
    greedy_beaten += greedy > optimum;
  }
  /* The comparison only means something if greedy missed some optimum. */
  cr_assert_gt(greedy_beaten, 0);
}

/* Buffers live together whose sizes are not multiples of their alignment:
 * every placement pays the rounding of all but the topmost, so the bound
 * the search aims at counts it, and best stops at greedy's plan, which
 * reaches it, instead of probing targets below it that no plan meets. */
Test(bounds, the_padded_bound_counts_the_rounding_no_plan_avoids) {
  static const uint64_t sizes[] = {300, 129, 1000, 64, 70, 513};
  pm_buffer_t buffers[LEN(sizes) + 1];
  uint64_t rounded = 0, largest_padding = 0, plain = 0;
  for (size_t i = 0; i < LEN(sizes); i++) {
    buffers[i] = (pm_buffer_t){0, 4, sizes[i], 64, 0};
    uint64_t padding = (64 - sizes[i] % 64) % 64;
    rounded += sizes[i] + padding;
    plain += sizes[i];
    if (padding > largest_padding) largest_padding = padding;
  }
  uint64_t optimum = rounded - largest_padding;
  cr_assert_eq(_pm_plan_lower_bound(buffers, LEN(sizes)), plain);
  cr_assert_eq(_pm_plan_padded_lower_bound(buffers, LEN(sizes)), optimum);
  cr_assert_eq(solve(buffers, LEN(sizes), PM_ALGORITHM_BEST, 0), optimum);
  assert_valid(buffers, LEN(sizes), "best");
  /* A buffer of alignment 1 beside them counts in full, unrounded, and
   * may sit in the gaps: the bound of the aligned ones still holds. */
  buffers[LEN(sizes)] = (pm_buffer_t){0, 4, 10, 1, 0};
  cr_assert_eq(_pm_plan_padded_lower_bound(buffers, LEN(buffers)), optimum);
}

/* The search's own bounds count padding too: with 40 buffers live together
 * whose sizes are not multiples of their alignment, a capacity one byte
 * below the padded optimum is refuted within a small budget rather than
 * after trying the orders of 40 buffers, and the optimum, where the buffer
 * with the largest rounding must end on top, is found as quickly. */
Test(search, padding_refutes_a_capacity_below_the_padded_optimum) {
  enum { COUNT = 40, BUDGET = 100000 };
  pm_buffer_t buffers[COUNT];
  uint64_t rounded = 0, largest_padding = 0;
  for (size_t i = 0; i < COUNT; i++) {
    buffers[i] = (pm_buffer_t){0, 1, 100 + 37 * i, 64, 0};
    uint64_t padding = (64 - buffers[i].size % 64) % 64;
    rounded += buffers[i].size + padding;
    if (padding > largest_padding) largest_padding = padding;
  }
  uint64_t optimum = rounded - largest_padding, offsets[COUNT];
  pm_search_t *search = _pm_search_create(buffers, COUNT);
  cr_assert_not_null(search);
  uint64_t work_left = BUDGET;
  cr_assert_eq(_pm_search_fit(search, optimum - 1, &work_left, offsets), PM_SEARCH_INFEASIBLE,
               "%lu bytes: not refuted within %d work units", (unsigned long)(optimum - 1), BUDGET);
  work_left = BUDGET;
  cr_assert_eq(_pm_search_fit(search, optimum, &work_left, offsets), PM_SEARCH_FOUND,
               "%lu bytes: no plan found within %d work units", (unsigned long)optimum, BUDGET);
  _pm_search_destroy(search);
  for (size_t i = 0; i < COUNT; i++) {
    buffers[i].offset = offsets[i];
    cr_assert_leq(offsets[i] + buffers[i].size, optimum);
  }
  assert_valid(buffers, COUNT, "search");
}

/* Many buffers live over the whole schedule (weights): they are stacked end
 * to end, largest alignment first and otherwise in their order, and the
 * rest is planned on its own beside the stack, on whichever side leaves the
 * smaller arena. */
Test(solver, whole_run_buffers_are_stacked_beside_the_rest) {
  enum { WHOLE = 200, REST = 3 };
  pm_buffer_t buffers[WHOLE + REST];
  uint64_t stack = 0;
  for (size_t i = 0; i < WHOLE; i++) {
    buffers[i] = (pm_buffer_t){0, 10, 48 + (i % 5) * 16, 16, 0};
    stack += buffers[i].size; /* 16-byte sizes and alignments: no padding */
  }
  buffers[WHOLE - 1].alignment = 256; /* goes first */
  /* Three that take turns in one 1000-byte slot, 4096-aligned: above the
   * stack they would start at the next 4096 boundary, below it at 0. */
  for (size_t i = 0; i < REST; i++)
    buffers[WHOLE + i] = (pm_buffer_t){1 + 3 * i, 4 + 3 * i, 1000, 4096, 0};
  uint64_t stack_base = 1024; /* 1000 rounded up to the stack's 256 */
  for (int a = PM_ALGORITHM_GREEDY_SIZE; a <= PM_ALGORITHM_BEST; a++) {
    const char *name = _pm_algorithm_name((pm_algorithm_t)a);
    uint64_t arena = solve(buffers, LEN(buffers), (pm_algorithm_t)a, 0);
    assert_valid(buffers, LEN(buffers), name);
    cr_assert_eq(arena, stack_base + stack, "%s: arena %llu", name, (unsigned long long)arena);
    for (size_t i = 0; i < REST; i++)
      cr_assert_eq(buffers[WHOLE + i].offset, 0, "%s: the rest share one slot at 0", name);
    uint64_t at = stack_base;
    cr_assert_eq(buffers[WHOLE - 1].offset, at, "%s: the most aligned buffer heads the stack",
                 name);
    at += buffers[WHOLE - 1].size;
    for (size_t i = 0; i + 1 < WHOLE; i++) {
      cr_assert_eq(buffers[i].offset, at, "%s: whole-run buffer %zu at %llu, expected %llu", name,
                   i, (unsigned long long)buffers[i].offset, (unsigned long long)at);
      at += buffers[i].size;
    }
  }
}

Test(best, same_input_same_plan) {
  uint64_t state = 99;
  pm_buffer_t first[80], second[80];
  random_problem(&state, first, LEN(first), 40, 21, 1000);
  for (size_t i = 0; i < LEN(first); i++)
    second[i] = first[i];
  cr_assert_eq(solve(first, LEN(first), PM_ALGORITHM_BEST, 20),
               solve(second, LEN(second), PM_ALGORITHM_BEST, 20));
  for (size_t i = 0; i < LEN(first); i++)
    cr_assert_eq(first[i].offset, second[i].offset);
}
