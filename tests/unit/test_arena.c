/* test_arena.c: arenas serve tensors at base + offset, live tensors never
 * clobber each other (checked by writing patterns step by step, which
 * catches planner bugs too), capacity only grows, arenas work side by side
 * in threads, and they show up in the statistics. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan_test.h"
#include "poolmalloc.h"

TestSuite(arena, .init = plan_test_require_validation, .timeout = 60);

static uint32_t next_random(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u; /* Numerical Recipes LCG */
  return *state >> 8;
}

/* A random DAG: each op reads up to three earlier tensors and writes one or
 * two new ones, some with scratch. No in-place hints: their tensors share
 * memory on purpose and would fail the pattern check. */
typedef struct random_op_s {
  int inputs[3], outputs[2], scratch;
  size_t input_count, output_count;
} random_op_t;

typedef struct random_graph_s {
  pm_graph_t *graph;
  size_t count;
  size_t sizes[512];
  unsigned flags[512];
  random_op_t ops[128];
  size_t op_count;
} random_graph_t;

static int add_tensor(random_graph_t *r, size_t size, unsigned flags) {
  int id = pm_graph_add_tensor(r->graph, NULL, size, 0, flags);
  cr_assert_geq(id, 0, "%s", pm_graph_error(r->graph));
  r->sizes[id] = size;
  r->flags[id] = flags;
  r->count = (size_t)id + 1;
  return id;
}

static void random_graph_build(random_graph_t *r, uint32_t seed, int ops) {
  r->graph = pm_graph_create("random");
  r->count = 0;
  r->op_count = (size_t)ops;
  add_tensor(r, 1 + next_random(&seed) % 5000, PM_TENSOR_INPUT);
  for (int op = 0; op < ops; op++) {
    random_op_t *o = &r->ops[op];
    int *inputs = o->inputs, *outputs = o->outputs;
    size_t input_count = 1 + next_random(&seed) % 3, output_count = 1 + next_random(&seed) % 2;
    o->input_count = input_count;
    o->output_count = output_count;
    for (size_t i = 0; i < input_count; i++)
      inputs[i] = (int)(r->count - 1 - next_random(&seed) % (r->count < 6 ? r->count : 6));
    for (size_t i = 0; i < output_count; i++) {
      unsigned flags = next_random(&seed) % 16 == 0 ? PM_TENSOR_OUTPUT : 0;
      outputs[i] = add_tensor(r, 1 + next_random(&seed) % 20000, flags);
    }
    size_t scratch = next_random(&seed) % 4 == 0 ? 1 + next_random(&seed) % 3000 : 0;
    int id =
        pm_graph_add_op(r->graph, NULL, inputs, input_count, outputs, output_count, scratch, -1);
    cr_assert_geq(id, 0, "%s", pm_graph_error(r->graph));
    int scratch_id = pm_graph_op_scratch(r->graph, id);
    o->scratch = scratch_id;
    if (scratch_id >= 0) {
      r->sizes[scratch_id] = scratch;
      r->flags[scratch_id] = 0;
      r->count = (size_t)scratch_id + 1;
    }
  }
}

static unsigned char pattern(size_t tensor, size_t byte) {
  return (unsigned char)(((tensor + 1) * 2654435761u + byte * 40503u) >> 13);
}

static void fill(unsigned char *p, size_t tensor, size_t size) {
  for (size_t b = 0; b < size; b++)
    p[b] = pattern(tensor, b);
}

static int intact(const unsigned char *p, size_t tensor, size_t size) {
  for (size_t b = 0; b < size; b++)
    if (p[b] != pattern(tensor, b)) return 0;
  return 1;
}

/* Runs the plan step by step: tensors are written when born and must read
 * back unchanged for as long as they live. Returns the first clobbered
 * tensor, or -1. No asserts: threads call it too. */
