/* graph_internal.h: the data behind the opaque pm_graph_t, pm_plan_t and
 * pm_arena_t of poolmalloc.h, shared by graph.c (construction), lifetime.c
 * (what lives when), plan.c / plan_cache.c (planning and reuse of plans)
 * and arena.c (memory laid out by a plan). */
#ifndef PM_GRAPH_INTERNAL_H
#define PM_GRAPH_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "poolmalloc.h"
#include "planner/planner.h"
#include "utf8.h"

/* Beyond the public flags: a buffer that only exists during one op. */
#define PM_TENSOR_SCRATCH   (1u << 8)
#define PM_TENSOR_WHOLE_RUN (PM_TENSOR_INPUT | PM_TENSOR_OUTPUT | PM_TENSOR_PERSISTENT)
/* Interval-form tensor: first/last were given, not derived. */
#define PM_TENSOR_INTERVAL (1u << 9)

#define PM_DEFAULT_ALIGNMENT 64
#define PM_ERROR_MAX         256

typedef struct pm_tensor_s {
  char *name;
  size_t size;
  size_t alignment; /* 0 = the plan's default */
  unsigned flags;
  int producer;   /* op id, or -1 */
  uint64_t first; /* interval form only */
  uint64_t last;
} pm_tensor_t;

typedef struct pm_op_s {
  char *name;
  int *inputs;
  size_t input_count;
  int *outputs;
  size_t output_count;
  int scratch;       /* tensor id, or -1 */
  int inplace_input; /* index into inputs, or -1 */
} pm_op_t;

/* Shape-independent result of lifetime analysis: per tensor its steps and
 * the tensor whose buffer it may reuse (decided later, once sizes are
 * known). */
typedef struct pm_lifetimes_s {
  uint64_t *first;
  uint64_t *last;
  int *reuse_of; /* tensor id of an in-place candidate, or -1 */
  size_t count;
  uint64_t steps;
} pm_lifetimes_t;

typedef struct pm_plan_s pm_plan_t;

/* A live graph's mark: every entry point refuses a graph without it (one
 * destroyed already, or never made by pm_graph_create). */
#define PM_GRAPH_LIVE 0x6c697665u

struct pm_graph_s {
  uint32_t live; /* PM_GRAPH_LIVE until destroyed */
  char *name;
  pm_tensor_t *tensors;
  size_t tensor_count, tensor_capacity;
  pm_op_t *ops;
  size_t op_count, op_capacity;
  size_t interval_count;
  /* Bumped by every structural change; lifetimes and cached plans are
   * only reused for the generation they were made for. */
  uint64_t generation;
  pm_lifetimes_t lifetimes;
  uint64_t lifetimes_generation; /* generation + 1 when valid, 0 = none */
  pm_plan_t *plans;              /* shape cache, most recently used first */
  size_t plan_count;
  size_t plan_limit; /* most plans kept (pm_graph_set_plan_cache_limit); 0 = all */
  char error[PM_ERROR_MAX];
};

struct pm_plan_s {
  pm_plan_t *next;
  /* Cache key. */
  uint64_t generation;
  pm_algorithm_t algorithm;
  size_t alignment;
  uint64_t sizes_hash;
  size_t *sizes;
  size_t tensor_count;
  /* Result, per tensor id. */
  uint64_t *offsets;
  uint64_t *first;
  uint64_t *last;
  size_t max_alignment;
  /* Its doubles (saving, plan_time_ms) are left 0 and derived when read,
   * see pm_plan_summary. */
  pm_plan_summary_t summary;
  uint64_t plan_time_ns;
};

/* 1 - planned / naive, or 0 for an empty graph. */
double _pm_plan_saving(const pm_plan_summary_t *summary);

struct pm_arena_s; /* defined in arena.c */

/* Records a one-line message on the graph; returns status for chaining. */
int _pm_graph_fail(pm_graph_t *graph, int status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* PM_OK, or PM_ERR_BAD_ALIGNMENT with a message when alignment is not a
 * power of two or is too large; 0 passes. tensor names it, or NULL for the
 * plan's alignment. */
int _pm_graph_check_alignment(pm_graph_t *graph, const char *tensor, size_t alignment);
/* Name for messages: the tensor's name, or "#id". buf holds the fallback. */
/* false for NULL (the caller returns its error); a graph that is not live
 * stops the process with a message naming func, as a double free does:
 * its memory, freed, may hold anything by now. */
bool _pm_graph_usable(const pm_graph_t *graph, const char *func);
/* An op as messages name it: its name cut as PM_SHOWN does, or "#id",
 * written to buf (PM_NAME_SHOWN_SIZE bytes). */
const char *_pm_graph_op_label(const pm_graph_t *graph, int id, char *buf);

/* Fills graph->lifetimes for the current structure (once per generation).
 * Returns 0 or a negative pm_status_t with the error recorded. */
int _pm_lifetimes_compute(pm_graph_t *graph);
void _pm_lifetimes_free(pm_lifetimes_t *lifetimes);

/* Shape cache. */
uint64_t _pm_plan_cache_hash(const pm_graph_t *graph);
pm_plan_t *_pm_plan_cache_find(pm_graph_t *graph, pm_algorithm_t algorithm, size_t alignment,
                               uint64_t hash);
/* Adds a plan, then frees the least recently used ones past the limit. */
void _pm_plan_cache_insert(pm_graph_t *graph, pm_plan_t *plan);
void _pm_plan_cache_clear(pm_graph_t *graph);
void _pm_plan_free(pm_plan_t *plan);

#endif /* PM_GRAPH_INTERNAL_H */
