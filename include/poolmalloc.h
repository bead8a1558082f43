/* poolmalloc.h: the public interface of libpoolmalloc.
 *
 * Three parts:
 *   1. pm_* allocator entry points: the same allocator that serves malloc()
 *      when the library is preloaded, callable without interposition.
 *   2. Statistics: pm_stats() fills a struct; pm_stats_print() writes the
 *      same figures as text or JSON (one emitter, so the two never diverge).
 *   3. Static memory planning: register a graph's tensors and their
 *      lifetimes, plan one arena ahead of time, serve every tensor from it.
 *
 * Linking: either link with -lpoolmalloc (pkg-config poolmalloc), or define
 * POOLMALLOC_RUNTIME_LINK before including this header, build against the
 * header alone and run under LD_PRELOAD=libpoolmalloc.so. In that mode the
 * planner entry points are looked up at run time; without the library the
 * program still runs and each tensor gets its own malloc() block (see
 * poolmalloc_runtime.h). */
#ifndef POOLMALLOC_H
#define POOLMALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define POOLMALLOC_VERSION_MAJOR 0
#define POOLMALLOC_VERSION_MINOR 1
#define POOLMALLOC_VERSION_PATCH 0

#if defined(__GNUC__)
#define PM_EXPORT      __attribute__((visibility("default")))
#define PM_MALLOC_ATTR __attribute__((malloc, warn_unused_result))
#else
#define PM_EXPORT
#define PM_MALLOC_ATTR
#endif

/* ------------------------------------------------------------------------
 * 1. Allocator entry points. Semantics match the unprefixed C/glibc
 *    functions; every result is aligned to at least 16 bytes.
 * ---------------------------------------------------------------------- */
PM_EXPORT PM_MALLOC_ATTR void *pm_malloc(size_t size);
PM_EXPORT PM_MALLOC_ATTR void *pm_calloc(size_t count, size_t size);
PM_EXPORT void *pm_realloc(void *ptr, size_t size);
PM_EXPORT void *pm_reallocarray(void *ptr, size_t count, size_t size);
PM_EXPORT PM_MALLOC_ATTR void *pm_aligned_alloc(size_t alignment, size_t size);
PM_EXPORT int pm_posix_memalign(void **out, size_t alignment, size_t size);
PM_EXPORT PM_MALLOC_ATTR void *pm_memalign(size_t alignment, size_t size);
PM_EXPORT PM_MALLOC_ATTR void *pm_valloc(size_t size);
PM_EXPORT PM_MALLOC_ATTR void *pm_pvalloc(size_t size);
PM_EXPORT void pm_free(void *ptr);
PM_EXPORT void pm_free_sized(void *ptr, size_t size);
PM_EXPORT void pm_free_aligned_sized(void *ptr, size_t alignment, size_t size);
PM_EXPORT size_t pm_usable_size(const void *ptr);
/* Returns retained unused memory to the OS now; 1 if any was released. */
PM_EXPORT int pm_trim(size_t pad);

/* ------------------------------------------------------------------------
 * 2. Statistics.
 * ---------------------------------------------------------------------- */
#define PM_STATS_MAX_CLASSES 96

typedef struct pm_size_class_stats_s {
  size_t block_size;    /* bytes per block in this class */
  uint64_t allocations; /* blocks handed out, ever */
  uint64_t frees;       /* blocks given back, ever */
  size_t live_blocks;   /* allocations - frees */
  size_t slabs;         /* slabs currently owned by this class */
  size_t slab_bytes;    /* bytes of those slabs */
} pm_size_class_stats_t;

typedef struct pm_stats_s {
  size_t allocated_bytes;      /* live now (usable sizes of live blocks) */
  size_t peak_allocated_bytes; /* high-water mark of allocated_bytes */
  size_t mapped_bytes;         /* obtained from the OS and not unmapped */
  size_t released_bytes;       /* returned to the OS, cumulative */
  size_t retained_bytes;       /* free, kept resident for reuse now */
  uint64_t total_allocations;
  uint64_t total_frees;
  uint64_t reuse_count; /* allocations served from freed memory */
  double reuse_rate;    /* reuse_count / total_allocations */
  double fragmentation; /* 1 - allocated_bytes / mapped_bytes */
  size_t class_count;   /* rows used in classes[] */
  pm_size_class_stats_t classes[PM_STATS_MAX_CLASSES];
} pm_stats_t;

typedef enum pm_stats_format_e { PM_STATS_TEXT = 0, PM_STATS_JSON = 1 } pm_stats_format_t;

