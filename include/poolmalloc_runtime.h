/* poolmalloc_runtime.h: the planner API without linking libpoolmalloc.
 *
 * Included by poolmalloc.h when POOLMALLOC_RUNTIME_LINK is defined. A
 * program built that way needs no -lpoolmalloc: every planner entry point
 * (pm_graph_*, pm_plan_*, pm_arena_*) becomes a static inline wrapper that
 * looks the real function up on first use with dlsym(RTLD_DEFAULT, ...),
 * which finds it when the program runs under LD_PRELOAD=libpoolmalloc.so.
 * Without the library the wrappers fall back to a small implementation
 * here: graphs record tensors and ops, refusing what the library refuses
 * when they are added (with a message for pm_graph_error), and a plan of
 * ops that form a cycle, as the library's planning does; in-place hints
 * are checked and then ignored. A plan places the tensors end to end (the
 * naive figures; kept per shape as the library's are, within the same
 * optional bound), and an arena gives each tensor its own malloc() block, aligned
 * as the tensor asks (or the plan, for a tensor that asks for none), which
 * a later bind keeps while it still fits the tensor. It says so once
 * on stderr. dlsym and pthread_once live in libc from glibc 2.34 on;
 * older glibc needs -ldl -pthread. */
#ifndef POOLMALLOC_RUNTIME_H
#define POOLMALLOC_RUNTIME_H

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poolmalloc.h"

#ifdef RTLD_DEFAULT
#define PM_RUNTIME_DEFAULT_HANDLE RTLD_DEFAULT
#else /* glibc only defines it under _GNU_SOURCE; its value is NULL */
#define PM_RUNTIME_DEFAULT_HANDLE ((void *)0)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* One table per translation unit, filled on first use with either the
 * library's functions or the fallbacks below, never a mix. */
typedef struct pm_runtime_table_s {
  pm_graph_t *(*graph_create)(const char *);
  void (*graph_destroy)(pm_graph_t *);
  const char *(*graph_error)(const pm_graph_t *);
  int (*graph_add_tensor)(pm_graph_t *, const char *, size_t, size_t, unsigned);
  int (*graph_set_tensor_size)(pm_graph_t *, int, size_t);
  int (*graph_add_op)(pm_graph_t *, const char *, const int *, size_t, const int *, size_t, size_t,
                      int);
  int (*graph_op_scratch)(const pm_graph_t *, int);
  int (*graph_add_interval)(pm_graph_t *, const char *, size_t, size_t, uint64_t, uint64_t);
  int (*graph_plan)(pm_graph_t *, const pm_plan_options_t *, const pm_plan_t **);
  int (*plan_summary)(const pm_plan_t *, pm_plan_summary_t *);
  size_t (*plan_offset)(const pm_plan_t *, int);
  int (*plan_lifetime)(const pm_plan_t *, int, uint64_t *, uint64_t *);
  pm_arena_t *(*arena_create)(const char *);
  int (*arena_bind)(pm_arena_t *, const pm_plan_t *);
  void *(*arena_tensor)(pm_arena_t *, int);
  size_t (*arena_capacity)(const pm_arena_t *);
  void (*arena_destroy)(pm_arena_t *);
  /* Newer than the rest: looked up on its own, so that a library without
   * it still serves everything else (the call then says so). */
  int (*graph_set_plan_cache_limit)(pm_graph_t *, size_t);
} pm_runtime_table_t;

/* ---- Fallback: no library loaded. ---- */
typedef struct pm_runtime_tensor_s {
  size_t size;
  size_t alignment; /* a power of two; in a graph, 0 = the plan's */
} pm_runtime_tensor_t;

typedef struct pm_runtime_plan_s {
  struct pm_runtime_plan_s *next;
  size_t count;
  pm_runtime_tensor_t *tensors;
  size_t *offsets;
  pm_plan_summary_t summary;
} pm_runtime_plan_t;

/* A live graph's or arena's mark, cleared by its destroy. */
#define PM_RUNTIME_FB_LIVE 0x6c697665u

typedef struct pm_runtime_graph_s {
  unsigned live; /* PM_RUNTIME_FB_LIVE until destroyed */
  pm_runtime_tensor_t *tensors;
  size_t count;
  int *op_scratch;
  size_t op_count;
  int *op_inputs;           /* every op's inputs, op after op */
  size_t *op_input_end;     /* per op: where its inputs end in op_inputs */
  int ops_acyclic;          /* the ops were found free of cycles since the last add_op */
  pm_runtime_plan_t *plans; /* most recently used first */
  size_t plan_count;
  size_t plan_limit; /* 0: keep every plan */
  int *producer;     /* per tensor: the op that lists it as an output, or -1 */
  size_t interval_count;
  char error[96]; /* the last refusal, for pm_graph_error */
} pm_runtime_graph_t;

/* Copies what it needs of the bound plan: the plan belongs to its graph,
 * which may be destroyed while the arena lives on. */
typedef struct pm_runtime_arena_s {
  unsigned live; /* PM_RUNTIME_FB_LIVE until destroyed */
  pm_runtime_tensor_t *tensors;
  void **blocks;
  size_t count;
  size_t capacity;
} pm_runtime_arena_t;

