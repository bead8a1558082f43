/* plan_cache.c: plans kept per shape.
 *
 * Inference servers see a handful of shapes (batch sizes, sequence
 * lengths) over and over, so a graph keeps every plan it made, keyed by
 * (structure generation, algorithm, default alignment, tensor sizes), and
 * answers a repeat without solving again. Plans live until the graph is
 * destroyed, so pointers handed out stay valid. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "planner/graph_internal.h"

/* FNV-1a over the sizes: a cheap filter before comparing whole vectors. */
uint64_t _pm_plan_cache_hash(const pm_graph_t *graph) {
  uint64_t hash = 14695981039346656037ull;
  for (size_t t = 0; t < graph->tensor_count; t++) {
    uint64_t size = graph->tensors[t].size;
    for (int byte = 0; byte < 8; byte++) {
      hash ^= (size >> (8 * byte)) & 0xff;
      hash *= 1099511628211ull;
    }
  }
  return hash;
}

pm_plan_t *_pm_plan_cache_find(pm_graph_t *graph, pm_algorithm_t algorithm, size_t alignment,
                               uint64_t hash) {
  for (pm_plan_t *plan = graph->plans; plan != NULL; plan = plan->next) {
    if (plan->generation != graph->generation || plan->algorithm != algorithm ||
        plan->alignment != alignment || plan->sizes_hash != hash ||
        plan->tensor_count != graph->tensor_count)
      continue;
    size_t t = 0;
    while (t < plan->tensor_count && plan->sizes[t] == graph->tensors[t].size)
      t++;
    if (t == plan->tensor_count) return plan;
  }
  return NULL;
}

void _pm_plan_cache_insert(pm_graph_t *graph, pm_plan_t *plan) {
  plan->next = graph->plans;
  graph->plans = plan;
}

void _pm_plan_free(pm_plan_t *plan) {
  if (plan == NULL) return;
  free(plan->sizes);
  free(plan->offsets);
  free(plan->first);
  free(plan->last);
  free(plan);
}

void _pm_plan_cache_clear(pm_graph_t *graph) {
  pm_plan_t *plan = graph->plans;
  while (plan != NULL) {
    pm_plan_t *next = plan->next;
    _pm_plan_free(plan);
    plan = next;
  }
  graph->plans = NULL;
}