static long run_and_check(pm_arena_t *arena, const pm_plan_t *plan, const size_t *sizes,
                          size_t count) {
  uint64_t steps = 0, first, last;
  for (size_t t = 0; t < count; t++) {
    if (pm_plan_lifetime(plan, (int)t, &first, &last) != PM_OK) return (long)t;
    if (last > steps) steps = last;
  }
  for (uint64_t s = 0; s < steps; s++) {
    for (size_t t = 0; t < count; t++) {
      pm_plan_lifetime(plan, (int)t, &first, &last);
      if (first == s) fill(pm_arena_tensor(arena, (int)t), t, sizes[t]);
    }
    for (size_t t = 0; t < count; t++) {
      pm_plan_lifetime(plan, (int)t, &first, &last);
      if (first <= s && s < last && !intact(pm_arena_tensor(arena, (int)t), t, sizes[t]))
        return (long)t;
    }
  }
  return -1;
}

/* Executes the graph's ops in insertion order (a topological order here,
 * as every op reads older tensors) without asking the plan about
 * lifetimes: an op finds its inputs as their producers left them and its
 * writes spare them; outputs and the input survive to the end. This
 * catches wrong lifetimes as well as wrong offsets. Returns the first
 * clobbered tensor, or -1. */
static long run_ops(pm_arena_t *arena, const random_graph_t *r) {
#define TENSOR(t) ((unsigned char *)pm_arena_tensor(arena, (t)))
#define CHECK(t)                                                                                   \
  do {                                                                                             \
    if (!intact(TENSOR(t), (size_t)(t), r->sizes[t])) return (long)(t);                            \
  } while (0)
  fill(TENSOR(0), 0, r->sizes[0]);
  for (size_t k = 0; k < r->op_count; k++) {
    const random_op_t *o = &r->ops[k];
    for (size_t i = 0; i < o->input_count; i++)
      CHECK(o->inputs[i]);
    for (size_t i = 0; i < o->output_count; i++)
      fill(TENSOR(o->outputs[i]), (size_t)o->outputs[i], r->sizes[o->outputs[i]]);
    if (o->scratch >= 0) fill(TENSOR(o->scratch), (size_t)o->scratch, r->sizes[o->scratch]);
    for (size_t i = 0; i < o->input_count; i++)
      CHECK(o->inputs[i]);
    for (size_t i = 0; i < o->output_count; i++)
      CHECK(o->outputs[i]);
  }
  for (size_t t = 0; t < r->count; t++)
    if (r->flags[t] & (PM_TENSOR_INPUT | PM_TENSOR_OUTPUT)) CHECK(t);
  return -1;
#undef CHECK
#undef TENSOR
}

static void check_base_plus_offset(pm_arena_t *arena, const pm_plan_t *plan, size_t count) {
  unsigned char *base = (unsigned char *)pm_arena_tensor(arena, 0) - pm_plan_offset(plan, 0);
  cr_expect_eq((uintptr_t)base % 64, 0, "arena base is not 64-byte aligned");
  for (size_t t = 0; t < count; t++)
    cr_assert_eq(pm_arena_tensor(arena, (int)t), base + pm_plan_offset(plan, (int)t));
  cr_expect_null(pm_arena_tensor(arena, (int)count));
  cr_expect_null(pm_arena_tensor(arena, -1));
}

Test(arena, random_graphs_with_every_algorithm) {
  static const char *const algorithms[] = {"naive", "greedy-size", "best"};
  for (uint32_t seed = 1; seed <= 4; seed++)
    for (size_t a = 0; a < 3; a++) {
      random_graph_t r;
      random_graph_build(&r, seed, 40 + (int)seed * 10);
      pm_plan_options_t opts = {algorithms[a], 0, 100};
      const pm_plan_t *plan = NULL;
      cr_assert_eq(pm_graph_plan(r.graph, &opts, &plan), PM_OK, "%s", pm_graph_error(r.graph));
      pm_plan_summary_t s;
      pm_plan_summary(plan, &s);
      cr_expect_leq(s.lower_bound_bytes, s.planned_bytes);
      cr_expect_leq(s.planned_bytes, s.naive_bytes);
      pm_arena_t *arena = pm_arena_create(algorithms[a]);
      cr_assert_eq(pm_arena_bind(arena, plan), PM_OK);
      cr_expect_geq(pm_arena_capacity(arena), s.planned_bytes);
      check_base_plus_offset(arena, plan, r.count);
      cr_expect_eq(run_and_check(arena, plan, r.sizes, r.count), -1,
                   "seed %u, %s: a live tensor was clobbered", seed, algorithms[a]);
      cr_expect_eq(run_ops(arena, &r), -1, "seed %u, %s: an op found its input clobbered", seed,
                   algorithms[a]);
      pm_arena_destroy(arena);
      pm_graph_destroy(r.graph);
    }
}