/* A graph or arena used after its destroy (or never made) stops the
 * process as the library's does, with one line naming the call: its
 * memory, freed, may hold anything by now. */
static inline void pm_runtime_fb_check_live(unsigned live, const char *call, const char *what,
                                            const void *object) {
  if (live == PM_RUNTIME_FB_LIVE) return;
  fprintf(stderr, "poolmalloc: %s(): not a live %s (destroyed?) %p\n", call, what, object);
  abort();
}

/* The fallback's graph behind graph; NULL stays NULL. */
static inline pm_runtime_graph_t *pm_runtime_fb_graph(const pm_graph_t *graph, const char *call) {
  pm_runtime_graph_t *g = (pm_runtime_graph_t *)graph;
  if (g != NULL) pm_runtime_fb_check_live(g->live, call, "graph", g);
  return g;
}

static inline pm_runtime_arena_t *pm_runtime_fb_arena(const pm_arena_t *arena, const char *call) {
  pm_runtime_arena_t *a = (pm_runtime_arena_t *)arena;
  if (a != NULL) pm_runtime_fb_check_live(a->live, call, "arena", a);
  return a;
}

static inline pm_graph_t *pm_runtime_fb_graph_create(const char *name) {
  (void)name;
  pm_runtime_graph_t *g = (pm_runtime_graph_t *)calloc(1, sizeof(pm_runtime_graph_t));
  if (g != NULL) g->live = PM_RUNTIME_FB_LIVE;
  return (pm_graph_t *)g;
}

/* Frees the least recently used plans until at most keep remain. */
/* Frees a plan and what it owns; plan may be NULL or partly built. */
static inline void pm_runtime_fb_plan_free(pm_runtime_plan_t *plan) {
  if (plan == NULL) return;
  free(plan->tensors);
  free(plan->offsets);
  free(plan);
}

/* The planner's alignment for tensors and plans that ask for none. */
#define PM_RUNTIME_FB_DEFAULT_ALIGNMENT 64

/* An alignment the library accepts: 0 or a power of two, not too large. */
static inline int pm_runtime_fb_alignment_ok(size_t alignment) {
  return (alignment & (alignment - 1)) == 0 && alignment <= PM_MAX_ALIGNMENT;
}

/* The alignment a size is checked against, as the library does: 0 stands
 * for the plan's, checked at the default. */
static inline size_t pm_runtime_fb_checked_alignment(size_t alignment) {
  return alignment != 0 ? alignment : PM_RUNTIME_FB_DEFAULT_ALIGNMENT;
}

static inline void pm_runtime_fb_plans_keep(pm_runtime_graph_t *g, size_t keep) {
  pm_runtime_plan_t **link = &g->plans;
  for (size_t kept = 0; kept < keep && *link != NULL; kept++)
    link = &(*link)->next;
  pm_runtime_plan_t *plan = *link;
  *link = NULL;
  while (plan != NULL) {
    pm_runtime_plan_t *next = plan->next;
    pm_runtime_fb_plan_free(plan);
    g->plan_count--;
    plan = next;
  }
}

static inline void pm_runtime_fb_graph_destroy(pm_graph_t *graph) {
  pm_runtime_graph_t *g = pm_runtime_fb_graph(graph, "pm_graph_destroy");
  if (g == NULL) return;
  g->live = 0;
  pm_runtime_fb_plans_keep(g, 0);
  free(g->tensors);
  free(g->producer);
  free(g->op_scratch);
  free(g->op_inputs);
  free(g->op_input_end);
  free(g);
}

static inline const char *pm_runtime_fb_graph_error(const pm_graph_t *graph) {
  const pm_runtime_graph_t *g = pm_runtime_fb_graph(graph, "pm_graph_error");
  return g != NULL ? g->error : "graph is NULL";
}

/* A name as the library's messages show it: at most 40 bytes, cut between
 * UTF-8 characters, "..." marking a cut, so that a long name cannot push
 * the problem out of the message; "?" for none. */
enum { PM_RUNTIME_FB_SHOWN = 40 };
typedef struct pm_runtime_fb_label_s {
  char text[PM_RUNTIME_FB_SHOWN + sizeof "..."];
} pm_runtime_fb_label_t;

static inline pm_runtime_fb_label_t pm_runtime_fb_label(const char *name) {
  pm_runtime_fb_label_t label;
  if (name == NULL) name = "?";
  size_t cut = 0;
  while (cut < PM_RUNTIME_FB_SHOWN && name[cut] != '\0')
    cut++;
  if (name[cut] != '\0') /* back to the start of the character cut in two */
    while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
      cut--;
  memcpy(label.text, name, cut);
  strcpy(label.text + cut, name[cut] != '\0' ? "..." : "");
  return label;
}

