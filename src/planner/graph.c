/* graph.c: building a graph for the planner.
 *
 * Records tensors and either ops (graph form) or explicit intervals
 * (interval form), checking each item as it arrives so that a bad one is
 * reported by name at the call that added it. What lives when is worked
 * out later, in lifetime.c; where it goes, in plan.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "planner/graph_internal.h"
#include "utf8.h"

static char *graph_strdup(const char *text) {
  if (text == NULL) return NULL;
  size_t len = strlen(text) + 1;
  char *copy = malloc(len);
  if (copy != NULL) memcpy(copy, text, len);
  return copy;
}

/* Unnamed items are called by their id in messages. */
static const char *graph_name_or_id(const char *name, size_t id, char *buf, size_t len) {
  if (name != NULL) return name;
  snprintf(buf, len, "#%zu", id);
  return buf;
}

/* A named graph's messages start with its name, for engines that run
 * several. Names are the caller's bytes: every name in a message is cut
 * (PM_SHOWN) to leave room for the problem, and control characters show
 * as '?'. */
int _pm_graph_fail(pm_graph_t *graph, int status, const char *format, ...) {
  int prefix = 0;
  if (graph->name != NULL)
    prefix = snprintf(graph->error, sizeof graph->error, "graph '%s': ", PM_SHOWN(graph->name));
  va_list args;
  va_start(args, format);
  vsnprintf(graph->error + prefix, sizeof graph->error - (size_t)prefix, format, args);
  va_end(args);
  _pm_text_mask_controls(graph->error);
  return status;
}

const char *_pm_graph_op_label(const pm_graph_t *graph, int id, char *buf) {
  if (id >= 0 && (size_t)id < graph->op_count && graph->ops[id].name != NULL)
    return _pm_name_shown(buf, graph->ops[id].name);
  snprintf(buf, PM_NAME_SHOWN_SIZE, "#%d", id);
  return buf;
}

bool _pm_graph_usable(const pm_graph_t *graph, const char *func) {
  if (graph == NULL) return false;
  if (graph->live != PM_GRAPH_LIVE) _pm_fatal_pointer(func, "not a live graph (destroyed?)", graph);
  return true;
}

PM_EXPORT pm_graph_t *pm_graph_create(const char *name) {
  pm_graph_t *graph = calloc(1, sizeof *graph);
  if (graph == NULL) return NULL;
  if (name != NULL && (graph->name = graph_strdup(name)) == NULL) {
    free(graph);
    return NULL;
  }
  graph->live = PM_GRAPH_LIVE;
  return graph;
}

PM_EXPORT void pm_graph_destroy(pm_graph_t *graph) {
  /* A second destroy would free the tensors and plans again. */
  if (!_pm_graph_usable(graph, __func__)) return;
  graph->live = 0;
  _pm_plan_cache_clear(graph);
  _pm_lifetimes_free(&graph->lifetimes);
  for (size_t i = 0; i < graph->tensor_count; i++)
    free(graph->tensors[i].name);
  for (size_t i = 0; i < graph->op_count; i++) {
    free(graph->ops[i].name);
    free(graph->ops[i].inputs);
    free(graph->ops[i].outputs);
  }
  free(graph->tensors);
  free(graph->ops);
  free(graph->name);
  free(graph);
}

PM_EXPORT const char *pm_graph_error(const pm_graph_t *graph) {
  return _pm_graph_usable(graph, __func__) ? graph->error : "graph is NULL";
}

/* Grows an array of elements of elem_size to hold one more. */
static int graph_reserve(void **items, size_t *capacity, size_t count, size_t elem_size) {
  if (count < *capacity) return 0;
  size_t next = *capacity != 0 ? *capacity * 2 : 16;
  if (next > (size_t)INT32_MAX) return -1; /* ids are ints */
  void *grown = realloc(*items, next * elem_size);
  if (grown == NULL) return -1;
  *items = grown;
  *capacity = next;
  return 0;
}

/* Rejects sizes the planner cannot place: zero, or so large that aligning
 * them (or summing two of them) could overflow. Alignment 0 stands for the
 * plan's, checked here at the default: a size that fails only at a larger
 * plan alignment is reported when that plan is asked for. */
static int graph_check_size(pm_graph_t *graph, const char *what, const char *name, size_t size,
                            size_t alignment) {
  if (alignment == 0) alignment = PM_DEFAULT_ALIGNMENT;
  if (size == 0)
    return _pm_graph_fail(graph, PM_ERR_BAD_SIZE, "%s '%s': size must be greater than 0", what,
                          PM_SHOWN(name));
  if (size > SIZE_MAX / 2 || size > SIZE_MAX / 2 - alignment)
    return _pm_graph_fail(graph, PM_ERR_BAD_SIZE, "%s '%s': size %zu is too large", what,
                          PM_SHOWN(name), size);
  return PM_OK;
}

