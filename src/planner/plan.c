/* plan.c: from a graph's lifetimes and current sizes to arena offsets.
 *
 * Turns tensors into the solver's pm_buffer_t intervals (merging an
 * output into its input's buffer when an in-place hint holds for these
 * sizes, then placing them apart too and keeping the smaller plan), hands
 * them to _pm_plan_solve and records offsets and the
 * figures that say how good the plan is: naive (no reuse), lower bound
 * (peak live bytes) and planned. Results go to the shape cache. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "planner/graph_internal.h"

/* Checked with _pm_plan_validate: always in debug builds, else when the
 * validate_plans option is on (POOLMALLOC_VALIDATE_PLANS=1). */
static int plan_validation_enabled(void) {
#ifdef PM_DEBUG
  return 1;
#else
  return _pm_options.validate_plans != 0;
#endif
}

/* Planning computes no floating-point figure, as a double's constant lies in
 * the read-only data segment: one read there and the kernel's fault-around
 * maps the whole segment (5 pages) into a process that only plans and runs
 * (see options.c). Times are integers here, and the figures that are
 * ratios are derived when read. */
static uint64_t plan_now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static int plan_parse_options(pm_graph_t *graph, const pm_plan_options_t *opts,
                              pm_algorithm_t *algorithm, size_t *alignment) {
  /* The default is taken without parsing its name, which would read
   * read-only data (see plan_now_ns). */
  const char *name = opts != NULL ? opts->algorithm : NULL;
  *algorithm = PM_ALGORITHM_BEST;
  if (name != NULL && _pm_algorithm_parse(name, algorithm) != 0)
    return _pm_graph_fail(graph, PM_ERR_UNKNOWN_ALGORITHM,
                          "unknown algorithm '%s' (expected naive, greedy-size or best)",
                          PM_SHOWN(name));
  *alignment = opts != NULL && opts->alignment != 0 ? opts->alignment : PM_DEFAULT_ALIGNMENT;
  return _pm_graph_check_alignment(graph, NULL, *alignment);
}

static size_t plan_find_root(int *parent, size_t t) {
  while (parent[t] != (int)t) {
    parent[t] = parent[parent[t]]; /* path halving */
    t = (size_t)parent[t];
  }
  return t;
}

/* One buffer per tensor (for the naive figure) and, in merged[], one per
 * group of tensors sharing memory through in-place hints. buffer_of maps
 * each tensor to its merged buffer. */
static int plan_make_buffers(pm_graph_t *graph, size_t alignment, pm_buffer_t *single,
                             pm_buffer_t *merged, size_t *merged_count, int *buffer_of) {
  const pm_lifetimes_t *lt = &graph->lifetimes;
  size_t n = graph->tensor_count;
  uint64_t total = 0;
  for (size_t t = 0; t < n; t++) {
    const pm_tensor_t *tensor = &graph->tensors[t];
    size_t align = tensor->alignment != 0 ? tensor->alignment : alignment;
    if (tensor->size > SIZE_MAX / 2 - align)
      return _pm_graph_fail(graph, PM_ERR_BAD_SIZE,
                            "tensor '%s': size %zu is too large for alignment %zu",
                            PM_SHOWN(tensor->name), tensor->size, align);
    uint64_t rounded = (tensor->size + align - 1) & ~(uint64_t)(align - 1);
    if (rounded > SIZE_MAX / 2 - total)
      return _pm_graph_fail(graph, PM_ERR_BAD_SIZE,
                            "tensor '%s': total size of the tensors, each rounded up to its "
                            "alignment (here %zu), overflows",
                            PM_SHOWN(tensor->name), align);
    total += rounded;
    single[t] = (pm_buffer_t){lt->first[t], lt->last[t], tensor->size, align, 0};
  }
  int *parent = buffer_of; /* union-find first, then the buffer map */
  for (size_t t = 0; t < n; t++)
    parent[t] = (int)t;
  for (size_t t = 0; t < n; t++) {
    int input = lt->reuse_of[t];
    if (input >= 0 && graph->tensors[t].size <= graph->tensors[input].size)
      parent[plan_find_root(parent, t)] = (int)plan_find_root(parent, (size_t)input);
  }
  size_t *root_buffer = malloc((n != 0 ? n : 1) * sizeof *root_buffer);
  if (root_buffer == NULL) return _pm_graph_fail(graph, PM_ERR_NOMEM, "plan: out of memory");
  size_t count = 0;
  for (size_t t = 0; t < n; t++)
    if (plan_find_root(parent, t) == t) {
      root_buffer[t] = count;
      merged[count++] = single[t];
    }
  for (size_t t = 0; t < n; t++) {
    size_t b = root_buffer[plan_find_root(parent, t)];
    pm_buffer_t *buffer = &merged[b];
    if (single[t].lower < buffer->lower) buffer->lower = single[t].lower;
    if (single[t].upper > buffer->upper) buffer->upper = single[t].upper;
    if (single[t].size > buffer->size) buffer->size = single[t].size;
    if (single[t].alignment > buffer->alignment) buffer->alignment = single[t].alignment;
    root_buffer[t] = b; /* roots keep their own number; others now hold theirs */
  }
  for (size_t t = 0; t < n; t++)
    buffer_of[t] = (int)root_buffer[t];
  free(root_buffer);
  *merged_count = count;
  return PM_OK;
}