/* Refuses a call as the library does: status, and a one-line message for
 * pm_graph_error that names the tensor or op and the problem. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int
pm_runtime_fb_fail(pm_runtime_graph_t *g, int status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(g->error, sizeof g->error, format, args);
  va_end(args);
  return status;
}

/* Appends one slot to a growing array; returns its index. */
static inline int pm_runtime_fb_grow(void **items, size_t *count, size_t elem_size) {
  void *grown = realloc(*items, (*count + 1) * elem_size);
  if (grown == NULL) return PM_ERR_NOMEM;
  *items = grown;
  return (int)(*count)++;
}

static inline int pm_runtime_fb_graph_add_tensor(pm_graph_t *graph, const char *name, size_t size,
                                                 size_t alignment, unsigned flags) {
  pm_runtime_graph_t *g = pm_runtime_fb_graph(graph, "pm_graph_add_tensor");
  if (g == NULL) return PM_ERR_INVALID_ARG;
  /* The library's checks, in its order. */
  pm_runtime_fb_label_t shown = pm_runtime_fb_label(name);
  const char *label = shown.text;
  const unsigned known = PM_TENSOR_INPUT | PM_TENSOR_OUTPUT | PM_TENSOR_PERSISTENT;
  if ((flags & ~known) != 0)
    return pm_runtime_fb_fail(g, PM_ERR_INVALID_ARG, "tensor '%s': unknown flags 0x%x", label,
                              flags);
  if (!pm_runtime_fb_alignment_ok(alignment))
    return pm_runtime_fb_fail(g, PM_ERR_BAD_ALIGNMENT,
                              "tensor '%s': alignment %zu is not a power of two up to %zu", label,
                              alignment, (size_t)PM_MAX_ALIGNMENT);
  if (size == 0 || size > SIZE_MAX / 2 - pm_runtime_fb_checked_alignment(alignment))
    return pm_runtime_fb_fail(g, PM_ERR_BAD_SIZE, "tensor '%s': size %zu is 0 or too large", label,
                              size);
  int *producer = (int *)realloc(g->producer, (g->count + 1) * sizeof *producer);
  if (producer == NULL)
    return pm_runtime_fb_fail(g, PM_ERR_NOMEM, "tensor '%s': out of memory", label);
  g->producer = producer;
  producer[g->count] = -1;
  int id = pm_runtime_fb_grow((void **)&g->tensors, &g->count, sizeof *g->tensors);
  if (id < 0) return pm_runtime_fb_fail(g, id, "tensor '%s': out of memory", label);
  g->tensors[id].size = size;
  g->tensors[id].alignment = alignment;
  return id;
}

static inline int pm_runtime_fb_graph_set_tensor_size(pm_graph_t *graph, int tensor, size_t size) {
  pm_runtime_graph_t *g = pm_runtime_fb_graph(graph, "pm_graph_set_tensor_size");
  if (g == NULL) return PM_ERR_INVALID_ARG;
  if (tensor < 0 || (size_t)tensor >= g->count)
    return pm_runtime_fb_fail(g, PM_ERR_UNKNOWN_TENSOR, "unknown tensor id %d", tensor);
  if (size == 0 ||
      size > SIZE_MAX / 2 - pm_runtime_fb_checked_alignment(g->tensors[tensor].alignment))
    return pm_runtime_fb_fail(g, PM_ERR_BAD_SIZE, "tensor %d: size %zu is 0 or too large", tensor,
                              size);
  g->tensors[tensor].size = size;
  return PM_OK;
}