/* Fills *out with a snapshot. Returns 0, or -1 when out is NULL. */
PM_EXPORT int pm_stats(pm_stats_t *out);
/* Writes the statistics (allocator and planned arenas) to fd. Returns 0, or
 * -1 with errno set when writing fails. */
PM_EXPORT int pm_stats_print(int fd, pm_stats_format_t format);

/* ------------------------------------------------------------------------
 * 3. Static memory planning.
 *
 * A graph holds tensors (byte size, alignment, flags) and either ops that
 * produce and consume them (graph form) or explicit [first, last) steps
 * (interval form). Planning turns lifetimes into offsets in one arena;
 * an arena is memory from the pool allocator laid out by a plan.
 *
 * Errors: functions returning int give a negative pm_status_t on failure and
 * pm_graph_error() names the offending item in one line.
 *
 * Threads: a graph, with its plans, is used by one thread at a time (even a
 * plan answered from the cache updates the graph); separate graphs and
 * separate arenas may be used from different threads at once.
 * ---------------------------------------------------------------------- */
typedef enum pm_status_e {
  PM_OK = 0,
  PM_ERR_INVALID_ARG = -1,    /* NULL or otherwise unusable argument */
  PM_ERR_NOMEM = -2,          /* memory for the plan or the arena */
  PM_ERR_BAD_SIZE = -3,       /* zero or overflowing size */
  PM_ERR_BAD_ALIGNMENT = -4,  /* alignment not a power of two */
  PM_ERR_BAD_INTERVAL = -5,   /* first >= last */
  PM_ERR_UNKNOWN_TENSOR = -6, /* an op names a tensor id that does not exist */
  PM_ERR_CYCLE = -7,          /* the ops form a cycle */
  PM_ERR_UNKNOWN_ALGORITHM = -8,
  PM_ERR_MIXED_FORMS = -9, /* ops and explicit intervals in one graph */
  PM_ERR_UNAVAILABLE = -10 /* runtime-link mode without the library, or with one too old */
} pm_status_t;

enum pm_tensor_flags_e {
  PM_TENSOR_INPUT = 1u << 0,     /* graph input: lives for the whole run */
  PM_TENSOR_OUTPUT = 1u << 1,    /* graph output: lives for the whole run */
  PM_TENSOR_PERSISTENT = 1u << 2 /* e.g. state: lives for the whole run */
};

typedef struct pm_graph_s pm_graph_t; /* opaque */
typedef struct pm_plan_s pm_plan_t;   /* opaque, owned by its graph */
typedef struct pm_arena_s pm_arena_t; /* opaque */

/* The largest alignment a tensor or a plan may ask for (2^61 with a 64-bit
 * size_t): offsets and sizes rounded up to it still fit in size_t. */
#define PM_MAX_ALIGNMENT ((SIZE_MAX / 4 + 1) / 2)

typedef struct pm_plan_options_s {
  const char *algorithm;  /* "naive", "greedy-size" or "best"; NULL = "best" */
  size_t alignment;       /* default alignment for tensors without one; 0 = 64 */
  uint32_t time_limit_ms; /* budget for "best", in work calibrated to about a ms each
                           * (deterministic, not a clock); 0 = its default, 1000 */
} pm_plan_options_t;

typedef struct pm_plan_summary_s {
  size_t tensors;           /* buffers planned (scratch buffers included) */
  size_t naive_bytes;       /* tensors end to end, each aligned: no reuse */
  size_t lower_bound_bytes; /* peak of bytes live at one step */
  size_t planned_bytes;     /* arena size of this plan */
  double saving;            /* 1 - planned / naive */
  /* These two describe the latest pm_graph_plan call that returned the plan. */
  double plan_time_ms;   /* time spent planning (0 when from the cache) */
  int from_cache;        /* 1 when the shape cache answered */
  const char *algorithm; /* name of the algorithm that produced it */
} pm_plan_summary_t;

/* Graph construction. name may be NULL; a named graph's messages (see
 * pm_graph_error) start with "graph 'name': ". */
PM_EXPORT pm_graph_t *pm_graph_create(const char *name);
/* Destroying a graph (or an arena) twice is a bug like a double free and
 * ends the same way: a one-line message, then abort(). */
PM_EXPORT void pm_graph_destroy(pm_graph_t *graph);
/* One-line description of the last error on this graph ("" if none). */
PM_EXPORT const char *pm_graph_error(const pm_graph_t *graph);

