/* test_graph_errors.c: every kind of bad input gets its status code and a
 * one-line message that names the offending item, and leaves the graph
 * usable. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_test.h"
#include "poolmalloc.h"

TestSuite(graph_errors, .init = plan_test_require_validation, .timeout = 30);

static void expect_error(const pm_graph_t *g, int status, int expected, const char *needle1,
                         const char *needle2) {
  const char *message = pm_graph_error(g);
  cr_expect_eq(status, expected, "status %d, expected %d (%s)", status, expected, message);
  cr_expect_neq(strstr(message, needle1), NULL, "'%s' does not name '%s'", message, needle1);
  if (needle2 != NULL)
    cr_expect_neq(strstr(message, needle2), NULL, "'%s' does not name '%s'", message, needle2);
}

Test(graph_errors, cycle_names_the_ops) {
  pm_graph_t *g = pm_graph_create("cyclic");
  int in = pm_graph_add_tensor(g, "in", 64, 0, 0);
  int a = pm_graph_add_tensor(g, "a", 64, 0, 0);
  int b = pm_graph_add_tensor(g, "b", 64, 0, 0);
  int c = pm_graph_add_tensor(g, "c", 64, 0, 0);
  int in_b[2] = {in, b};
  cr_assert_geq(pm_graph_add_op(g, "stem", &in, 1, &c, 1, 0, -1), 0);
  cr_assert_geq(pm_graph_add_op(g, "conv2", in_b, 2, &a, 1, 0, -1), 0);
  cr_assert_geq(pm_graph_add_op(g, "add3", &a, 1, &b, 1, 0, -1), 0);
  const pm_plan_t *p = NULL;
  expect_error(g, pm_graph_plan(g, NULL, &p), PM_ERR_CYCLE, "conv2", "add3");
  cr_expect_null(strstr(pm_graph_error(g), "stem"), "stem is not in the cycle: %s",
                 pm_graph_error(g));
  cr_expect_neq(strstr(pm_graph_error(g), "cycle"), NULL);
  pm_graph_destroy(g);
}

Test(graph_errors, op_reading_its_own_output_is_a_cycle) {
  pm_graph_t *g = pm_graph_create("self");
  int a = pm_graph_add_tensor(g, "a", 64, 0, 0);
  cr_assert_geq(pm_graph_add_op(g, "loop", &a, 1, &a, 1, 0, -1), 0);
  const pm_plan_t *p = NULL;
  expect_error(g, pm_graph_plan(g, NULL, &p), PM_ERR_CYCLE, "loop", NULL);
  pm_graph_destroy(g);
}

Test(graph_errors, unknown_tensor_names_op_and_id) {
  pm_graph_t *g = pm_graph_create(NULL);
  int a = pm_graph_add_tensor(g, "a", 64, 0, 0);
  int bad[2] = {a, 99};
  expect_error(g, pm_graph_add_op(g, "mul", bad, 2, &a, 1, 0, -1), PM_ERR_UNKNOWN_TENSOR, "mul",
               "99");
  expect_error(g, pm_graph_add_op(g, "neg", &a, 1, (int[]){-3}, 1, 0, -1), PM_ERR_UNKNOWN_TENSOR,
               "neg", "-3");
  expect_error(g, pm_graph_set_tensor_size(g, 42, 8), PM_ERR_UNKNOWN_TENSOR, "42", NULL);
  pm_graph_destroy(g);
}

Test(graph_errors, tensor_produced_twice_names_both_ops) {
  pm_graph_t *g = pm_graph_create(NULL);
  int a = pm_graph_add_tensor(g, "a", 64, 0, 0);
  int t = pm_graph_add_tensor(g, "result", 64, 0, 0);
  cr_assert_geq(pm_graph_add_op(g, "first_writer", &a, 1, &t, 1, 0, -1), 0);
  int status = pm_graph_add_op(g, "second_writer", &a, 1, &t, 1, 0, -1);
  expect_error(g, status, PM_ERR_INVALID_ARG, "first_writer", "second_writer");
  cr_expect_neq(strstr(pm_graph_error(g), "result"), NULL, "%s", pm_graph_error(g));
  pm_graph_destroy(g);
}

Test(graph_errors, bad_inplace_index) {
  pm_graph_t *g = pm_graph_create(NULL);
  int a = pm_graph_add_tensor(g, "a", 64, 0, 0);
  int b = pm_graph_add_tensor(g, "b", 64, 0, 0);
  expect_error(g, pm_graph_add_op(g, "relu", &a, 1, &b, 1, 0, 1), PM_ERR_INVALID_ARG, "relu",
               "inplace");
  pm_graph_destroy(g);
}

Test(graph_errors, bad_interval) {
  pm_graph_t *g = pm_graph_create(NULL);
  expect_error(g, pm_graph_add_interval(g, "backwards", 8, 0, 5, 3), PM_ERR_BAD_INTERVAL,
               "backwards", NULL);
  expect_error(g, pm_graph_add_interval(g, "empty", 8, 0, 4, 4), PM_ERR_BAD_INTERVAL, "empty",
               NULL);
  pm_graph_destroy(g);
}

Test(graph_errors, mixed_forms) {
  pm_graph_t *g = pm_graph_create(NULL);
  int a = pm_graph_add_tensor(g, "a", 64, 0, 0);
  int b = pm_graph_add_tensor(g, "b", 64, 0, 0);
  cr_assert_geq(pm_graph_add_op(g, "copy", &a, 1, &b, 1, 0, -1), 0);
  expect_error(g, pm_graph_add_interval(g, "late", 8, 0, 0, 1), PM_ERR_MIXED_FORMS, "late", NULL);
  pm_graph_destroy(g);

  g = pm_graph_create(NULL);
  cr_assert_geq(pm_graph_add_interval(g, "early", 8, 0, 0, 1), 0);
  a = pm_graph_add_tensor(g, "a", 64, 0, 0);
  expect_error(g, pm_graph_add_op(g, "copy", &a, 1, NULL, 0, 0, -1), PM_ERR_MIXED_FORMS, "copy",
               NULL);
  pm_graph_destroy(g);
}

Test(graph_errors, bad_sizes) {
  pm_graph_t *g = pm_graph_create(NULL);
  expect_error(g, pm_graph_add_tensor(g, "zero", 0, 0, 0), PM_ERR_BAD_SIZE, "zero", NULL);
  expect_error(g, pm_graph_add_tensor(g, "huge", SIZE_MAX / 2 + 1, 0, 0), PM_ERR_BAD_SIZE, "huge",
               NULL);
  expect_error(g, pm_graph_add_tensor(g, "edge", SIZE_MAX / 2 - 10, 64, 0), PM_ERR_BAD_SIZE, "edge",
               NULL);
  /* Alignment 0 means the plan's, 64 unless asked otherwise: refused now,
   * not at every plan. */
  expect_error(g, pm_graph_add_tensor(g, "edge0", SIZE_MAX / 2 - 10, 0, 0), PM_ERR_BAD_SIZE,
               "edge0", NULL);
  expect_error(g, pm_graph_add_interval(g, "ivzero", 0, 0, 0, 1), PM_ERR_BAD_SIZE, "ivzero", NULL);
  int a = pm_graph_add_tensor(g, "a", 64, 0, 0);
  expect_error(g, pm_graph_set_tensor_size(g, a, 0), PM_ERR_BAD_SIZE, "a", NULL);
  expect_error(g, pm_graph_add_op(g, "greedy", &a, 1, NULL, 0, SIZE_MAX, -1), PM_ERR_BAD_SIZE,
               "greedy", NULL);
  pm_graph_destroy(g);
}