static inline int pm_runtime_fb_graph_add_op(pm_graph_t *graph, const char *name, const int *inputs,
                                             size_t input_count, const int *outputs,
                                             size_t output_count, size_t scratch_bytes,
                                             int inplace_input) {
  pm_runtime_graph_t *g = pm_runtime_fb_graph(graph, "pm_graph_add_op");
  if (g == NULL) return PM_ERR_INVALID_ARG;
  /* The library's checks, in its order; cycles are found when it plans. */
  pm_runtime_fb_label_t shown = pm_runtime_fb_label(name);
  const char *label = shown.text;
  if (g->interval_count != 0)
    return pm_runtime_fb_fail(g, PM_ERR_MIXED_FORMS,
                              "op '%s': graph already has explicit intervals", label);
  if ((inputs == NULL && input_count != 0) || (outputs == NULL && output_count != 0))
    return pm_runtime_fb_fail(g, PM_ERR_INVALID_ARG, "op '%s': NULL tensor list", label);
  for (size_t i = 0; i < input_count + output_count; i++) {
    int id = i < input_count ? inputs[i] : outputs[i - input_count];
    if (id < 0 || (size_t)id >= g->count)
      return pm_runtime_fb_fail(g, PM_ERR_UNKNOWN_TENSOR, "op '%s': unknown tensor id %d", label,
                                id);
  }
  for (size_t i = 0; i < output_count; i++) {
    if (g->producer[outputs[i]] >= 0)
      return pm_runtime_fb_fail(g, PM_ERR_INVALID_ARG, "tensor %d is produced by two ops",
                                outputs[i]);
    for (size_t j = 0; j < i; j++)
      if (outputs[j] == outputs[i])
        return pm_runtime_fb_fail(g, PM_ERR_INVALID_ARG, "op '%s' lists output %d twice", label,
                                  outputs[i]);
  }
  if (inplace_input < -1 || (inplace_input >= 0 && (size_t)inplace_input >= input_count))
    return pm_runtime_fb_fail(g, PM_ERR_INVALID_ARG,
                              "op '%s': inplace_input %d is not an index into its %zu inputs",
                              label, inplace_input, input_count);
  if (inplace_input >= 0 && output_count == 0)
    return pm_runtime_fb_fail(g, PM_ERR_INVALID_ARG, "op '%s': inplace_input without an output",
                              label);
  /* Room for the op's inputs first: nothing below can fail half done. */
  size_t inputs_before = g->op_count != 0 ? g->op_input_end[g->op_count - 1] : 0;
  int *all_inputs =
      (int *)realloc(g->op_inputs, (inputs_before + input_count + 1) * sizeof *all_inputs);
  if (all_inputs == NULL)
    return pm_runtime_fb_fail(g, PM_ERR_NOMEM, "op '%s': out of memory", label);
  g->op_inputs = all_inputs;
  size_t *ends = (size_t *)realloc(g->op_input_end, (g->op_count + 1) * sizeof *ends);
  if (ends == NULL) return pm_runtime_fb_fail(g, PM_ERR_NOMEM, "op '%s': out of memory", label);
  g->op_input_end = ends;
  int scratch = -1;
  if (scratch_bytes != 0 &&
      (scratch = pm_runtime_fb_graph_add_tensor(graph, name, scratch_bytes, 0, 0)) < 0)
    return scratch;
  int op = pm_runtime_fb_grow((void **)&g->op_scratch, &g->op_count, sizeof *g->op_scratch);
  if (op < 0) return pm_runtime_fb_fail(g, op, "op '%s': out of memory", label);
  g->op_scratch[op] = scratch;
  if (input_count != 0) memcpy(all_inputs + inputs_before, inputs, input_count * sizeof *inputs);
  ends[op] = inputs_before + input_count;
  for (size_t i = 0; i < output_count; i++)
    g->producer[outputs[i]] = op;
  g->ops_acyclic = 0;
  return op;
}

static inline int pm_runtime_fb_graph_op_scratch(const pm_graph_t *graph, int op) {
  const pm_runtime_graph_t *g = pm_runtime_fb_graph(graph, "pm_graph_op_scratch");
  if (g == NULL || op < 0 || (size_t)op >= g->op_count) return -1;
  return g->op_scratch[op];
}

static inline int pm_runtime_fb_graph_add_interval(pm_graph_t *graph, const char *name, size_t size,
                                                   size_t alignment, uint64_t first,
                                                   uint64_t last) {
  pm_runtime_graph_t *g = pm_runtime_fb_graph(graph, "pm_graph_add_interval");
  if (g == NULL) return PM_ERR_INVALID_ARG;
  pm_runtime_fb_label_t shown = pm_runtime_fb_label(name);
  const char *label = shown.text;
  if (g->op_count != 0)
    return pm_runtime_fb_fail(g, PM_ERR_MIXED_FORMS, "tensor '%s': graph already has ops", label);
  if (first >= last)
    return pm_runtime_fb_fail(g, PM_ERR_BAD_INTERVAL, "tensor '%s': interval [%llu, %llu) is empty",
                              label, (unsigned long long)first, (unsigned long long)last);
  int id = pm_runtime_fb_graph_add_tensor(graph, name, size, alignment, 0);
  if (id >= 0) g->interval_count++;
  return id;
}

/* A graph tensor's alignment in a plan whose default is default_align. */
static inline size_t pm_runtime_fb_alignment(const pm_runtime_tensor_t *t, size_t default_align) {
  return t->alignment != 0 ? t->alignment : default_align;
}

/* Whether plan was made for exactly these tensors under default_align. */
static inline int pm_runtime_fb_plan_matches(const pm_runtime_plan_t *plan,
                                             const pm_runtime_graph_t *g, size_t default_align) {
  if (plan->count != g->count) return 0;
  for (size_t t = 0; t < g->count; t++)
    if (plan->tensors[t].size != g->tensors[t].size ||
        plan->tensors[t].alignment != pm_runtime_fb_alignment(&g->tensors[t], default_align))
      return 0;
  return 1;
}

/* The plan made for exactly these tensors, moved to the front; or NULL. */
static inline pm_runtime_plan_t *pm_runtime_fb_plan_find(pm_runtime_graph_t *g,
                                                         size_t default_align) {
  for (pm_runtime_plan_t **link = &g->plans; *link != NULL; link = &(*link)->next) {
    pm_runtime_plan_t *plan = *link;
    if (!pm_runtime_fb_plan_matches(plan, g, default_align)) continue;
    *link = plan->next;
    plan->next = g->plans;
    g->plans = plan;
    return plan;
  }
  return NULL;
}

/* The options as the library reads them: an algorithm it knows (which the
 * fallback does not run) and a default alignment, 64 unless given. */
