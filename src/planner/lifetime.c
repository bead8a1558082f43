/* lifetime.c: which steps each tensor is live over.
 *
 * Graph form: ops run in a topological order (Kahn's algorithm, taking the
 * lowest op id among the ready ones, so an unconstrained graph keeps its
 * insertion order), one op per step. A tensor is born at its producer's
 * step and dies after its last consumer's step; graph inputs, outputs and
 * persistent tensors span the whole run; a scratch buffer lives during its
 * op only. Interval form: the given [first, last) steps.
 *
 * None of this depends on tensor sizes, so it runs once per graph
 * structure; the in-place hints are only recorded here (reuse_of) because
 * whether an output fits its input's buffer is a question of shape. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/graph_internal.h"

void _pm_lifetimes_free(pm_lifetimes_t *lifetimes) {
  free(lifetimes->first);
  free(lifetimes->last);
  free(lifetimes->reuse_of);
  memset(lifetimes, 0, sizeof *lifetimes);
}

/* Min-heap of ready op ids. */
typedef struct ready_heap_s {
  int *ids;
  size_t count;
} ready_heap_t;

static void heap_push(ready_heap_t *heap, int id) {
  size_t i = heap->count++;
  while (i > 0 && heap->ids[(i - 1) / 2] > id) {
    heap->ids[i] = heap->ids[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  heap->ids[i] = id;
}

static int heap_pop(ready_heap_t *heap) {
  int top = heap->ids[0];
  int last = heap->ids[--heap->count];
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= heap->count) break;
    if (child + 1 < heap->count && heap->ids[child + 1] < heap->ids[child]) child++;
    if (heap->ids[child] >= last) break;
    heap->ids[i] = heap->ids[child];
    i = child;
  }
  if (heap->count > 0) heap->ids[i] = last;
  return top;
}

/* Some ops never became ready: walk back from one of them through
 * unscheduled producers until an op repeats; the repeat closes a cycle,
 * which is named in execution order. */
static int lifetimes_report_cycle(pm_graph_t *graph, const uint64_t *step, int *mark) {
  const uint64_t unscheduled = UINT64_MAX;
  int start = 0;
  while (step[start] != unscheduled)
    start++;
  for (size_t i = 0; i < graph->op_count; i++)
    mark[i] = -1;
  int *path = malloc(graph->op_count * sizeof *path);
  if (path == NULL) return _pm_graph_fail(graph, PM_ERR_CYCLE, "cycle among ops");
  size_t length = 0;
  int op = start;
  while (mark[op] < 0) {
    mark[op] = (int)length;
    path[length++] = op;
    const pm_op_t *o = &graph->ops[op];
    int next = -1;
    for (size_t i = 0; i < o->input_count && next < 0; i++) {
      int producer = graph->tensors[o->inputs[i]].producer;
      if (producer >= 0 && step[producer] == unscheduled) next = producer;
    }
    op = next; /* an unscheduled op always has an unscheduled producer */
  }
  char message[PM_ERROR_MAX], buf[PM_NAME_SHOWN_SIZE];
  size_t used = (size_t)snprintf(message, sizeof message, "cycle among ops:");
  /* path runs consumer -> producer; print producer first. */
  for (size_t i = length; i-- > (size_t)mark[op] && used < sizeof message;)
    used += (size_t)snprintf(message + used, sizeof message - used, "%s %s",
                             i + 1 == length ? "" : ",", _pm_graph_op_label(graph, path[i], buf));
  free(path);
  return _pm_graph_fail(graph, PM_ERR_CYCLE, "%s", message);
}

/* step[op] = position in the topological order. */
static int lifetimes_order_ops(pm_graph_t *graph, uint64_t *step) {
  size_t n = graph->op_count;
  int *indegree = calloc(n, sizeof *indegree);
  size_t *edge_start = calloc(n + 1, sizeof *edge_start);
  ready_heap_t heap = {malloc(n * sizeof(int)), 0};
  int *edges = NULL;
  int status = PM_OK;
  if (indegree == NULL || edge_start == NULL || heap.ids == NULL) goto nomem;
  /* Edges producer -> consumer in compressed rows. */
  size_t edge_count = 0;
  for (size_t op = 0; op < n; op++)
    for (size_t i = 0; i < graph->ops[op].input_count; i++) {
      int producer = graph->tensors[graph->ops[op].inputs[i]].producer;
      if (producer >= 0) {
        edge_start[producer + 1]++;
        indegree[op]++;
        edge_count++;
      }
    }
  for (size_t op = 0; op < n; op++)
    edge_start[op + 1] += edge_start[op];
  edges = malloc((edge_count != 0 ? edge_count : 1) * sizeof *edges);
  if (edges == NULL) goto nomem;
  for (size_t op = 0; op < n; op++)
    for (size_t i = 0; i < graph->ops[op].input_count; i++) {
      int producer = graph->tensors[graph->ops[op].inputs[i]].producer;
      if (producer >= 0) edges[edge_start[producer]++] = (int)op;
    }
  /* The fill advanced each row start to the next row's start: shift back. */
  for (size_t op = n; op > 0; op--)
    edge_start[op] = edge_start[op - 1];
  edge_start[0] = 0;

  for (size_t op = 0; op < n; op++) {
    step[op] = UINT64_MAX;
    if (indegree[op] == 0) heap_push(&heap, (int)op);
  }
  uint64_t next_step = 0;
  while (heap.count > 0) {
    int op = heap_pop(&heap);
    step[op] = next_step++;
    for (size_t e = edge_start[op]; e < edge_start[op + 1]; e++)
      if (--indegree[edges[e]] == 0) heap_push(&heap, edges[e]);
  }
  if (next_step < n) status = lifetimes_report_cycle(graph, step, indegree);
  goto done;
nomem:
  status = _pm_graph_fail(graph, PM_ERR_NOMEM, "lifetime analysis: out of memory");
done:
  free(indegree);
  free(edge_start);
  free(heap.ids);
  free(edges);
  return status;
}