Test(graph_errors, sizes_that_only_overflow_together) {
  pm_graph_t *g = pm_graph_create(NULL);
  for (int i = 0; i < 3; i++)
    cr_assert_geq(pm_graph_add_interval(g, NULL, SIZE_MAX / 4, 0, 0, 1), 0, "%s",
                  pm_graph_error(g));
  const pm_plan_t *p = NULL;
  expect_error(g, pm_graph_plan(g, NULL, &p), PM_ERR_BAD_SIZE, "overflow", NULL);
  pm_graph_destroy(g);
}

/* The sizes add up, but the padding between buffers of mixed alignments
 * takes the arena past SIZE_MAX / 2, more than can be mapped. */
Test(graph_errors, padding_that_overflows_the_arena) {
  pm_graph_t *g = pm_graph_create(NULL);
  size_t big = (size_t)1 << (sizeof(size_t) * 8 - 3);
  for (int i = 0; i < 5; i++)
    cr_assert_geq(pm_graph_add_interval(g, NULL, i % 2 ? big : 1, i % 2 ? big : 1, 0, 1), 0, "%s",
                  pm_graph_error(g));
  pm_plan_options_t naive = {"naive", 1, 0};
  const pm_plan_t *p = NULL;
  expect_error(g, pm_graph_plan(g, &naive, &p), PM_ERR_BAD_SIZE, "more than can be mapped", NULL);
  pm_graph_destroy(g);
}

