/* test_graph_cache.c: the shape cache answers repeats with the very same
 * plan, keeps one plan per shape (within a limit, if one is set, dropping
 * the least recently used), and never answers across a change of
 * algorithm, alignment or graph structure. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "plan_test.h"
#include "poolmalloc.h"

TestSuite(graph_cache, .init = plan_test_require_validation, .timeout = 30);

/* input -> conv -> act -> fc -> output, activations scaled by batch. */
typedef struct model_s {
  pm_graph_t *graph;
  int tensors[4];
} model_t;

static model_t model_create(void) {
  model_t m = {pm_graph_create("model"), {0}};
  static const size_t sizes[4] = {3072, 16384, 16384, 40};
  for (int i = 0; i < 4; i++)
    m.tensors[i] = pm_graph_add_tensor(m.graph, NULL, sizes[i], 0,
                                       i == 0   ? PM_TENSOR_INPUT
                                       : i == 3 ? PM_TENSOR_OUTPUT
                                                : 0);
  for (int i = 0; i < 3; i++)
    cr_assert_geq(pm_graph_add_op(m.graph, NULL, &m.tensors[i], 1, &m.tensors[i + 1], 1, 0, -1), 0);
  return m;
}

static void model_set_batch(model_t *m, size_t batch) {
  static const size_t sizes[4] = {3072, 16384, 16384, 40};
  for (int i = 0; i < 4; i++)
    cr_assert_eq(pm_graph_set_tensor_size(m->graph, m->tensors[i], sizes[i] * batch), PM_OK);
}

static const pm_plan_t *model_plan(model_t *m, const pm_plan_options_t *opts,
                                   pm_plan_summary_t *summary) {
  const pm_plan_t *p = NULL;
  cr_assert_eq(pm_graph_plan(m->graph, opts, &p), PM_OK, "%s", pm_graph_error(m->graph));
  cr_assert_eq(pm_plan_summary(p, summary), PM_OK);
  return p;
}

Test(graph_cache, repeat_is_a_hit) {
  model_t m = model_create();
  pm_plan_summary_t first, second;
  const pm_plan_t *p1 = model_plan(&m, NULL, &first);
  cr_expect_eq(first.from_cache, 0);
  cr_expect_gt(first.plan_time_ms, 0.0, "a plan that was solved took some time");
  const pm_plan_t *p2 = model_plan(&m, NULL, &second);
  cr_expect_eq(p1, p2, "same shape must give the same plan");
  cr_expect_eq(second.from_cache, 1);
  cr_expect_float_eq(second.plan_time_ms, 0.0, 1e-12);
  cr_expect_eq(second.planned_bytes, first.planned_bytes);
  pm_graph_destroy(m.graph);
}

Test(graph_cache, shapes_coexist) {
  model_t m = model_create();
  pm_plan_summary_t s1, s4, again;
  const pm_plan_t *batch1 = model_plan(&m, NULL, &s1);
  model_set_batch(&m, 4);
  const pm_plan_t *batch4 = model_plan(&m, NULL, &s4);
  cr_expect_neq(batch1, batch4, "a new shape must be planned anew");
  cr_expect_eq(s4.from_cache, 0);
  cr_expect_gt(s4.planned_bytes, s1.planned_bytes);
  model_set_batch(&m, 1);
  cr_expect_eq(model_plan(&m, NULL, &again), batch1, "batch 1 is still cached");
  cr_expect_eq(again.from_cache, 1);
  /* The older plan is still intact and usable. */
  cr_expect_eq(again.planned_bytes, s1.planned_bytes);
  model_set_batch(&m, 4);
  cr_expect_eq(model_plan(&m, NULL, &again), batch4);
  pm_graph_destroy(m.graph);
}

Test(graph_cache, key_includes_algorithm_and_alignment) {
  model_t m = model_create();
  pm_plan_summary_t s;
  pm_plan_options_t naive = {"naive", 0, 0}, aligned = {NULL, 4096, 0};
  const pm_plan_t *best = model_plan(&m, NULL, &s);
  const pm_plan_t *by_naive = model_plan(&m, &naive, &s);
  cr_expect_neq(best, by_naive);
  cr_expect_str_eq(s.algorithm, "naive");
  /* End to end; only the last buffer's alignment padding may be left out. */
  cr_expect_lt(s.naive_bytes - s.planned_bytes, 64, "naive %zu, planned %zu", s.naive_bytes,
               s.planned_bytes);
  const pm_plan_t *by_alignment = model_plan(&m, &aligned, &s);
  cr_expect_neq(best, by_alignment);
  for (int i = 0; i < 4; i++)
    cr_expect_eq(pm_plan_offset(by_alignment, m.tensors[i]) % 4096, 0);
  pm_graph_destroy(m.graph);
}

Test(graph_cache, structure_change_is_a_miss) {
  model_t m = model_create();
  pm_plan_summary_t s;
  const pm_plan_t *before = model_plan(&m, NULL, &s);
  /* A new consumer of the input, with sizes otherwise unchanged. */
  int extra = pm_graph_add_tensor(m.graph, "extra", 8, 0, 0);
  cr_assert_geq(pm_graph_add_op(m.graph, "probe", &m.tensors[1], 1, &extra, 1, 0, -1), 0);
  const pm_plan_t *after = model_plan(&m, NULL, &s);
  cr_expect_neq(before, after);
  cr_expect_eq(s.from_cache, 0);
  cr_expect_eq(s.tensors, 5);
  pm_graph_destroy(m.graph);
}

Test(graph_cache, a_limit_drops_the_least_recently_used_plans) {
  model_t m = model_create();
  pm_plan_summary_t s;
  cr_assert_eq(pm_graph_set_plan_cache_limit(m.graph, 2), PM_OK);
  const pm_plan_t *batch1 = model_plan(&m, NULL, &s);
  model_set_batch(&m, 2);
  model_plan(&m, NULL, &s);
  model_set_batch(&m, 1);
  cr_expect_eq(model_plan(&m, NULL, &s), batch1, "a hit, now the most recently used");
  model_set_batch(&m, 4);
  model_plan(&m, NULL, &s); /* batch 2's plan is dropped */
  model_set_batch(&m, 1);
  cr_expect_eq(model_plan(&m, NULL, &s), batch1, "kept");
  cr_expect_eq(s.from_cache, 1);
  model_set_batch(&m, 2);
  model_plan(&m, NULL, &s);
  cr_expect_eq(s.from_cache, 0, "batch 2's first plan was dropped: planned again");
  /* A lower limit drops plans at once: only batch 2's stays. */
  cr_assert_eq(pm_graph_set_plan_cache_limit(m.graph, 1), PM_OK);
  model_plan(&m, NULL, &s);
  cr_expect_eq(s.from_cache, 1);
  model_set_batch(&m, 1);
  model_plan(&m, NULL, &s);
  cr_expect_eq(s.from_cache, 0);
  cr_expect_eq(pm_graph_set_plan_cache_limit(NULL, 1), PM_ERR_INVALID_ARG);
  pm_graph_destroy(m.graph);
}