static int plan_check(pm_graph_t *graph, const pm_buffer_t *merged, size_t count,
                      const int *buffer_of) {
  size_t first = 0, second = 0;
  if (!plan_validation_enabled()) return PM_OK;
  errno = 0;
  if (_pm_plan_validate(merged, count, &first, &second) == 0) return PM_OK;
  if (errno == ENOMEM)
    return _pm_graph_fail(graph, PM_ERR_NOMEM, "out of memory while validating the plan");
  /* Name a tensor of each offending buffer. */
  const char *names[2] = {"?", "?"};
  for (size_t t = 0; t < graph->tensor_count; t++) {
    if ((size_t)buffer_of[t] == first && names[0][0] == '?') names[0] = graph->tensors[t].name;
    if ((size_t)buffer_of[t] == second && names[1][0] == '?') names[1] = graph->tensors[t].name;
  }
  if (first == second)
    return _pm_graph_fail(graph, PM_ERR_INVALID_ARG,
                          "internal error: tensor '%s' was placed at offset %llu, which is not "
                          "aligned to %llu or overflows",
                          PM_SHOWN(names[0]), (unsigned long long)merged[first].offset,
                          (unsigned long long)merged[first].alignment);
  return _pm_graph_fail(graph, PM_ERR_INVALID_ARG,
                        "internal error: plan is invalid for tensors '%s' and '%s'",
                        PM_SHOWN(names[0]), PM_SHOWN(names[1]));
}

/* Places count buffers with the solver; the arena's size goes to
 * *arena_size. */
static int plan_place(pm_graph_t *graph, const pm_plan_options_t *opts, pm_algorithm_t algorithm,
                      pm_buffer_t *buffers, size_t count, uint64_t *arena_size) {
  pm_solve_options_t solve = {algorithm, opts != NULL ? opts->time_limit_ms : 0, 0};
  if (_pm_plan_solve(buffers, count, &solve, arena_size) != 0)
    return _pm_graph_fail(graph, PM_ERR_NOMEM, "plan: out of memory in the solver");
  /* Each size is checked, but the padding that mixed alignments put
   * between buffers is not: an arena past SIZE_MAX / 2 could not be
   * rounded up to its alignment when bound, nor mapped. */
  if (*arena_size > SIZE_MAX / 2)
    return _pm_graph_fail(graph, PM_ERR_BAD_SIZE,
                          "plan: the arena would take %llu bytes, more than can be mapped",
                          (unsigned long long)*arena_size);
  return PM_OK;
}

