/* plan_contract.c: what pm_graph_plan promises, as a program built against
 * poolmalloc.h alone (POOLMALLOC_RUNTIME_LINK), so that the same checks run
 * against the library (preloaded) and against the header's fallback (not
 * preloaded): a shape seen before is answered from the cache, with a limit
 * the least recently used plans are the ones dropped, the plan options'
 * alignment applies to tensors without one of their own, bad options,
 * overflowing totals and ops naming unknown tensors are refused alike, and
 * a graph or arena used after its destroy stops the program with one line
 * naming the call. Prints TAP
 * lines named after argv[1] and numbered after argv[2] (the plan line comes
 * from plan_contract.sh, which runs it once each way). */
#define POOLMALLOC_RUNTIME_LINK
#include <poolmalloc.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TENSORS 3

static const char *mode = "";
static int test_number;
static int failures;

static void check(int ok, const char *what) {
  test_number++;
  failures += !ok;
  printf("%sok %d - %s: %s\n", ok ? "" : "not ", test_number, mode, what);
}

typedef struct chain_s {
  pm_graph_t *graph;
  int tensors[TENSORS];
} chain_t;

static chain_t chain_create(void) {
  chain_t c = {pm_graph_create("chain"), {0}};
  for (int i = 0; i < TENSORS; i++)
    c.tensors[i] = pm_graph_add_tensor(c.graph, NULL, 4096, 0, i == 0 ? PM_TENSOR_INPUT : 0);
  for (int i = 0; i + 1 < TENSORS; i++)
    pm_graph_add_op(c.graph, NULL, &c.tensors[i], 1, &c.tensors[i + 1], 1, 0, -1);
  return c;
}

static const char *last_algorithm = "";

/* Plans shape k (every tensor k pages); returns whether the cache answered. */
static int plan_shape(chain_t *c, size_t k) {
  for (int i = 0; i < TENSORS; i++)
    pm_graph_set_tensor_size(c->graph, c->tensors[i], 4096 * k);
  const pm_plan_t *plan = NULL;
  pm_plan_summary_t summary;
  if (pm_graph_plan(c->graph, NULL, &plan) != PM_OK || pm_plan_summary(plan, &summary) != PM_OK) {
    fprintf(stderr, "plan_contract: planning failed: %s\n", pm_graph_error(c->graph));
    return -1;
  }
  last_algorithm = summary.algorithm;
  return summary.from_cache;
}

/* Plans shapes from..to-1 in turn; returns how many the cache answered. */
static size_t plan_shapes(chain_t *c, size_t from, size_t to) {
  size_t hits = 0;
  for (size_t k = from; k < to; k++)
    hits += plan_shape(c, k) == 1;
  return hits;
}

/* Two tensors live together, of sizes that 64-byte alignment would pack
 * closer than a page. */
static pm_graph_t *pair_create(size_t size) {
  pm_graph_t *graph = pm_graph_create("pair");
  pm_graph_add_interval(graph, "a", 100, 0, 0, 2);
  pm_graph_add_interval(graph, "b", size, 0, 0, 2);
  return graph;
}

static void check_plan_options(void) {
  pm_graph_t *graph = pair_create(8192);
  const pm_plan_t *plan = NULL;
  pm_plan_summary_t summary;
  int ok = pm_graph_plan(graph, NULL, &plan) == PM_OK;
  pm_plan_options_t page = {.alignment = 4096};
  ok &= pm_graph_plan(graph, &page, &plan) == PM_OK && pm_plan_summary(plan, &summary) == PM_OK;
  check(ok && !summary.from_cache, "the same tensors under another alignment are planned anew");
  pm_arena_t *arena = pm_arena_create("pair");
  ok &= pm_arena_bind(arena, plan) == PM_OK;
  for (int t = 0; t < 2; t++)
    ok &= pm_plan_offset(plan, t) % 4096 == 0 && (uintptr_t)pm_arena_tensor(arena, t) % 4096 == 0;
  check(ok, "tensors without an alignment take the plan options' alignment");
  unsigned char *first = pm_arena_tensor(arena, 0);
  if (first != NULL) memset(first, 0x5a, 100);
  size_t capacity = pm_arena_capacity(arena);
  ok = first != NULL && pm_arena_bind(arena, plan) == PM_OK && pm_arena_capacity(arena) == capacity;
  ok &= pm_arena_tensor(arena, 0) == first && first[0] == 0x5a && first[99] == 0x5a;
  check(ok, "binding the same plan again keeps the tensors' addresses and contents");
  pm_arena_destroy(arena);

  pm_plan_options_t odd = {.alignment = 3}, unknown = {.algorithm = "fastest"};
  check(pm_graph_plan(graph, &odd, &plan) == PM_ERR_BAD_ALIGNMENT,
        "a plan alignment that is not a power of two is refused");
  check(pm_graph_plan(graph, &unknown, &plan) == PM_ERR_UNKNOWN_ALGORITHM,
        "an unknown algorithm is refused");
  check(pm_graph_plan(graph, NULL, NULL) == PM_ERR_INVALID_ARG &&
            strstr(pm_graph_error(graph), "plan: out is NULL") != NULL,
        "a NULL out is refused, saying so");
  pm_graph_destroy(graph);

  /* Each size is accepted; together they pass SIZE_MAX / 2. */
  graph = pair_create(SIZE_MAX / 2 - 64);
  check(pm_graph_plan(graph, NULL, &plan) == PM_ERR_BAD_SIZE,
        "a plan whose total passes SIZE_MAX / 2 is refused");
  pm_graph_destroy(graph);
}

