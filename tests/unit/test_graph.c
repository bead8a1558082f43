/* test_graph.c: lifetime analysis of hand-made graphs: chains, diamonds,
 * branches, whole-run tensors, scratch buffers, in-place hints and the
 * topological order of ops added out of order. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "plan_test.h"
#include "poolmalloc.h"

TestSuite(graph, .init = plan_test_require_validation, .timeout = 30);

static int tensor(pm_graph_t *g, const char *name, size_t size, unsigned flags) {
  int id = pm_graph_add_tensor(g, name, size, 0, flags);
  cr_assert_geq(id, 0, "adding tensor %s: %s", name, pm_graph_error(g));
  return id;
}

static int op(pm_graph_t *g, const char *name, const int *in, size_t nin, const int *out,
              size_t nout, int inplace) {
  int id = pm_graph_add_op(g, name, in, nin, out, nout, 0, inplace);
  cr_assert_geq(id, 0, "adding op %s: %s", name, pm_graph_error(g));
  return id;
}

static const pm_plan_t *plan(pm_graph_t *g) {
  const pm_plan_t *p = NULL;
  int status = pm_graph_plan(g, NULL, &p);
  cr_assert_eq(status, PM_OK, "plan failed (%d): %s", status, pm_graph_error(g));
  return p;
}

static void expect_lifetime(const pm_plan_t *p, int t, uint64_t first, uint64_t last) {
  uint64_t f = 99, l = 99;
  cr_assert_eq(pm_plan_lifetime(p, t, &f, &l), PM_OK);
  cr_expect(f == first && l == last, "tensor %d: lifetime [%llu, %llu), expected [%llu, %llu)", t,
            (unsigned long long)f, (unsigned long long)l, (unsigned long long)first,
            (unsigned long long)last);
}

Test(graph, chain) {
  pm_graph_t *g = pm_graph_create("chain");
  int t[4];
  for (int i = 0; i < 4; i++)
    t[i] = tensor(g, NULL, 1000, 0);
  for (int i = 0; i < 3; i++)
    op(g, NULL, &t[i], 1, &t[i + 1], 1, -1);
  const pm_plan_t *p = plan(g);
  expect_lifetime(p, t[0], 0, 1); /* no producer: live from step 0 */
  expect_lifetime(p, t[1], 0, 2);
  expect_lifetime(p, t[2], 1, 3);
  expect_lifetime(p, t[3], 2, 3); /* never read: dies after its birth step */
  pm_graph_destroy(g);
}

Test(graph, diamond_with_graph_input_and_output) {
  pm_graph_t *g = pm_graph_create("diamond");
  int in = tensor(g, "in", 64, PM_TENSOR_INPUT), x = tensor(g, "x", 64, 0);
  int y = tensor(g, "y", 64, 0), z = tensor(g, "z", 64, 0);
  int out = tensor(g, "out", 64, PM_TENSOR_OUTPUT);
  op(g, "A", &in, 1, &x, 1, -1);
  op(g, "B", &x, 1, &y, 1, -1);
  op(g, "C", &x, 1, &z, 1, -1);
  int yz[2] = {y, z};
  op(g, "D", yz, 2, &out, 1, -1);
  const pm_plan_t *p = plan(g);
  expect_lifetime(p, in, 0, 4);
  expect_lifetime(p, x, 0, 3);
  expect_lifetime(p, y, 1, 4);
  expect_lifetime(p, z, 2, 4);
  expect_lifetime(p, out, 0, 4);
  pm_graph_destroy(g);
}

/* Ops added consumer first: the order is still producer before consumer,
 * and among ready ops the one added first runs first. */
Test(graph, topological_order_of_ops_added_out_of_order) {
  pm_graph_t *g = pm_graph_create("branches");
  int in = tensor(g, "in", 64, 0), x = tensor(g, "x", 64, 0);
  int y = tensor(g, "y", 64, 0), z = tensor(g, "z", 64, 0), out = tensor(g, "out", 64, 0);
  int yz[2] = {y, z};
  op(g, "D", yz, 2, &out, 1, -1); /* op 0 */
  op(g, "C", &x, 1, &z, 1, -1);   /* op 1 */
  op(g, "B", &x, 1, &y, 1, -1);   /* op 2 */
  op(g, "A", &in, 1, &x, 1, -1);  /* op 3 */
  const pm_plan_t *p = plan(g);
  /* A, then C (lower id than B), then B, then D. */
  expect_lifetime(p, x, 0, 3);
  expect_lifetime(p, z, 1, 4);
  expect_lifetime(p, y, 2, 4);
  expect_lifetime(p, out, 3, 4);
  pm_graph_destroy(g);
}