/* The peak of bytes live at one step, for plans that take any of the
 * in-place hints: an output that fits its input may share its bytes at the
 * op that ends the one and starts the other, so there it is not counted.
 * (The merged buffers' own peak counts the input's size over the output's
 * whole life, which a plan that declines the hint need not pay.) */
static uint64_t plan_lower_bound(const pm_graph_t *graph, const pm_buffer_t *single,
                                 pm_buffer_t *scratch) {
  size_t n = graph->tensor_count;
  for (size_t t = 0; t < n; t++) {
    scratch[t] = single[t];
    int input = graph->lifetimes.reuse_of[t];
    if (input < 0 || graph->tensors[t].size > graph->tensors[input].size) continue;
    if (scratch[t].lower + 1 < scratch[t].upper)
      scratch[t].lower++;
    else
      scratch[t].size = 0; /* live at that op only */
  }
  return _pm_plan_lower_bound(scratch, n);
}

/* Solves for the current sizes and fills a new plan. In-place hints are
 * permissions: merged into its input's buffer, an output that outlives it
 * holds the input's size to its own end, and a small output of a large
 * input can cost more than the op's step saves (1024 bytes in, 64 out,
 * then 2048: 3072 merged against 2112 apart). With hints taken, the
 * tensors are also placed apart, and the smaller arena is kept. naive,
 * the no-reuse reference, takes no hint: its tensors are always apart. */
static int plan_solve(pm_graph_t *graph, const pm_plan_options_t *opts, pm_algorithm_t algorithm,
                      size_t alignment, pm_plan_t *plan) {
  size_t n = graph->tensor_count, slots = n != 0 ? n : 1;
  pm_buffer_t *single = malloc(slots * sizeof *single);
  pm_buffer_t *merged = malloc(slots * sizeof *merged);
  int *buffer_of = malloc(slots * sizeof *buffer_of);
  size_t count = 0;
  uint64_t arena_size = 0, apart_size = 0;
  bool take_hints = algorithm != PM_ALGORITHM_NAIVE;
  bool apart = false; /* the hints declined: each tensor its own buffer */
  int status = PM_OK;
  if (single == NULL || merged == NULL || buffer_of == NULL)
    status = _pm_graph_fail(graph, PM_ERR_NOMEM, "plan: out of memory");
  if (status == PM_OK)
    status = plan_make_buffers(graph, alignment, single, merged, &count, buffer_of);
  if (status == PM_OK && count != 0 && take_hints)
    status = plan_place(graph, opts, algorithm, merged, count, &arena_size);
  if (status == PM_OK && (count < n || (!take_hints && n != 0))) {
    status = plan_place(graph, opts, algorithm, single, n, &apart_size);
    apart = status == PM_OK && (apart_size < arena_size || !take_hints);
  }
  if (status == PM_OK && apart) {
    for (size_t t = 0; t < n; t++)
      buffer_of[t] = (int)t;
    status = plan_check(graph, single, n, buffer_of);
    arena_size = apart_size;
  } else if (status == PM_OK) {
    status = plan_check(graph, merged, count, buffer_of);
  }
  if (status == PM_OK) {
    const pm_buffer_t *placed = apart ? single : merged;
    for (size_t t = 0; t < n; t++) {
      plan->offsets[t] = placed[buffer_of[t]].offset;
      plan->first[t] = single[t].lower;
      plan->last[t] = single[t].upper;
      if (single[t].alignment > plan->max_alignment) plan->max_alignment = single[t].alignment;
    }
    pm_plan_summary_t *s = &plan->summary;
    s->tensors = n;
    s->naive_bytes = _pm_plan_naive_bytes(single, n);
    s->lower_bound_bytes = plan_lower_bound(graph, single, merged);
    s->planned_bytes = arena_size;
    s->algorithm = _pm_algorithm_name(algorithm);
  }
  free(single);
  free(merged);
  free(buffer_of);
  return status;
}