int _pm_graph_check_alignment(pm_graph_t *graph, const char *tensor, size_t alignment) {
  const char *problem = (alignment & (alignment - 1)) != 0 ? "is not a power of two"
                        : alignment > PM_MAX_ALIGNMENT     ? "is too large"
                                                           : NULL;
  if (problem == NULL) return PM_OK; /* 0 passes: it means the default */
  char limit[40] = "";
  if (alignment > PM_MAX_ALIGNMENT)
    snprintf(limit, sizeof limit, " (at most %zu)", (size_t)PM_MAX_ALIGNMENT);
  if (tensor != NULL)
    return _pm_graph_fail(graph, PM_ERR_BAD_ALIGNMENT, "tensor '%s': alignment %zu %s%s",
                          PM_SHOWN(tensor), alignment, problem, limit);
  return _pm_graph_fail(graph, PM_ERR_BAD_ALIGNMENT, "plan alignment %zu %s%s", alignment, problem,
                        limit);
}

static int graph_push_tensor(pm_graph_t *graph, const char *name, size_t size, size_t alignment,
                             unsigned flags) {
  char label[32];
  name = graph_name_or_id(name, graph->tensor_count, label, sizeof label);
  int status = _pm_graph_check_alignment(graph, name, alignment);
  if (status == PM_OK) status = graph_check_size(graph, "tensor", name, size, alignment);
  if (status != PM_OK) return status;
  if (graph_reserve((void **)&graph->tensors, &graph->tensor_capacity, graph->tensor_count,
                    sizeof *graph->tensors) != 0)
    return _pm_graph_fail(graph, PM_ERR_NOMEM, "tensor '%s': out of memory", PM_SHOWN(name));
  pm_tensor_t *tensor = &graph->tensors[graph->tensor_count];
  memset(tensor, 0, sizeof *tensor);
  if ((tensor->name = graph_strdup(name)) == NULL)
    return _pm_graph_fail(graph, PM_ERR_NOMEM, "tensor '%s': out of memory", PM_SHOWN(name));
  tensor->size = size;
  tensor->alignment = alignment;
  tensor->flags = flags;
  tensor->producer = -1;
  graph->generation++;
  return (int)graph->tensor_count++;
}

PM_EXPORT int pm_graph_add_tensor(pm_graph_t *graph, const char *name, size_t size,
                                  size_t alignment, unsigned flags) {
  if (!_pm_graph_usable(graph, __func__)) return PM_ERR_INVALID_ARG;
  if ((flags & ~(unsigned)PM_TENSOR_WHOLE_RUN) != 0) {
    char label[32]; /* an unnamed tensor by the id it would have had */
    return _pm_graph_fail(
        graph, PM_ERR_INVALID_ARG, "tensor '%s': unknown flags 0x%x",
        PM_SHOWN(graph_name_or_id(name, graph->tensor_count, label, sizeof label)), flags);
  }
  return graph_push_tensor(graph, name, size, alignment, flags);
}

PM_EXPORT int pm_graph_set_tensor_size(pm_graph_t *graph, int tensor, size_t size) {
  if (!_pm_graph_usable(graph, __func__)) return PM_ERR_INVALID_ARG;
  if (tensor < 0 || (size_t)tensor >= graph->tensor_count)
    return _pm_graph_fail(graph, PM_ERR_UNKNOWN_TENSOR, "unknown tensor id %d", tensor);
  pm_tensor_t *t = &graph->tensors[tensor];
  int status = graph_check_size(graph, "tensor", t->name, size, t->alignment);
  if (status != PM_OK) return status;
  t->size = size; /* shape only: lifetimes and the generation stay */
  return PM_OK;
}

static int *graph_copy_ids(const int *ids, size_t count) {
  int *copy = malloc((count != 0 ? count : 1) * sizeof *copy);
  if (copy != NULL && count != 0) memcpy(copy, ids, count * sizeof *copy);
  return copy;
}

/* Every id must exist and every output must have no producer yet. */
static int graph_check_op(pm_graph_t *graph, const char *name, const int *inputs,
                          size_t input_count, const int *outputs, size_t output_count,
                          int inplace_input) {
  char buf[PM_NAME_SHOWN_SIZE];
  name = PM_SHOWN(name); /* only messages use it here */
  if ((input_count != 0 && inputs == NULL) || (output_count != 0 && outputs == NULL))
    return _pm_graph_fail(graph, PM_ERR_INVALID_ARG, "op '%s': NULL tensor list", name);
  if (input_count > INT32_MAX || output_count > INT32_MAX)
    return _pm_graph_fail(graph, PM_ERR_INVALID_ARG, "op '%s': too many tensors", name);
  for (size_t i = 0; i < input_count + output_count; i++) {
    int id = i < input_count ? inputs[i] : outputs[i - input_count];
    if (id < 0 || (size_t)id >= graph->tensor_count)
      return _pm_graph_fail(graph, PM_ERR_UNKNOWN_TENSOR, "op '%s': unknown tensor id %d", name,
                            id);
  }
  for (size_t i = 0; i < output_count; i++) {
    const pm_tensor_t *t = &graph->tensors[outputs[i]];
    if (t->producer >= 0)
      return _pm_graph_fail(graph, PM_ERR_INVALID_ARG,
                            "tensor '%s' is produced by two ops: '%s' and '%s'", PM_SHOWN(t->name),
                            _pm_graph_op_label(graph, t->producer, buf), name);
    for (size_t j = 0; j < i; j++)
      if (outputs[j] == outputs[i])
        return _pm_graph_fail(graph, PM_ERR_INVALID_ARG, "op '%s' lists output '%s' twice", name,
                              PM_SHOWN(t->name));
  }
  if (inplace_input < -1 || (inplace_input >= 0 && (size_t)inplace_input >= input_count))
    return _pm_graph_fail(graph, PM_ERR_INVALID_ARG,
                          "op '%s': inplace_input %d is not an index into its %zu inputs", name,
                          inplace_input, input_count);
  if (inplace_input >= 0 && output_count == 0)
    return _pm_graph_fail(graph, PM_ERR_INVALID_ARG, "op '%s': inplace_input without an output",
                          name);
  return PM_OK;
}