static inline int pm_runtime_fb_plan_options(pm_runtime_graph_t *g, const pm_plan_options_t *opts,
                                             size_t *default_align) {
  *default_align = PM_RUNTIME_FB_DEFAULT_ALIGNMENT;
  if (opts == NULL) return PM_OK;
  const char *name = opts->algorithm;
  if (name != NULL && strcmp(name, "naive") != 0 && strcmp(name, "greedy-size") != 0 &&
      strcmp(name, "best") != 0)
    return pm_runtime_fb_fail(g, PM_ERR_UNKNOWN_ALGORITHM,
                              "unknown algorithm '%s' (expected naive, greedy-size or best)", name);
  if (!pm_runtime_fb_alignment_ok(opts->alignment))
    return pm_runtime_fb_fail(g, PM_ERR_BAD_ALIGNMENT,
                              "plan alignment %zu is not a power of two up to %zu", opts->alignment,
                              (size_t)PM_MAX_ALIGNMENT);
  if (opts->alignment != 0) *default_align = opts->alignment;
  return PM_OK;
}

/* The library refuses to plan ops that depend on themselves through their
 * inputs, as no order runs them: a depth-first walk from each op to the
 * producers of its inputs that comes back to an op on its own path has
 * found such a cycle. Iterative, so a long chain of ops needs no stack. */
static inline int pm_runtime_fb_check_cycles(pm_runtime_graph_t *g) {
  size_t n = g->op_count;
  if (g->ops_acyclic || n == 0) return PM_OK;
  unsigned char *state = (unsigned char *)calloc(n, 1); /* 0 new, 1 on the path, 2 done */
  int *path = (int *)malloc(n * sizeof *path);
  size_t *next_input = (size_t *)malloc(n * sizeof *next_input); /* per path level */
  int status = PM_OK;
  if (state == NULL || path == NULL || next_input == NULL)
    status = pm_runtime_fb_fail(g, PM_ERR_NOMEM, "lifetime analysis: out of memory");
  for (size_t root = 0; root < n && status == PM_OK; root++) {
    if (state[root] != 0) continue;
    size_t depth = 0;
    int op = (int)root;
    for (;;) {
      if (op >= 0) { /* enter op */
        state[op] = 1;
        path[depth] = op;
        next_input[depth++] = op > 0 ? g->op_input_end[op - 1] : 0;
      }
      if (depth == 0) break;
      int top = path[depth - 1];
      if (next_input[depth - 1] == g->op_input_end[top]) {
        state[top] = 2;
        depth--;
        op = -1;
        continue;
      }
      op = g->producer[g->op_inputs[next_input[depth - 1]++]];
      if (op >= 0 && state[op] == 1) {
        status =
            pm_runtime_fb_fail(g, PM_ERR_CYCLE, "cycle among ops: op #%d needs its own output", op);
        break;
      }
      if (op >= 0 && state[op] == 2) op = -1;
    }
  }
  free(state);
  free(path);
  free(next_input);
  if (status == PM_OK) g->ops_acyclic = 1;
  return status;
}

/* End to end: the naive plan, which needs no lifetimes. */
static inline int pm_runtime_fb_graph_plan(pm_graph_t *graph, const pm_plan_options_t *opts,
                                           const pm_plan_t **out) {
  pm_runtime_graph_t *g = pm_runtime_fb_graph(graph, "pm_graph_plan");
  if (g == NULL) return PM_ERR_INVALID_ARG;
  if (out == NULL) return pm_runtime_fb_fail(g, PM_ERR_INVALID_ARG, "plan: out is NULL");
  size_t default_align;
  int status = pm_runtime_fb_plan_options(g, opts, &default_align);
  if (status == PM_OK) status = pm_runtime_fb_check_cycles(g);
  if (status != PM_OK) return status;
  pm_runtime_plan_t *plan = pm_runtime_fb_plan_find(g, default_align);
  if (plan != NULL) {
    plan->summary.from_cache = 1;
    *out = (const pm_plan_t *)plan;
    return PM_OK;
  }
  plan = (pm_runtime_plan_t *)calloc(1, sizeof *plan);
  size_t slots = g->count != 0 ? g->count : 1;
  if (plan == NULL ||
      (plan->tensors = (pm_runtime_tensor_t *)malloc(slots * sizeof *plan->tensors)) == NULL ||
      (plan->offsets = (size_t *)malloc(slots * sizeof(size_t))) == NULL) {
    pm_runtime_fb_plan_free(plan);
    return pm_runtime_fb_fail(g, PM_ERR_NOMEM, "plan: out of memory");
  }
  size_t total = 0;
  for (size_t t = 0; t < g->count; t++) {
    size_t align = pm_runtime_fb_alignment(&g->tensors[t], default_align);
    plan->tensors[t].size = g->tensors[t].size;
    plan->tensors[t].alignment = align;
    /* Totals stay at most SIZE_MAX / 2, as the library's plans do; with
     * sizes up to SIZE_MAX / 2 and alignments up to SIZE_MAX / 4 no sum
     * below wraps before it is tested. */
    plan->offsets[t] = (total + align - 1) & ~(align - 1);
    total = plan->offsets[t] <= SIZE_MAX / 2 ? plan->offsets[t] + g->tensors[t].size : SIZE_MAX;
    if (total > SIZE_MAX / 2) {
      pm_runtime_fb_plan_free(plan);
      return pm_runtime_fb_fail(g, PM_ERR_BAD_SIZE,
                                "tensor %zu: total size of the tensors overflows", t);
    }
  }
  plan->count = g->count;
  plan->summary.tensors = g->count;
  plan->summary.naive_bytes = total;
  plan->summary.lower_bound_bytes = total;
  plan->summary.planned_bytes = total;
  plan->summary.algorithm = "fallback";
  plan->next = g->plans;
  g->plans = plan;
  if (++g->plan_count > g->plan_limit && g->plan_limit != 0)
    pm_runtime_fb_plans_keep(g, g->plan_limit);
  *out = (const pm_plan_t *)plan;
  return PM_OK;
}