Test(graph_errors, bad_alignment) {
  pm_graph_t *g = pm_graph_create(NULL);
  expect_error(g, pm_graph_add_tensor(g, "odd", 64, 48, 0), PM_ERR_BAD_ALIGNMENT, "odd", "48");
  expect_error(g, pm_graph_add_tensor(g, "vast", 64, SIZE_MAX / 4 + 1, 0), PM_ERR_BAD_ALIGNMENT,
               "vast", "too large");
  int a = pm_graph_add_interval(g, "a", 64, 0, 0, 1);
  cr_assert_geq(a, 0);
  pm_plan_options_t opts = {NULL, 3, 0};
  const pm_plan_t *p = NULL;
  expect_error(g, pm_graph_plan(g, &opts, &p), PM_ERR_BAD_ALIGNMENT, "3", NULL);
  pm_graph_destroy(g);
}

Test(graph_errors, unknown_algorithm) {
  pm_graph_t *g = pm_graph_create(NULL);
  cr_assert_geq(pm_graph_add_interval(g, "a", 64, 0, 0, 1), 0);
  pm_plan_options_t opts = {"fastest", 0, 0};
  const pm_plan_t *p = NULL;
  expect_error(g, pm_graph_plan(g, &opts, &p), PM_ERR_UNKNOWN_ALGORITHM, "fastest", NULL);
  /* The graph stays usable after an error. */
  opts.algorithm = "naive";
  cr_expect_eq(pm_graph_plan(g, &opts, &p), PM_OK, "%s", pm_graph_error(g));
  pm_graph_destroy(g);
}

Test(graph_errors, null_arguments) {
  const pm_plan_t *p = NULL;
  cr_expect_eq(pm_graph_add_tensor(NULL, "a", 64, 0, 0), PM_ERR_INVALID_ARG);
  cr_expect_eq(pm_graph_add_op(NULL, "op", NULL, 0, NULL, 0, 0, -1), PM_ERR_INVALID_ARG);
  cr_expect_eq(pm_graph_add_interval(NULL, "a", 64, 0, 0, 1), PM_ERR_INVALID_ARG);
  cr_expect_eq(pm_graph_set_tensor_size(NULL, 0, 64), PM_ERR_INVALID_ARG);
  cr_expect_eq(pm_graph_plan(NULL, NULL, &p), PM_ERR_INVALID_ARG);
  cr_expect_eq(pm_plan_summary(NULL, NULL), PM_ERR_INVALID_ARG);
  cr_expect_eq(pm_plan_offset(NULL, 0), SIZE_MAX);
  cr_expect_eq(pm_graph_op_scratch(NULL, 0), -1);
  cr_expect_eq(pm_arena_bind(NULL, NULL), PM_ERR_INVALID_ARG);
  cr_expect_null(pm_arena_tensor(NULL, 0));
  cr_expect_neq(pm_graph_error(NULL), NULL);
  pm_graph_destroy(NULL);
  pm_arena_destroy(NULL);
  pm_graph_t *g = pm_graph_create(NULL);
  cr_expect_eq(pm_graph_add_op(g, "nolist", NULL, 2, NULL, 0, 0, -1), PM_ERR_INVALID_ARG);
  cr_expect_eq(pm_graph_plan(g, NULL, NULL), PM_ERR_INVALID_ARG);
  pm_graph_destroy(g);
  g = pm_graph_create(NULL);
  cr_expect_str_eq(pm_graph_error(g), "", "a new graph has no error");
  pm_graph_destroy(g);
}

