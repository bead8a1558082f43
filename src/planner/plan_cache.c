/* plan_cache.c: plans kept per shape.
 *
 * Inference servers see a handful of shapes (batch sizes, sequence
 * lengths) over and over, so a graph keeps the plans it made, keyed by
 * (structure generation, algorithm, default alignment, tensor sizes), and
 * answers a repeat without solving again. By default plans live until the
 * graph is destroyed, so pointers handed out stay valid. A server that
 * sees unboundedly many shapes sets a limit: the list is kept in order of
 * use, and the plans at its end (plans of an older structure, which no
 * lookup can match, sink there too) are freed once it grows past it. */
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
  for (pm_plan_t **link = &graph->plans; *link != NULL; link = &(*link)->next) {
    pm_plan_t *plan = *link;
    if (plan->generation != graph->generation || plan->algorithm != algorithm ||
        plan->alignment != alignment || plan->sizes_hash != hash ||
        plan->tensor_count != graph->tensor_count)
      continue;
    size_t t = 0;
    while (t < plan->tensor_count && plan->sizes[t] == graph->tensors[t].size)
      t++;
    if (t < plan->tensor_count) continue;
    /* Most recently used first: a limit drops the plans at the end. */
    *link = plan->next;
    plan->next = graph->plans;
    graph->plans = plan;
    return plan;
  }
  return NULL;
}

/* Frees the least recently used plans until at most keep remain. */
static void cache_keep(pm_graph_t *graph, size_t keep) {
  pm_plan_t **link = &graph->plans;
  for (size_t kept = 0; kept < keep && *link != NULL; kept++)
    link = &(*link)->next;
  pm_plan_t *plan = *link;
  *link = NULL;
  while (plan != NULL) {
    pm_plan_t *next = plan->next;
    _pm_plan_free(plan);
    graph->plan_count--;
    plan = next;
  }
}

void _pm_plan_cache_insert(pm_graph_t *graph, pm_plan_t *plan) {
  plan->next = graph->plans;
  graph->plans = plan;
  if (++graph->plan_count > graph->plan_limit && graph->plan_limit != 0)
    cache_keep(graph, graph->plan_limit);
}

PM_EXPORT int pm_graph_set_plan_cache_limit(pm_graph_t *graph, size_t max_plans) {
  if (!_pm_graph_usable(graph, __func__)) return PM_ERR_INVALID_ARG;
  graph->plan_limit = max_plans;
  if (max_plans != 0) cache_keep(graph, max_plans); /* 0: no bound */
  return PM_OK;
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
  cache_keep(graph, 0);
}