/* Refusals while the graph is built: the same status on both sides, in the
 * same order of checks, and a message that says something. */
static void check_refusals(void) {
  pm_graph_t *graph = pm_graph_create("refusals");
  int a = pm_graph_add_tensor(graph, "a", 64, 0, 0);
  int missing[] = {a, 7};
  int status = pm_graph_add_op(graph, "op", &missing[0], 1, &missing[1], 1, 0, -1);
  check(status == PM_ERR_UNKNOWN_TENSOR && pm_graph_error(graph)[0] != '\0',
        "an op naming a tensor that does not exist is refused, with a message");
  check(pm_graph_add_op(graph, "op", NULL, 1, &a, 1, 0, -1) == PM_ERR_INVALID_ARG,
        "an op with a NULL list of one input is refused");
  check(pm_graph_add_tensor(graph, "b", 0, 3, 0) == PM_ERR_BAD_ALIGNMENT,
        "a bad alignment is reported before a bad size");
  check(pm_graph_add_tensor(graph, "c", 64, 0, 1u << 7) == PM_ERR_INVALID_ARG,
        "unknown tensor flags are refused");
  /* 39 ASCII bytes, then "é" (2 bytes) across the 40-byte cut: cut before it. */
  static const char long_name[] = "a_tensor_name_much_longer_than_a_line__\xc3\xa9_and_more";
  check(pm_graph_add_tensor(graph, long_name, 0, 0, 0) == PM_ERR_BAD_SIZE &&
            strstr(pm_graph_error(graph), "'a_tensor_name_much_longer_than_a_line__...'") != NULL,
        "a long name is cut between characters in the message");
  int b = pm_graph_add_tensor(graph, "b", 64, 0, 0), c = pm_graph_add_tensor(graph, "c", 64, 0, 0);
  int twice[] = {b, b};
  check(pm_graph_add_op(graph, "twice", &a, 1, twice, 2, 0, -1) == PM_ERR_INVALID_ARG,
        "an op listing one output twice is refused");
  check(pm_graph_add_op(graph, "wide", &a, 1, &b, 1, 0, 1) == PM_ERR_INVALID_ARG,
        "an in-place input past the op's inputs is refused");
  check(pm_graph_add_op(graph, "first", &a, 1, &b, 1, 0, -1) >= 0 &&
            pm_graph_add_op(graph, "second", &c, 1, &b, 1, 0, -1) == PM_ERR_INVALID_ARG,
        "a tensor two ops produce is refused");
  check(pm_graph_add_interval(graph, "late", 64, 0, 0, 1) == PM_ERR_MIXED_FORMS,
        "an interval in a graph with ops is refused");
  pm_graph_destroy(graph);
  graph = pm_graph_create("cycle");
  int x = pm_graph_add_tensor(graph, "x", 64, 0, 0), y = pm_graph_add_tensor(graph, "y", 64, 0, 0);
  const pm_plan_t *plan = NULL;
  check(pm_graph_add_op(graph, "f", &x, 1, &y, 1, 0, -1) >= 0 &&
            pm_graph_add_op(graph, "g", &y, 1, &x, 1, 0, -1) >= 0 &&
            pm_graph_plan(graph, NULL, &plan) == PM_ERR_CYCLE &&
            strstr(pm_graph_error(graph), "cycle") != NULL,
        "ops that need each other's outputs are refused when planned, naming the cycle");
  pm_graph_destroy(graph);
  graph = pm_graph_create("intervals");
  int early = pm_graph_add_interval(graph, "early", 64, 0, 0, 1);
  check(early >= 0 && pm_graph_add_op(graph, "op", NULL, 0, &early, 1, 0, -1) == PM_ERR_MIXED_FORMS,
        "an op in a graph with intervals is refused");
  pm_graph_destroy(graph);
}

static void graph_destroyed_twice(void) {
  pm_graph_t *graph = pm_graph_create("twice");
  pm_graph_add_tensor(graph, "t", 64, 0, 0);
  pm_graph_destroy(graph);
  pm_graph_destroy(graph);
}