Test(graph, persistent_tensor_lives_for_the_whole_run) {
  pm_graph_t *g = pm_graph_create("state");
  int a = tensor(g, "a", 64, 0), b = tensor(g, "b", 64, 0), c = tensor(g, "c", 64, 0);
  int d = tensor(g, "d", 64, 0), state = tensor(g, "state", 64, PM_TENSOR_PERSISTENT);
  op(g, "one", &a, 1, &b, 1, -1);
  int b_state[2] = {b, state};
  op(g, "two", b_state, 2, &c, 1, -1);
  op(g, "three", &c, 1, &d, 1, -1);
  const pm_plan_t *p = plan(g);
  expect_lifetime(p, state, 0, 3);
  size_t offset = pm_plan_offset(p, state);
  for (int t = a; t <= d; t++)
    cr_expect_neq(pm_plan_offset(p, t), offset, "tensor %d shares the persistent buffer", t);
  pm_graph_destroy(g);
}

Test(graph, scratch_lives_during_its_op_only) {
  pm_graph_t *g = pm_graph_create("scratch");
  int t[3];
  for (int i = 0; i < 3; i++)
    t[i] = tensor(g, NULL, 256, 0);
  int first = op(g, "first", &t[0], 1, &t[1], 1, -1);
  int second = pm_graph_add_op(g, "second", &t[1], 1, &t[2], 1, 4096, -1);
  cr_assert_geq(second, 0, "%s", pm_graph_error(g));
  cr_expect_eq(pm_graph_op_scratch(g, first), -1);
  int scratch = pm_graph_op_scratch(g, second);
  cr_assert_geq(scratch, 0);
  const pm_plan_t *p = plan(g);
  expect_lifetime(p, scratch, 1, 2);
  pm_plan_summary_t s;
  pm_plan_summary(p, &s);
  cr_expect_eq(s.tensors, 4, "scratch buffers count as planned buffers");
  cr_expect_eq(pm_graph_op_scratch(g, 99), -1);
  pm_graph_destroy(g);
}

/* t0 -> A -> t1 -> B (in place on t1) -> t2 -> C -> t3 */
static pm_graph_t *inplace_graph(size_t t2_size, unsigned t1_flags, unsigned t2_flags,
                                 int t1_read_by_c, int *t) {
  pm_graph_t *g = pm_graph_create("inplace");
  t[0] = tensor(g, "t0", 1024, 0);
  t[1] = tensor(g, "t1", 1024, t1_flags);
  t[2] = tensor(g, "t2", t2_size, t2_flags);
  t[3] = tensor(g, "t3", 1024, 0);
  op(g, "A", &t[0], 1, &t[1], 1, -1);
  op(g, "B", &t[1], 1, &t[2], 1, 0);
  int c_inputs[2] = {t[2], t[1]};
  op(g, "C", c_inputs, t1_read_by_c ? 2 : 1, &t[3], 1, -1);
  return g;
}

Test(graph, inplace_hint_honoured) {
  int t[4];
  pm_graph_t *g = inplace_graph(512, 0, 0, 0, t);
  const pm_plan_t *p = plan(g);
  cr_expect_eq(pm_plan_offset(p, t[1]), pm_plan_offset(p, t[2]), "t2 should reuse t1's buffer");
  expect_lifetime(p, t[1], 0, 2);
  expect_lifetime(p, t[2], 1, 3);
  pm_graph_destroy(g);
}

/* naive is the reference without reuse: it takes no hint either. */
Test(graph, naive_takes_no_inplace_hint) {
  int t[4];
  pm_graph_t *g = inplace_graph(1024, 0, 0, 0, t);
  pm_plan_options_t options = {"naive", 0, 0};
  const pm_plan_t *p = NULL;
  cr_assert_eq(pm_graph_plan(g, &options, &p), PM_OK, "%s", pm_graph_error(g));
  pm_plan_summary_t s;
  cr_assert_eq(pm_plan_summary(p, &s), PM_OK);
  cr_expect_eq(s.planned_bytes, s.naive_bytes);
  cr_expect_neq(pm_plan_offset(p, t[1]), pm_plan_offset(p, t[2]));
  pm_graph_destroy(g);
}

Test(graph, inplace_hint_refused_when_input_read_later) {
  int t[4];
  pm_graph_t *g = inplace_graph(512, 0, 0, 1, t);
  const pm_plan_t *p = plan(g);
  cr_expect_neq(pm_plan_offset(p, t[1]), pm_plan_offset(p, t[2]));
  pm_graph_destroy(g);
}