PM_EXPORT int pm_graph_plan(pm_graph_t *graph, const pm_plan_options_t *opts,
                            const pm_plan_t **out) {
  if (!_pm_graph_usable(graph, __func__)) return PM_ERR_INVALID_ARG;
  if (out == NULL) return _pm_graph_fail(graph, PM_ERR_INVALID_ARG, "plan: out is NULL");
  uint64_t start = plan_now_ns();
  pm_algorithm_t algorithm = PM_ALGORITHM_BEST;
  size_t alignment = PM_DEFAULT_ALIGNMENT;
  int status = plan_parse_options(graph, opts, &algorithm, &alignment);
  if (status == PM_OK) status = _pm_lifetimes_compute(graph);
  if (status != PM_OK) return status;
  uint64_t hash = _pm_plan_cache_hash(graph);
  pm_plan_t *plan = _pm_plan_cache_find(graph, algorithm, alignment, hash);
  if (plan != NULL) {
    plan->summary.from_cache = 1;
    plan->plan_time_ns = 0;
    *out = plan;
    return PM_OK;
  }
  size_t n = graph->tensor_count, slots = n != 0 ? n : 1;
  plan = calloc(1, sizeof *plan);
  if (plan != NULL) {
    plan->sizes = malloc(slots * sizeof *plan->sizes);
    plan->offsets = malloc(slots * sizeof *plan->offsets);
    plan->first = malloc(slots * sizeof *plan->first);
    plan->last = malloc(slots * sizeof *plan->last);
  }
  if (plan == NULL || plan->sizes == NULL || plan->offsets == NULL || plan->first == NULL ||
      plan->last == NULL) {
    _pm_plan_free(plan);
    return _pm_graph_fail(graph, PM_ERR_NOMEM, "plan: out of memory");
  }
  plan->generation = graph->generation;
  plan->algorithm = algorithm;
  plan->alignment = alignment;
  plan->sizes_hash = hash;
  plan->tensor_count = n;
  for (size_t t = 0; t < n; t++)
    plan->sizes[t] = graph->tensors[t].size;
  status = plan_solve(graph, opts, algorithm, alignment, plan);
  if (status != PM_OK) {
    _pm_plan_free(plan);
    return status;
  }
  plan->plan_time_ns = plan_now_ns() - start;
  _pm_plan_cache_insert(graph, plan);
  graph->error[0] = '\0';
  *out = plan;
  return PM_OK;
}

PM_EXPORT int pm_plan_summary(const pm_plan_t *plan, pm_plan_summary_t *out) {
  if (plan == NULL || out == NULL) return PM_ERR_INVALID_ARG;
  *out = plan->summary;
  out->saving = _pm_plan_saving(&plan->summary);
  out->plan_time_ms = (double)plan->plan_time_ns / 1e6;
  return PM_OK;
}

double _pm_plan_saving(const pm_plan_summary_t *summary) {
  if (summary->naive_bytes == 0) return 0.0;
  /* In double: padding between mixed alignments can make a plan larger
   * than naive (a negative saving), and naive, which counts that padding,
   * can pass INT64_MAX where the sum of the tensors' sizes does not. */
  return ((double)summary->naive_bytes - (double)summary->planned_bytes) /
         (double)summary->naive_bytes;
}

PM_EXPORT size_t pm_plan_offset(const pm_plan_t *plan, int tensor) {
  if (plan == NULL || tensor < 0 || (size_t)tensor >= plan->tensor_count) return SIZE_MAX;
  return plan->offsets[tensor];
}

PM_EXPORT int pm_plan_lifetime(const pm_plan_t *plan, int tensor, uint64_t *first, uint64_t *last) {
  if (plan == NULL || first == NULL || last == NULL) return PM_ERR_INVALID_ARG;
  if (tensor < 0 || (size_t)tensor >= plan->tensor_count) return PM_ERR_UNKNOWN_TENSOR;
  *first = plan->first[tensor];
  *last = plan->last[tensor];
  return PM_OK;
}