/* Adds a tensor; returns its id (>= 0) or a negative pm_status_t.
 * alignment 0 means the plan's default. */
PM_EXPORT int pm_graph_add_tensor(pm_graph_t *graph, const char *name, size_t size,
                                  size_t alignment, unsigned flags);
/* Changes a tensor's size (a new shape); the next plan call consults the
 * shape cache before planning again. An arena keeps serving the layout it
 * was bound to: plan and bind again before writing the new size. */
PM_EXPORT int pm_graph_set_tensor_size(pm_graph_t *graph, int tensor, size_t size);

/* Graph form: an op reads inputs and writes outputs. scratch_bytes > 0 adds
 * a buffer live only during this op (see pm_graph_op_scratch). inplace_input
 * is an index into inputs[] whose buffer the first output may reuse, or -1.
 * The hint is a permission, taken only when the input dies at this op and
 * neither tensor is an input, output, persistent or scratch buffer (those
 * hold their bytes beyond this op), only while the output fits, and only
 * when the plan that takes it is no larger than the one that does not (an
 * output kept in its input's buffer keeps the input's size).
 * Returns the op id (>= 0) or a negative pm_status_t. */
PM_EXPORT int pm_graph_add_op(pm_graph_t *graph, const char *name, const int *inputs,
                              size_t input_count, const int *outputs, size_t output_count,
                              size_t scratch_bytes, int inplace_input);
/* Tensor id of an op's scratch buffer, or -1 if it has none. */
PM_EXPORT int pm_graph_op_scratch(const pm_graph_t *graph, int op);

/* Interval form: the tensor is live over steps [first, last). */
PM_EXPORT int pm_graph_add_interval(pm_graph_t *graph, const char *name, size_t size,
                                    size_t alignment, uint64_t first, uint64_t last);

/* Plans the graph for its current tensor sizes. *out stays owned by the
 * graph; a repeat call with sizes seen before returns the cached plan,
 * whatever its time limit. By default the cache keeps every shape planned
 * (one offset array each) and a plan stays valid until pm_graph_destroy.
 * opts may be NULL. */
PM_EXPORT int pm_graph_plan(pm_graph_t *graph, const pm_plan_options_t *opts,
                            const pm_plan_t **out);
/* Bounds the graph's plan cache to max_plans plans (0: no bound, the
 * default), for a program that sees unboundedly many shapes. Past the
 * bound the least recently returned plans are freed, at once and by later
 * pm_graph_plan calls on this graph: a plan pointer is then valid only
 * until one of those calls frees it (the plan a call returns never is).
 * Arenas copy what they need when bound, so they are not affected. Under
 * POOLMALLOC_RUNTIME_LINK with a library older than this call, it returns
 * PM_ERR_UNAVAILABLE and the rest of the API still uses that library. */
PM_EXPORT int pm_graph_set_plan_cache_limit(pm_graph_t *graph, size_t max_plans);
PM_EXPORT int pm_plan_summary(const pm_plan_t *plan, pm_plan_summary_t *out);
/* Byte offset of a tensor in the arena, or SIZE_MAX for an unknown id. */
PM_EXPORT size_t pm_plan_offset(const pm_plan_t *plan, int tensor);
/* Lifetime steps the planner used for a tensor; returns 0 or a pm_status_t. */
PM_EXPORT int pm_plan_lifetime(const pm_plan_t *plan, int tensor, uint64_t *first, uint64_t *last);

/* Arenas. An arena takes memory from the pool allocator for a plan and
 * keeps it across runs; binding a larger plan grows it, a smaller one reuses
 * it. Binding copies the plan's offsets, so the arena may outlive the graph.
 * Arenas are independent (e.g. one per thread) and appear in stats.
 * Destroying one twice aborts with a message, as a graph does. */
PM_EXPORT pm_arena_t *pm_arena_create(const char *name);
PM_EXPORT int pm_arena_bind(pm_arena_t *arena, const pm_plan_t *plan);
/* Pointer to a tensor of the bound plan, or NULL for an unknown id. */
PM_EXPORT void *pm_arena_tensor(pm_arena_t *arena, int tensor);
PM_EXPORT size_t pm_arena_capacity(const pm_arena_t *arena);
PM_EXPORT void pm_arena_destroy(pm_arena_t *arena);

#ifdef __cplusplus
}
#endif

#ifdef POOLMALLOC_RUNTIME_LINK
#include "poolmalloc_runtime.h"
#endif

#endif /* POOLMALLOC_H */