static void graph_used_after_destroy(void) {
  pm_graph_t *graph = pm_graph_create("after");
  pm_graph_destroy(graph);
  pm_graph_add_tensor(graph, "t", 64, 0, 0);
}

static void arena_destroyed_twice(void) {
  pm_arena_t *kept = pm_arena_create("kept"); /* a neighbour on the library's list */
  pm_arena_t *arena = pm_arena_create("twice");
  pm_arena_destroy(arena);
  pm_arena_destroy(arena);
  pm_arena_destroy(kept);
}

static void arena_used_after_destroy(void) {
  pm_graph_t *graph = pm_graph_create("bound");
  int t = pm_graph_add_tensor(graph, "t", 64, 0, 0);
  const pm_plan_t *plan = NULL;
  pm_arena_t *arena = pm_arena_create("after");
  if (pm_graph_plan(graph, NULL, &plan) != PM_OK || pm_arena_bind(arena, plan) != PM_OK) return;
  pm_arena_destroy(arena);
  pm_arena_tensor(arena, t);
}

/* Runs misuse in a child: it must end by SIGABRT after one line on stderr
 * that starts "poolmalloc: CALL(): not a live". */
static void check_misuse_stops(void (*misuse)(void), const char *call, const char *what) {
  int fds[2];
  fflush(stdout);
  pid_t pid = pipe(fds) == 0 ? fork() : -1;
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    misuse();
    _exit(0);
  }
  char out[512] = "";
  size_t got = 0;
  if (pid > 0) {
    close(fds[1]);
    for (ssize_t n;
         got < sizeof out - 1 && (n = read(fds[0], out + got, sizeof out - 1 - got)) > 0;)
      got += (size_t)n;
    close(fds[0]);
  }
  out[got] = '\0';
  int status = 0;
  bool aborted = pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
                 WTERMSIG(status) == SIGABRT;
  char want[128];
  snprintf(want, sizeof want, "poolmalloc: %s(): not a live ", call);
  /* The fallback's notice may come first, once per process. */
  const char *line = strstr(out, want);
  bool one_line = line != NULL && strchr(line, '\n') == out + got - 1;
  if (!aborted || !one_line) fprintf(stderr, "plan_contract: %s: got: %s\n", call, out);
  check(aborted && one_line, what);
}

int main(int argc, char **argv) {
  mode = argc > 1 ? argv[1] : "";
  test_number = argc > 2 ? atoi(argv[2]) : 0;
  chain_t c = chain_create();
  check(plan_shape(&c, 1) == 0 && plan_shape(&c, 1) == 1, "a repeated shape is a cache hit");
  int fallback = strcmp(last_algorithm, "fallback") == 0;
  check(fallback == (strcmp(mode, "fallback") == 0), "the plans come from the expected side");

  check(pm_graph_set_plan_cache_limit(c.graph, 2) == PM_OK, "a limit of 2 plans is taken");
  plan_shape(&c, 2); /* cache: 2 1 */
  plan_shape(&c, 1); /* a hit, used last: 1 2 */
  plan_shape(&c, 3); /* 3 1; 2 is dropped */
  check(plan_shape(&c, 1) == 1, "the plan used most recently stays");
  check(plan_shape(&c, 2) == 0, "the least recently used plan was dropped");

  /* cache: 2 1; a limit of 1 drops 1 at once. */
  pm_graph_set_plan_cache_limit(c.graph, 1);
  check(plan_shape(&c, 2) == 1 && plan_shape(&c, 1) == 0, "a lower limit drops plans at once");

  pm_graph_set_plan_cache_limit(c.graph, 4);
  plan_shapes(&c, 10, 1010);
  check(plan_shapes(&c, 1006, 1010) == 4 && plan_shape(&c, 1005) == 0,
        "1000 shapes leave the 4 latest plans");

  pm_graph_set_plan_cache_limit(c.graph, 0);
  plan_shapes(&c, 2000, 2010);
  check(plan_shapes(&c, 2000, 2010) == 10, "limit 0 keeps every plan");

  check(pm_graph_set_plan_cache_limit(NULL, 1) == PM_ERR_INVALID_ARG, "a NULL graph is refused");
  pm_graph_destroy(c.graph);
  check_plan_options();
  check_refusals();
  check_misuse_stops(graph_destroyed_twice, "pm_graph_destroy",
                     "a graph destroyed twice stops the program, naming the call");
  check_misuse_stops(graph_used_after_destroy, "pm_graph_add_tensor",
                     "a graph used after its destroy stops the program, naming the call");
  check_misuse_stops(arena_destroyed_twice, "pm_arena_destroy",
                     "an arena destroyed twice stops the program, naming the call");
  check_misuse_stops(arena_used_after_destroy, "pm_arena_tensor",
                     "an arena used after its destroy stops the program, naming the call");
  return failures != 0;
}