Test(graph, inplace_hint_refused_for_graph_output) {
  int t[4];
  pm_graph_t *g = inplace_graph(512, PM_TENSOR_OUTPUT, 0, 0, t);
  const pm_plan_t *p = plan(g);
  cr_expect_neq(pm_plan_offset(p, t[1]), pm_plan_offset(p, t[2]));
  pm_graph_destroy(g);
}

/* A whole-run output (state kept across runs, or a graph output) holds its
 * bytes from step 0: sharing them with t1, live over steps 0-1, would let
 * A's result overwrite it. */
Test(graph, inplace_hint_refused_for_whole_run_output) {
  const unsigned whole_run[] = {PM_TENSOR_OUTPUT, PM_TENSOR_PERSISTENT};
  for (size_t i = 0; i < sizeof whole_run / sizeof whole_run[0]; i++) {
    int t[4];
    pm_graph_t *g = inplace_graph(512, 0, whole_run[i], 0, t);
    const pm_plan_t *p = plan(g);
    expect_lifetime(p, t[2], 0, 3);
    size_t t1 = pm_plan_offset(p, t[1]), t2 = pm_plan_offset(p, t[2]);
    cr_expect(t1 + 1024 <= t2 || t2 + 512 <= t1, "flags %#x: t1 [%zu, +1024) and t2 [%zu, +512)",
              whole_run[i], t1, t2);
    pm_graph_destroy(g);
  }
}

Test(graph, inplace_hint_follows_the_shape) {
  int t[4];
  pm_graph_t *g = inplace_graph(2048, 0, 0, 0, t); /* output larger than input */
  const pm_plan_t *p = plan(g);
  cr_expect_neq(pm_plan_offset(p, t[1]), pm_plan_offset(p, t[2]));
  cr_assert_eq(pm_graph_set_tensor_size(g, t[2], 1024), PM_OK);
  p = plan(g);
  cr_expect_eq(pm_plan_offset(p, t[1]), pm_plan_offset(p, t[2]));
  pm_graph_destroy(g);
}

/* a (1024) -> op1 -> b (64, may take a's buffer) -> op2 -> c (2048). In
 * a's buffer, b would hold 1024 bytes next to c: 3072, where a plan that
 * declines the hint needs 2112. The hint is a permission, so the smaller
 * plan is taken, and the lower bound is the peak of the tensors' own
 * bytes (b shares a's at op1), not that of the merged buffer. */
Test(graph, inplace_hint_declined_when_it_costs_more) {
  pm_graph_t *g = pm_graph_create("inplace-costly");
  int a = tensor(g, "a", 1024, 0), b = tensor(g, "b", 64, 0), c = tensor(g, "c", 2048, 0);
  op(g, "op0", NULL, 0, &a, 1, -1);
  op(g, "op1", &a, 1, &b, 1, 0);
  op(g, "op2", &b, 1, &c, 1, -1);
  pm_plan_summary_t s;
  cr_assert_eq(pm_plan_summary(plan(g), &s), PM_OK);
  cr_expect_eq(s.lower_bound_bytes, 2112);
  cr_expect_eq(s.planned_bytes, 2112);
  pm_graph_destroy(g);
}

/* The same chain beside a tensor live throughout: there the hint saves
 * the output's bytes at op1, and the bound counts them once. */
Test(graph, inplace_hint_lowers_the_bound_where_it_saves) {
  pm_graph_t *g = pm_graph_create("inplace-saving");
  int k = tensor(g, "k", 1024, PM_TENSOR_PERSISTENT);
  int a = tensor(g, "a", 1024, 0), b = tensor(g, "b", 1024, 0), c = tensor(g, "c", 64, 0);
  op(g, "op0", &k, 1, &a, 1, -1);
  op(g, "op1", &a, 1, &b, 1, 0);
  op(g, "op2", &b, 1, &c, 1, -1);
  const pm_plan_t *p = plan(g);
  pm_plan_summary_t s;
  cr_assert_eq(pm_plan_summary(p, &s), PM_OK);
  cr_expect_eq(s.lower_bound_bytes, 2112, "k + b + c at op2");
  cr_expect_eq(s.planned_bytes, 2112);
  cr_expect_eq(pm_plan_offset(p, a), pm_plan_offset(p, b), "b takes a's buffer");
  pm_graph_destroy(g);
}