static void lifetimes_from_ops(pm_graph_t *graph, const uint64_t *step, pm_lifetimes_t *lt) {
  lt->steps = graph->op_count != 0 ? graph->op_count : 1;
  for (size_t t = 0; t < graph->tensor_count; t++) {
    const pm_tensor_t *tensor = &graph->tensors[t];
    lt->first[t] = tensor->producer >= 0 ? step[tensor->producer] : 0;
    lt->last[t] = lt->first[t] + 1;
    lt->reuse_of[t] = -1;
  }
  for (size_t op = 0; op < graph->op_count; op++)
    for (size_t i = 0; i < graph->ops[op].input_count; i++) {
      int t = graph->ops[op].inputs[i];
      if (lt->last[t] < step[op] + 1) lt->last[t] = step[op] + 1;
    }
  for (size_t t = 0; t < graph->tensor_count; t++)
    if (graph->tensors[t].flags & PM_TENSOR_WHOLE_RUN) {
      lt->first[t] = 0;
      lt->last[t] = lt->steps;
    }
  /* In-place candidates: the input must die at this op and be an ordinary
   * intermediate, else the output would overwrite something still needed;
   * the output must be one too, as a whole-run output holds its bytes from
   * step 0, while the input is still being written and read. */
  for (size_t op = 0; op < graph->op_count; op++) {
    const pm_op_t *o = &graph->ops[op];
    if (o->inplace_input < 0) continue;
    int input = o->inputs[o->inplace_input];
    int output = o->outputs[0];
    unsigned flags = graph->tensors[input].flags | graph->tensors[output].flags;
    if ((flags & (PM_TENSOR_WHOLE_RUN | PM_TENSOR_SCRATCH)) == 0 && lt->last[input] == step[op] + 1)
      lt->reuse_of[output] = input;
  }
}

static void lifetimes_from_intervals(pm_graph_t *graph, pm_lifetimes_t *lt) {
  lt->steps = 1;
  for (size_t t = 0; t < graph->tensor_count; t++)
    if ((graph->tensors[t].flags & PM_TENSOR_INTERVAL) && graph->tensors[t].last > lt->steps)
      lt->steps = graph->tensors[t].last;
  for (size_t t = 0; t < graph->tensor_count; t++) {
    const pm_tensor_t *tensor = &graph->tensors[t];
    int explicit_interval = (tensor->flags & PM_TENSOR_INTERVAL) != 0;
    lt->first[t] = explicit_interval ? tensor->first : 0;
    lt->last[t] = explicit_interval ? tensor->last : lt->steps;
    lt->reuse_of[t] = -1;
  }
}

int _pm_lifetimes_compute(pm_graph_t *graph) {
  if (graph->lifetimes_generation == graph->generation + 1) return PM_OK;
  _pm_lifetimes_free(&graph->lifetimes);
  pm_lifetimes_t *lt = &graph->lifetimes;
  size_t n = graph->tensor_count != 0 ? graph->tensor_count : 1;
  lt->first = malloc(n * sizeof *lt->first);
  lt->last = malloc(n * sizeof *lt->last);
  lt->reuse_of = malloc(n * sizeof *lt->reuse_of);
  uint64_t *step = malloc((graph->op_count != 0 ? graph->op_count : 1) * sizeof *step);
  int status = PM_OK;
  if (lt->first == NULL || lt->last == NULL || lt->reuse_of == NULL || step == NULL)
    status = _pm_graph_fail(graph, PM_ERR_NOMEM, "lifetime analysis: out of memory");
  else if (graph->op_count != 0)
    status = lifetimes_order_ops(graph, step);
  if (status == PM_OK) {
    lt->count = graph->tensor_count;
    if (graph->op_count != 0)
      lifetimes_from_ops(graph, step, lt);
    else
      lifetimes_from_intervals(graph, lt);
    graph->lifetimes_generation = graph->generation + 1;
  } else {
    _pm_lifetimes_free(lt);
  }
  free(step);
  return status;
}