static inline int pm_runtime_fb_graph_set_plan_cache_limit(pm_graph_t *graph, size_t max_plans) {
  pm_runtime_graph_t *g = pm_runtime_fb_graph(graph, "pm_graph_set_plan_cache_limit");
  if (g == NULL) return PM_ERR_INVALID_ARG;
  g->plan_limit = max_plans;
  if (max_plans != 0) pm_runtime_fb_plans_keep(g, max_plans);
  return PM_OK;
}

static inline int pm_runtime_fb_plan_summary(const pm_plan_t *plan, pm_plan_summary_t *out) {
  if (plan == NULL || out == NULL) return PM_ERR_INVALID_ARG;
  *out = ((const pm_runtime_plan_t *)plan)->summary;
  return PM_OK;
}

static inline size_t pm_runtime_fb_plan_offset(const pm_plan_t *plan, int tensor) {
  const pm_runtime_plan_t *p = (const pm_runtime_plan_t *)plan;
  if (p == NULL || tensor < 0 || (size_t)tensor >= p->count) return SIZE_MAX;
  return p->offsets[tensor];
}

static inline int pm_runtime_fb_plan_lifetime(const pm_plan_t *plan, int tensor, uint64_t *first,
                                              uint64_t *last) {
  (void)plan, (void)tensor, (void)first, (void)last;
  return PM_ERR_UNAVAILABLE;
}

static inline pm_arena_t *pm_runtime_fb_arena_create(const char *name) {
  (void)name;
  pm_runtime_arena_t *a = (pm_runtime_arena_t *)calloc(1, sizeof(pm_runtime_arena_t));
  if (a != NULL) a->live = PM_RUNTIME_FB_LIVE;
  return (pm_arena_t *)a;
}

static inline void pm_runtime_fb_arena_release(pm_runtime_arena_t *arena) {
  for (size_t t = 0; t < arena->count; t++)
    free(arena->blocks[t]);
  free(arena->blocks);
  free(arena->tensors);
  arena->blocks = NULL;
  arena->tensors = NULL;
  arena->count = 0;
  arena->capacity = 0;
}

/* A tensor's block size: C11's aligned_alloc wants a multiple of the alignment. */
static inline size_t pm_runtime_fb_block_bytes(const pm_runtime_tensor_t *t) {
  return (t->size + t->alignment - 1) & ~(t->alignment - 1);
}

/* As the library's arena keeps its memory when a plan fits, a tensor keeps
 * its block (address and contents) when the block still fits it: binding
 * the same plan again changes nothing. */
static inline int pm_runtime_fb_arena_bind(pm_arena_t *arena, const pm_plan_t *plan) {
  pm_runtime_arena_t *a = pm_runtime_fb_arena(arena, "pm_arena_bind");
  const pm_runtime_plan_t *p = (const pm_runtime_plan_t *)plan;
  if (a == NULL || p == NULL) return PM_ERR_INVALID_ARG;
  size_t slots = p->count != 0 ? p->count : 1;
  void **blocks = (void **)calloc(slots, sizeof(void *));
  pm_runtime_tensor_t *tensors = (pm_runtime_tensor_t *)malloc(slots * sizeof *tensors);
  if (blocks == NULL || tensors == NULL) {
    free(blocks);
    free(tensors);
    return PM_ERR_NOMEM;
  }
  if (p->count != 0) memcpy(tensors, p->tensors, p->count * sizeof *tensors);
  size_t kept_bytes = 0;
  for (size_t t = 0; t < p->count && t < a->count; t++) {
    const pm_runtime_tensor_t *held = &a->tensors[t];
    if (a->blocks[t] == NULL || held->alignment < tensors[t].alignment ||
        pm_runtime_fb_block_bytes(held) < pm_runtime_fb_block_bytes(&tensors[t]))
      continue;
    blocks[t] = a->blocks[t];
    a->blocks[t] = NULL;
    tensors[t] = *held; /* what the block can hold, for the next bind */
    kept_bytes += pm_runtime_fb_block_bytes(held);
  }
  pm_runtime_fb_arena_release(a);
  a->blocks = blocks;
  a->tensors = tensors;
  a->count = p->count;
  a->capacity = kept_bytes;
  return PM_OK;
}