PM_EXPORT int pm_graph_add_op(pm_graph_t *graph, const char *name, const int *inputs,
                              size_t input_count, const int *outputs, size_t output_count,
                              size_t scratch_bytes, int inplace_input) {
  if (!_pm_graph_usable(graph, __func__)) return PM_ERR_INVALID_ARG;
  char label[32];
  name = graph_name_or_id(name, graph->op_count, label, sizeof label);
  if (graph->interval_count != 0)
    return _pm_graph_fail(graph, PM_ERR_MIXED_FORMS,
                          "op '%s': graph already has explicit intervals", PM_SHOWN(name));
  int status =
      graph_check_op(graph, name, inputs, input_count, outputs, output_count, inplace_input);
  if (status == PM_OK && scratch_bytes != 0)
    status = graph_check_size(graph, "scratch of op", name, scratch_bytes, 0);
  if (status != PM_OK) return status;
  if (graph_reserve((void **)&graph->ops, &graph->op_capacity, graph->op_count,
                    sizeof *graph->ops) != 0)
    return _pm_graph_fail(graph, PM_ERR_NOMEM, "op '%s': out of memory", PM_SHOWN(name));
  pm_op_t op = {.name = graph_strdup(name),
                .inputs = graph_copy_ids(inputs, input_count),
                .input_count = input_count,
                .outputs = graph_copy_ids(outputs, output_count),
                .output_count = output_count,
                .scratch = -1,
                .inplace_input = inplace_input};
  int op_id = (int)graph->op_count;
  if (op.name == NULL || op.inputs == NULL || op.outputs == NULL) {
    status = _pm_graph_fail(graph, PM_ERR_NOMEM, "op '%s': out of memory", PM_SHOWN(name));
  } else if (scratch_bytes != 0) {
    char scratch_name[PM_ERROR_MAX / 2];
    /* A long op name is cut between characters to leave room for the suffix. */
    int kept = (int)_pm_utf8_cut(name, sizeof scratch_name - sizeof ".scratch");
    snprintf(scratch_name, sizeof scratch_name, "%.*s.scratch", kept, name);
    int scratch = graph_push_tensor(graph, scratch_name, scratch_bytes, 0, PM_TENSOR_SCRATCH);
    if (scratch >= 0)
      op.scratch = scratch;
    else
      status = scratch;
  }
  if (status != PM_OK) {
    free(op.name);
    free(op.inputs);
    free(op.outputs);
    return status;
  }
  if (op.scratch >= 0) graph->tensors[op.scratch].producer = op_id;
  for (size_t i = 0; i < output_count; i++)
    graph->tensors[outputs[i]].producer = op_id;
  graph->ops[graph->op_count++] = op;
  graph->generation++;
  return op_id;
}

PM_EXPORT int pm_graph_op_scratch(const pm_graph_t *graph, int op) {
  if (!_pm_graph_usable(graph, __func__) || op < 0 || (size_t)op >= graph->op_count) return -1;
  return graph->ops[op].scratch;
}

PM_EXPORT int pm_graph_add_interval(pm_graph_t *graph, const char *name, size_t size,
                                    size_t alignment, uint64_t first, uint64_t last) {
  if (!_pm_graph_usable(graph, __func__)) return PM_ERR_INVALID_ARG;
  char label[32];
  name = graph_name_or_id(name, graph->tensor_count, label, sizeof label);
  if (graph->op_count != 0)
    return _pm_graph_fail(graph, PM_ERR_MIXED_FORMS, "tensor '%s': graph already has ops",
                          PM_SHOWN(name));
  if (first >= last)
    return _pm_graph_fail(graph, PM_ERR_BAD_INTERVAL,
                          "tensor '%s': interval [%llu, %llu) is empty (first must be < last)",
                          PM_SHOWN(name), (unsigned long long)first, (unsigned long long)last);
  int id = graph_push_tensor(graph, name, size, alignment, PM_TENSOR_INTERVAL);
  if (id < 0) return id;
  graph->tensors[id].first = first;
  graph->tensors[id].last = last;
  graph->interval_count++;
  return id;
}