Test(arena, random_intervals) {
  static const char *const algorithms[] = {"naive", "greedy-size"};
  for (size_t a = 0; a < 2; a++) {
    uint32_t seed = 77;
    pm_graph_t *g = pm_graph_create("intervals");
    size_t sizes[300];
    for (int t = 0; t < 300; t++) {
      uint64_t first = next_random(&seed) % 100, length = 1 + next_random(&seed) % 30;
      sizes[t] = 1 + next_random(&seed) % 10000;
      size_t alignment = next_random(&seed) % 5 == 0 ? 256 : 0;
      cr_assert_eq(pm_graph_add_interval(g, NULL, sizes[t], alignment, first, first + length), t);
    }
    const pm_plan_t *plan = NULL;
    pm_plan_options_t opts = {algorithms[a], 0, 100};
    cr_assert_eq(pm_graph_plan(g, &opts, &plan), PM_OK, "%s", pm_graph_error(g));
    pm_arena_t *arena = pm_arena_create("intervals");
    cr_assert_eq(pm_arena_bind(arena, plan), PM_OK);
    check_base_plus_offset(arena, plan, 300);
    cr_expect_eq(run_and_check(arena, plan, sizes, 300), -1, "%s: a live tensor was clobbered",
                 algorithms[a]);
    pm_arena_destroy(arena);
    pm_graph_destroy(g);
  }
}

Test(arena, capacity_grows_only) {
  pm_graph_t *g = pm_graph_create("shapes");
  int a = pm_graph_add_interval(g, "a", 1 << 20, 0, 0, 2);
  int b = pm_graph_add_interval(g, "b", 1 << 20, 0, 1, 3);
  const pm_plan_t *large = NULL, *small = NULL, *larger = NULL;
  cr_assert_eq(pm_graph_plan(g, NULL, &large), PM_OK);
  pm_arena_t *arena = pm_arena_create("shapes");
  cr_expect_eq(pm_arena_capacity(arena), 0);
  cr_assert_eq(pm_arena_bind(arena, large), PM_OK);
  size_t capacity = pm_arena_capacity(arena);
  cr_expect_geq(capacity, 2u << 20);
  void *base = pm_arena_tensor(arena, a);

  pm_graph_set_tensor_size(g, a, 1000);
  pm_graph_set_tensor_size(g, b, 1000);
  cr_assert_eq(pm_graph_plan(g, NULL, &small), PM_OK);
  cr_assert_eq(pm_arena_bind(arena, small), PM_OK);
  cr_expect_eq(pm_arena_capacity(arena), capacity, "a smaller plan must reuse the memory");
  cr_expect_eq((char *)pm_arena_tensor(arena, a) - pm_plan_offset(small, a),
               (char *)base - pm_plan_offset(large, a), "same block");

  pm_graph_set_tensor_size(g, a, 3 << 20);
  cr_assert_eq(pm_graph_plan(g, NULL, &larger), PM_OK);
  cr_assert_eq(pm_arena_bind(arena, larger), PM_OK);
  pm_plan_summary_t s;
  pm_plan_summary(larger, &s);
  cr_expect_gt(pm_arena_capacity(arena), capacity);
  cr_expect_geq(pm_arena_capacity(arena), s.planned_bytes);
  size_t sizes[2] = {3 << 20, 1000};
  cr_expect_eq(run_and_check(arena, larger, sizes, 2), -1);
  pm_arena_destroy(arena);
  pm_graph_destroy(g);
}