static inline void *pm_runtime_fb_arena_tensor(pm_arena_t *arena, int tensor) {
  pm_runtime_arena_t *a = pm_runtime_fb_arena(arena, "pm_arena_tensor");
  if (a == NULL || tensor < 0 || (size_t)tensor >= a->count) return NULL;
  const pm_runtime_tensor_t *t = &a->tensors[tensor];
  size_t rounded = pm_runtime_fb_block_bytes(t);
  if (a->blocks[tensor] == NULL &&
      (a->blocks[tensor] = aligned_alloc(t->alignment, rounded)) != NULL)
    a->capacity += rounded;
  return a->blocks[tensor];
}

static inline size_t pm_runtime_fb_arena_capacity(const pm_arena_t *arena) {
  const pm_runtime_arena_t *a = pm_runtime_fb_arena(arena, "pm_arena_capacity");
  return a != NULL ? a->capacity : 0;
}

static inline void pm_runtime_fb_arena_destroy(pm_arena_t *arena) {
  pm_runtime_arena_t *a = pm_runtime_fb_arena(arena, "pm_arena_destroy");
  if (a == NULL) return;
  a->live = 0;
  pm_runtime_fb_arena_release(a);
  free(a);
}

/* ---- Resolution. ---- */

/* A library from before pm_graph_set_plan_cache_limit: its cache keeps
 * every plan. */
static inline int pm_runtime_unavailable_plan_cache_limit(pm_graph_t *graph, size_t max_plans) {
  (void)max_plans;
  return graph != NULL ? PM_ERR_UNAVAILABLE : PM_ERR_INVALID_ARG;
}

/* Shared by every translation unit (weak definitions merge), so the
 * fallback notice is printed once per process. */
#if defined(__GNUC__)
__attribute__((weak)) int pm_runtime_fallback_noticed;
#else
static int pm_runtime_fallback_noticed;
#endif

static inline pm_runtime_table_t *pm_runtime_table_slot(void) {
  static pm_runtime_table_t table;
  return &table;
}

static inline void pm_runtime_table_fill(void) {
  static const char *const names[] = {"pm_graph_create",
                                      "pm_graph_destroy",
                                      "pm_graph_error",
                                      "pm_graph_add_tensor",
                                      "pm_graph_set_tensor_size",
                                      "pm_graph_add_op",
                                      "pm_graph_op_scratch",
                                      "pm_graph_add_interval",
                                      "pm_graph_plan",
                                      "pm_plan_summary",
                                      "pm_plan_offset",
                                      "pm_plan_lifetime",
                                      "pm_arena_create",
                                      "pm_arena_bind",
                                      "pm_arena_tensor",
                                      "pm_arena_capacity",
                                      "pm_arena_destroy"};
  enum { PM_RUNTIME_ENTRIES = sizeof names / sizeof names[0] };
  void *found[PM_RUNTIME_ENTRIES];
  int complete = 1;
  for (size_t i = 0; i < PM_RUNTIME_ENTRIES; i++)
    complete &= (found[i] = dlsym(PM_RUNTIME_DEFAULT_HANDLE, names[i])) != NULL;
  pm_runtime_table_t resolved = {pm_runtime_fb_graph_create,
                                 pm_runtime_fb_graph_destroy,
                                 pm_runtime_fb_graph_error,
                                 pm_runtime_fb_graph_add_tensor,
                                 pm_runtime_fb_graph_set_tensor_size,
                                 pm_runtime_fb_graph_add_op,
                                 pm_runtime_fb_graph_op_scratch,
                                 pm_runtime_fb_graph_add_interval,
                                 pm_runtime_fb_graph_plan,
                                 pm_runtime_fb_plan_summary,
                                 pm_runtime_fb_plan_offset,
                                 pm_runtime_fb_plan_lifetime,
                                 pm_runtime_fb_arena_create,
                                 pm_runtime_fb_arena_bind,
                                 pm_runtime_fb_arena_tensor,
                                 pm_runtime_fb_arena_capacity,
                                 pm_runtime_fb_arena_destroy,
                                 pm_runtime_fb_graph_set_plan_cache_limit};
  if (complete && offsetof(pm_runtime_table_t, graph_set_plan_cache_limit) == sizeof found) {
    /* The table starts with a row of function pointers in names[] order;
     * copying the bytes is how POSIX says a dlsym result becomes one. */
    memcpy(&resolved, found, sizeof found);
    void *limit = dlsym(PM_RUNTIME_DEFAULT_HANDLE, "pm_graph_set_plan_cache_limit");
    if (limit != NULL)
      memcpy(&resolved.graph_set_plan_cache_limit, &limit, sizeof limit);
    else
      resolved.graph_set_plan_cache_limit = pm_runtime_unavailable_plan_cache_limit;
  } else if (!__atomic_exchange_n(&pm_runtime_fallback_noticed, 1, __ATOMIC_ACQ_REL)) {
    fputs("poolmalloc: library not loaded; tensors use plain malloc\n", stderr);
  }
  *pm_runtime_table_slot() = resolved;
}