Test(graph, interval_form) {
  pm_graph_t *g = pm_graph_create("intervals");
  int a = pm_graph_add_interval(g, "a", 100, 1, 0, 2);
  int b = pm_graph_add_interval(g, "b", 200, 1, 1, 3);
  int c = pm_graph_add_interval(g, "c", 100, 1, 2, 4);
  cr_assert(a >= 0 && b >= 0 && c >= 0, "%s", pm_graph_error(g));
  const pm_plan_t *p = plan(g);
  expect_lifetime(p, b, 1, 3);
  pm_plan_summary_t s;
  cr_assert_eq(pm_plan_summary(p, &s), PM_OK);
  cr_expect_eq(s.naive_bytes, 400);
  cr_expect_eq(s.lower_bound_bytes, 300);
  cr_expect_eq(s.planned_bytes, 300, "a and c can share; b sits beside them");
  cr_expect_str_eq(s.algorithm, "best");
  cr_expect_float_eq(s.saving, 0.25, 1e-9);
  cr_expect_eq(pm_plan_offset(p, a), pm_plan_offset(p, c));
  cr_expect_eq(pm_plan_offset(p, 7), SIZE_MAX);
  uint64_t f, l;
  cr_expect_eq(pm_plan_lifetime(p, 7, &f, &l), PM_ERR_UNKNOWN_TENSOR);
  pm_graph_destroy(g);
}

/* Naive and planned measure the same way: the naive algorithm saves 0. */
Test(graph, naive_plan_saves_nothing) {
  pm_graph_t *g = pm_graph_create("naive");
  cr_assert_geq(pm_graph_add_interval(g, "a", 100, 0, 0, 2), 0);
  cr_assert_geq(pm_graph_add_interval(g, "b", 10, 0, 2, 3), 0);
  pm_plan_options_t opts = {"naive", 0, 0};
  const pm_plan_t *p = NULL;
  cr_assert_eq(pm_graph_plan(g, &opts, &p), PM_OK, "%s", pm_graph_error(g));
  pm_plan_summary_t s;
  cr_assert_eq(pm_plan_summary(p, &s), PM_OK);
  cr_expect_eq(s.planned_bytes, 128 + 10);
  cr_expect_eq(s.naive_bytes, s.planned_bytes);
  cr_expect_float_eq(s.saving, 0.0, 1e-12);
  pm_graph_destroy(g);
}

/* Naive counts the padding between tensors laid end to end, which can pass
 * INT64_MAX while the sum of their sizes does not: the saving must still
 * come out positive (it once went through a signed 64-bit difference). */
Test(graph, saving_when_naive_padding_passes_int64_max) {
  const size_t huge = (size_t)1 << 61; /* the largest alignment allowed */
  pm_graph_t *g = pm_graph_create("padded");
  for (uint64_t t = 0; t < 3; t++) {
    cr_assert_geq(pm_graph_add_interval(g, NULL, 1, 0, t, 3), 0, "%s", pm_graph_error(g));
    cr_assert_geq(pm_graph_add_interval(g, NULL, huge, huge, t, t + 1), 0, "%s", pm_graph_error(g));
  }
  cr_assert_geq(pm_graph_add_interval(g, NULL, 1, 0, 0, 3), 0, "%s", pm_graph_error(g));
  const pm_plan_t *p = plan(g);
  pm_plan_summary_t s;
  cr_assert_eq(pm_plan_summary(p, &s), PM_OK);
  cr_assert_gt(s.naive_bytes, (size_t)INT64_MAX, "the case needs naive past INT64_MAX (%zu)",
               s.naive_bytes);
  cr_expect_lt(s.planned_bytes, s.naive_bytes);
  double expected = 1.0 - (double)s.planned_bytes / (double)s.naive_bytes;
  cr_expect_float_eq(s.saving, expected, 1e-9, "saving %f, expected %f", s.saving, expected);
  cr_expect_gt(s.saving, 0.5);
  pm_graph_destroy(g);
}

Test(graph, alignment_of_offsets) {
  pm_graph_t *g = pm_graph_create("aligned");
  int small = pm_graph_add_interval(g, "small", 3, 0, 0, 2);
  int wide = pm_graph_add_interval(g, "wide", 5, 4096, 0, 2);
  int other = pm_graph_add_interval(g, "other", 7, 0, 1, 3);
  pm_plan_options_t opts = {"greedy-size", 128, 0};
  const pm_plan_t *p = NULL;
  cr_assert_eq(pm_graph_plan(g, &opts, &p), PM_OK, "%s", pm_graph_error(g));
  cr_expect_eq(pm_plan_offset(p, small) % 128, 0);
  cr_expect_eq(pm_plan_offset(p, other) % 128, 0);
  cr_expect_eq(pm_plan_offset(p, wide) % 4096, 0);
  pm_graph_destroy(g);
}