/* The plan belongs to its graph; an arena bound to it keeps serving its
 * tensors after the graph is destroyed (it used to read the freed plan). */
Test(arena, outlives_its_graph) {
  pm_graph_t *g = pm_graph_create("short-lived");
  int a = pm_graph_add_interval(g, "a", 4096, 0, 0, 2);
  int b = pm_graph_add_interval(g, "b", 4096, 0, 1, 3);
  const pm_plan_t *plan = NULL;
  cr_assert_eq(pm_graph_plan(g, NULL, &plan), PM_OK, "%s", pm_graph_error(g));
  pm_arena_t *arena = pm_arena_create("outlives");
  cr_assert_eq(pm_arena_bind(arena, plan), PM_OK);
  unsigned char *first = pm_arena_tensor(arena, a), *second = pm_arena_tensor(arena, b);
  pm_graph_destroy(g);
  /* Reuse the freed plan's memory, as a program would. */
  void *scribble[16];
  for (int i = 0; i < 16; i++)
    memset(scribble[i] = malloc(64), 0xff, 64);
  cr_expect_eq(pm_arena_tensor(arena, a), first);
  cr_expect_eq(pm_arena_tensor(arena, b), second);
  cr_expect_null(pm_arena_tensor(arena, 2));
  memset(second, 1, 4096);
  for (int i = 0; i < 16; i++)
    free(scribble[i]);
  pm_arena_destroy(arena);
}

Test(arena, empty_plan) {
  pm_graph_t *g = pm_graph_create("empty");
  const pm_plan_t *plan = NULL;
  cr_assert_eq(pm_graph_plan(g, NULL, &plan), PM_OK, "%s", pm_graph_error(g));
  pm_arena_t *arena = pm_arena_create(NULL);
  cr_expect_eq(pm_arena_bind(arena, plan), PM_OK);
  cr_expect_eq(pm_arena_capacity(arena), 0);
  cr_expect_null(pm_arena_tensor(arena, 0));
  pm_arena_destroy(arena);
  pm_graph_destroy(g);
}

Test(arena, tensor_alignment_beyond_64) {
  pm_graph_t *g = pm_graph_create("pages");
  int page = pm_graph_add_interval(g, "page", 100, 4096, 0, 1);
  const pm_plan_t *plan = NULL;
  cr_assert_eq(pm_graph_plan(g, NULL, &plan), PM_OK);
  pm_arena_t *arena = pm_arena_create("pages");
  cr_assert_eq(pm_arena_bind(arena, plan), PM_OK);
  cr_expect_eq((uintptr_t)pm_arena_tensor(arena, page) % 4096, 0);
  cr_expect_lt(pm_arena_capacity(arena), 4096, "the alignment must not round the arena up");
  pm_arena_destroy(arena);
  pm_graph_destroy(g);
}

/* Graphs are built on the main thread (Criterion asserts there); each
 * thread plans, binds and runs its own pair of shapes. */
typedef struct thread_work_s {
  random_graph_t shapes[2];
  int failures;
} thread_work_t;

static void *thread_main(void *arg) {
  thread_work_t *work = arg;
  pm_arena_t *arena = pm_arena_create("thread");
  for (int round = 0; round < 8; round++) {
    random_graph_t *r = &work->shapes[round % 2];
    pm_plan_options_t opts = {"greedy-size", 0, 0};
    const pm_plan_t *plan = NULL;
    if (pm_graph_plan(r->graph, &opts, &plan) != PM_OK || pm_arena_bind(arena, plan) != PM_OK ||
        run_ops(arena, r) != -1)
      work->failures++;
  }
  pm_arena_destroy(arena);
  return NULL;
}