/* An engine with several graphs learns which one failed; an unnamed
 * tensor is named by the id it would have had. */
Test(graph_errors, messages_name_the_graph_and_unknown_flags) {
  pm_graph_t *g = pm_graph_create("encoder");
  cr_assert_geq(pm_graph_add_tensor(g, "x", 64, 0, 0), 0);
  cr_expect_eq(pm_graph_add_tensor(g, NULL, 64, 0, 1u << 7), PM_ERR_INVALID_ARG);
  cr_expect_str_eq(pm_graph_error(g), "graph 'encoder': tensor '#1': unknown flags 0x80");
  pm_graph_destroy(g);
  g = pm_graph_create(NULL);
  cr_expect_eq(pm_graph_add_tensor(g, "y", 64, 0, 1u << 7), PM_ERR_INVALID_ARG);
  cr_expect_str_eq(pm_graph_error(g), "tensor 'y': unknown flags 0x80");
  pm_graph_destroy(g);
  /* Names are the caller's bytes: a newline or an escape in one shows as
   * '?', so the message stays one line. */
  g = pm_graph_create("enc\noder");
  cr_expect_eq(pm_graph_add_tensor(g, "\x1b[2Jz", 0, 0, 0), PM_ERR_BAD_SIZE);
  cr_expect_str_eq(pm_graph_error(g),
                   "graph 'enc?oder': tensor '?[2Jz': size must be greater than 0");
  pm_graph_destroy(g);
}

/* A long name is cut (40 bytes, then "...") so that the problem still
 * fits in the message, and a cut never splits a UTF-8 character. */
Test(graph_errors, long_names_leave_room_for_the_problem) {
  char name[300];
  memset(name, 't', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  pm_graph_t *g = pm_graph_create(name);
  cr_expect_eq(pm_graph_add_tensor(g, name, 0, 0, 0), PM_ERR_BAD_SIZE);
  char want[200];
  snprintf(want, sizeof want, "graph '%.40s...': tensor '%.40s...': size must be greater than 0",
           name, name);
  cr_expect_str_eq(pm_graph_error(g), want);
  int x = pm_graph_add_tensor(g, "x", 64, 0, 0), y = pm_graph_add_tensor(g, "y", 64, 0, 0);
  cr_assert_geq(pm_graph_add_op(g, name, &x, 1, &y, 1, 0, -1), 0);
  cr_assert_geq(pm_graph_add_op(g, "back", &y, 1, &x, 1, 0, -1), 0);
  const pm_plan_t *plan;
  cr_expect_eq(pm_graph_plan(g, NULL, &plan), PM_ERR_CYCLE);
  char shown[48];
  snprintf(shown, sizeof shown, "%.40s...", name);
  cr_expect(strstr(pm_graph_error(g), shown) != NULL && strstr(pm_graph_error(g), "back") != NULL,
            "both ops of the cycle are named: %s", pm_graph_error(g));
  pm_graph_destroy(g);
  /* 39 ASCII bytes then a 2-byte character: the cut leaves it out whole. */
  snprintf(name, sizeof name, "%.39s\xc3\xa9tail", "ttttttttttttttttttttttttttttttttttttttt");
  g = pm_graph_create(name);
  cr_expect_eq(pm_graph_add_tensor(g, "z", 0, 0, 0), PM_ERR_BAD_SIZE);
  snprintf(want, sizeof want, "graph '%.39s...': tensor 'z': size must be greater than 0", name);
  cr_expect_str_eq(pm_graph_error(g), want);
  pm_graph_destroy(g);
}