/* Filled once: threads that make their first planner call at the same
 * moment would otherwise all write the table while others read it (a data
 * race, reported by ThreadSanitizer). glibc's pthread_once starts over in
 * a child forked while another thread was filling it. */
static inline const pm_runtime_table_t *pm_runtime_table(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, pm_runtime_table_fill);
  return pm_runtime_table_slot();
}

/* ---- The public names, rerouted. ---- */
static inline pm_graph_t *pm_runtime_graph_create(const char *name) {
  return pm_runtime_table()->graph_create(name);
}
static inline void pm_runtime_graph_destroy(pm_graph_t *graph) {
  pm_runtime_table()->graph_destroy(graph);
}
static inline const char *pm_runtime_graph_error(const pm_graph_t *graph) {
  return pm_runtime_table()->graph_error(graph);
}
static inline int pm_runtime_graph_add_tensor(pm_graph_t *graph, const char *name, size_t size,
                                              size_t alignment, unsigned flags) {
  return pm_runtime_table()->graph_add_tensor(graph, name, size, alignment, flags);
}
static inline int pm_runtime_graph_set_tensor_size(pm_graph_t *graph, int tensor, size_t size) {
  return pm_runtime_table()->graph_set_tensor_size(graph, tensor, size);
}
static inline int pm_runtime_graph_add_op(pm_graph_t *graph, const char *name, const int *inputs,
                                          size_t input_count, const int *outputs,
                                          size_t output_count, size_t scratch_bytes,
                                          int inplace_input) {
  return pm_runtime_table()->graph_add_op(graph, name, inputs, input_count, outputs, output_count,
                                          scratch_bytes, inplace_input);
}
static inline int pm_runtime_graph_op_scratch(const pm_graph_t *graph, int op) {
  return pm_runtime_table()->graph_op_scratch(graph, op);
}
static inline int pm_runtime_graph_add_interval(pm_graph_t *graph, const char *name, size_t size,
                                                size_t alignment, uint64_t first, uint64_t last) {
  return pm_runtime_table()->graph_add_interval(graph, name, size, alignment, first, last);
}
static inline int pm_runtime_graph_plan(pm_graph_t *graph, const pm_plan_options_t *opts,
                                        const pm_plan_t **out) {
  return pm_runtime_table()->graph_plan(graph, opts, out);
}
static inline int pm_runtime_graph_set_plan_cache_limit(pm_graph_t *graph, size_t max_plans) {
  return pm_runtime_table()->graph_set_plan_cache_limit(graph, max_plans);
}
static inline int pm_runtime_plan_summary(const pm_plan_t *plan, pm_plan_summary_t *out) {
  return pm_runtime_table()->plan_summary(plan, out);
}
static inline size_t pm_runtime_plan_offset(const pm_plan_t *plan, int tensor) {
  return pm_runtime_table()->plan_offset(plan, tensor);
}
static inline int pm_runtime_plan_lifetime(const pm_plan_t *plan, int tensor, uint64_t *first,
                                           uint64_t *last) {
  return pm_runtime_table()->plan_lifetime(plan, tensor, first, last);
}
static inline pm_arena_t *pm_runtime_arena_create(const char *name) {
  return pm_runtime_table()->arena_create(name);
}
static inline int pm_runtime_arena_bind(pm_arena_t *arena, const pm_plan_t *plan) {
  return pm_runtime_table()->arena_bind(arena, plan);
}
static inline void *pm_runtime_arena_tensor(pm_arena_t *arena, int tensor) {
  return pm_runtime_table()->arena_tensor(arena, tensor);
}
static inline size_t pm_runtime_arena_capacity(const pm_arena_t *arena) {
  return pm_runtime_table()->arena_capacity(arena);
}
static inline void pm_runtime_arena_destroy(pm_arena_t *arena) {
  pm_runtime_table()->arena_destroy(arena);
}

#ifdef __cplusplus
}
#endif

#define pm_graph_create               pm_runtime_graph_create
#define pm_graph_destroy              pm_runtime_graph_destroy
#define pm_graph_error                pm_runtime_graph_error
#define pm_graph_add_tensor           pm_runtime_graph_add_tensor
#define pm_graph_set_tensor_size      pm_runtime_graph_set_tensor_size
#define pm_graph_add_op               pm_runtime_graph_add_op
#define pm_graph_op_scratch           pm_runtime_graph_op_scratch
#define pm_graph_add_interval         pm_runtime_graph_add_interval
#define pm_graph_plan                 pm_runtime_graph_plan
#define pm_graph_set_plan_cache_limit pm_runtime_graph_set_plan_cache_limit
#define pm_plan_summary               pm_runtime_plan_summary
#define pm_plan_offset                pm_runtime_plan_offset
#define pm_plan_lifetime              pm_runtime_plan_lifetime
#define pm_arena_create               pm_runtime_arena_create
#define pm_arena_bind                 pm_runtime_arena_bind
#define pm_arena_tensor               pm_runtime_arena_tensor
#define pm_arena_capacity             pm_runtime_arena_capacity
#define pm_arena_destroy              pm_runtime_arena_destroy

#endif /* POOLMALLOC_RUNTIME_H */