Test(arena, one_arena_per_thread) {
  static thread_work_t work[4];
  pthread_t threads[4];
  for (uint32_t i = 0; i < 4; i++)
    for (uint32_t k = 0; k < 2; k++)
      random_graph_build(&work[i].shapes[k], 100 * i + k + 1, 30);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(pthread_create(&threads[i], NULL, thread_main, &work[i]), 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(threads[i], NULL);
    cr_expect_eq(work[i].failures, 0, "thread %d: %d bad rounds", i, work[i].failures);
    for (int k = 0; k < 2; k++)
      pm_graph_destroy(work[i].shapes[k].graph);
  }
}

/* Reads what pm_stats_print writes in the given format. */
static char *stats_text(pm_stats_format_t format) {
  FILE *file = tmpfile();
  cr_assert_not_null(file);
  cr_assert_eq(pm_stats_print(fileno(file), format), 0);
  long length = lseek(fileno(file), 0, SEEK_END);
  cr_assert_gt(length, 0);
  char *text = calloc(1, (size_t)length + 1);
  cr_assert_eq(pread(fileno(file), text, (size_t)length, 0), length);
  fclose(file);
  return text;
}

Test(arena, appears_in_stats) {
  pm_graph_t *g = pm_graph_create("stats");
  pm_graph_add_interval(g, "a", 5000, 0, 0, 2);
  pm_graph_add_interval(g, "b", 3000, 0, 1, 3);
  const pm_plan_t *plan = NULL;
  cr_assert_eq(pm_graph_plan(g, NULL, &plan), PM_OK);
  pm_arena_t *arena = pm_arena_create("stats-arena-1729");
  cr_assert_eq(pm_arena_bind(arena, plan), PM_OK);
  char *json = stats_text(PM_STATS_JSON);
  static const char *const keys[] = {"\"arenas\"",
                                     "\"stats-arena-1729\"",
                                     "\"capacity_bytes\"",
                                     "\"binds\"",
                                     "\"tensors\"",
                                     "\"naive_bytes\"",
                                     "\"lower_bound_bytes\"",
                                     "\"planned_bytes\"",
                                     "\"saving\"",
                                     "\"algorithm\"",
                                     "\"best\""};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    cr_expect_neq(strstr(json, keys[i]), NULL, "JSON stats lack %s:\n%s", keys[i], json);
  cr_expect_neq(strstr(json, "\"naive_bytes\": 8056"), NULL,
                "naive bytes (5056 + 3000) missing:\n%s", json);
  free(json);
  char *text = stats_text(PM_STATS_TEXT);
  cr_expect_neq(strstr(text, "stats-arena-1729"), NULL, "text stats lack the arena:\n%s", text);
  cr_expect_neq(strstr(text, "state=live"), NULL, "the arena is not shown live:\n%s", text);
  free(text);
  pm_arena_destroy(arena);
  /* Programs destroy arenas before exit, when stats print: the record stays. */
  json = stats_text(PM_STATS_JSON);
  const char *entry = strstr(json, "\"stats-arena-1729\"");
  cr_expect_neq(entry, NULL, "a destroyed arena vanished from the stats:\n%s", json);
  const char *state = entry != NULL ? strstr(entry, "\"state\": \"") : NULL;
  cr_expect(state != NULL && strncmp(state + 10, "destroyed", 9) == 0,
            "a destroyed arena is not marked so:\n%s", json);
  free(json);
  pm_graph_destroy(g);
}

/* Names are bytes from the program. JSON must stay UTF-8 (a stray byte, or
 * a character cut by the 63-byte limit, becomes U+FFFD), and a text row
 * must stay one row: a name with spaces or a newline is shown quoted, and
 * the characters some tools break lines at (NEL, U+2028) escaped. */
Test(arena, odd_names_in_stats) {
  char cut[70];
  memset(cut, 'x', 62);
  strcpy(cut + 62, "\xc3\xa9"); /* e-acute across the limit */
  const char *names[] = {"bad\xff\xfe", "sp ace=1\nfake: 2", cut, "caf\xc3\xa9",
                         "nel\xc2\x85ls\xe2\x80\xa8"};
  pm_arena_t *arenas[5];
  for (size_t i = 0; i < 5; i++)
    cr_assert_not_null(arenas[i] = pm_arena_create(names[i]));
  char *json = stats_text(PM_STATS_JSON);
  cr_expect_null(strchr(json, '\xff'), "a stray byte was copied:\n%s", json);
  cr_expect_not_null(strstr(json, "\"bad\\ufffd\\ufffd\""), "%s", json);
  cr_expect_not_null(strstr(json, "\"sp ace=1\\nfake: 2\""), "%s", json);
  cr_expect(strstr(json, "xx\"") != NULL && strstr(json, "xx\\ufffd") == NULL,
            "the name is cut before the character, not through it: %s", json);
  cr_expect_not_null(strstr(json, "\"caf\xc3\xa9\""), "well-formed UTF-8 is kept: %s", json);
  cr_expect_not_null(strstr(json, "\"nel\\u0085ls\\u2028\""), "line breaks escaped: %s", json);
  free(json);
  char *text = stats_text(PM_STATS_TEXT);
  cr_expect_null(strstr(text, "\nfake: 2"), "a name forged a line:\n%s", text);
  cr_expect_not_null(strstr(text, "name=\"sp ace=1\\nfake: 2\""), "%s", text);
  cr_expect_not_null(strstr(text, "name=caf\xc3\xa9 "), "a plain name is shown as it is:\n%s",
                     text);
  cr_expect_not_null(strstr(text, "name=\"nel\\u0085ls\\u2028\""),
                     "NEL and U+2028 are quoted and escaped:\n%s", text);
  free(text);
  for (size_t i = 0; i < 5; i++)
    pm_arena_destroy(arenas[i]);
}

/* Statistics written to a pipe nobody reads yet block in write(). The
 * arena list must not be held meanwhile: arena calls and fork (whose
 * handlers take the registry's lock) went on waiting for the printer. */
static atomic_bool printer_done;

static void *print_stats_to(void *fd) {
  pm_stats_print((int)(intptr_t)fd, PM_STATS_JSON);
  atomic_store(&printer_done, true);
  return NULL;
}

Test(arena, a_blocked_stats_writer_holds_no_lock) {
  enum { ARENAS = 600 }; /* about 150 KiB of JSON */
  pm_arena_t *arenas[ARENAS];
  char name[32];
  for (int i = 0; i < ARENAS; i++) {
    snprintf(name, sizeof name, "blocked-writer-%d", i);
    cr_assert_not_null(arenas[i] = pm_arena_create(name));
  }
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  int capacity = fcntl(fds[1], F_GETPIPE_SZ);
  pthread_t printer;
  cr_assert_eq(pthread_create(&printer, NULL, print_stats_to, (void *)(intptr_t)fds[1]), 0);
  int queued = 0;
  for (int waited = 0; waited < 5000 && queued < capacity; waited++) {
    usleep(1000);
    cr_assert_eq(ioctl(fds[0], FIONREAD, &queued), 0);
  }
  cr_assert_eq(queued, capacity, "the printer filled the pipe");
  pm_arena_t *another = pm_arena_create("while-the-printer-waits");
  cr_assert_not_null(another);
  pid_t child = fork();
  cr_assert_neq(child, -1);
  if (child == 0) _exit(0);
  int status;
  cr_assert_eq(waitpid(child, &status, 0), child);
  pm_arena_destroy(another);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  char buffer[4096];
  for (;;) { /* drain the pipe until the printer has written its last byte */
    bool done = atomic_load(&printer_done);
    if (read(fds[0], buffer, sizeof buffer) > 0) continue;
    if (done) break;
    usleep(1000);
  }
  pthread_join(printer, NULL);
  close(fds[0]);
  close(fds[1]);
  for (int i = 0; i < ARENAS; i++)
    pm_arena_destroy(arenas[i]);
}
