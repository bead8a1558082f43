/* lenet.c: LeNet-5 on a planned arena. The graph names every activation
 * and the im2col scratch of both convolutions; the planner decides where
 * each lives, and the forward pass only ever writes through the pointers
 * pm_arena_tensor() hands back. Weights stay in plain malloc. */
#include "lenet.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels.h"
#include "weights.h"

/* Shapes the weights file must have, in file order (see train.py). */
static const weights_spec_t lenet_weights_spec[LENET_PARAMS] = {
    {"conv1.w", 4, {6, 1, 5, 5}},  {"conv1.b", 1, {6}},
    {"conv2.w", 4, {16, 6, 5, 5}}, {"conv2.b", 1, {16}},
    {"fc1.w", 2, {120, 400}},      {"fc1.b", 1, {120}},
    {"fc2.w", 2, {84, 120}},       {"fc2.b", 1, {84}},
    {"fc3.w", 2, {10, 84}},        {"fc3.b", 1, {10}}};

static const conv_shape_t lenet_conv1 = {1, LENET_SIDE, LENET_SIDE, 6, 5, 2};
static const conv_shape_t lenet_conv2 = {6, 14, 14, 16, 5, 0};

/* Per-image float count and flags of every tensor, in enum order. */
static const struct {
  const char *name;
  size_t floats;
  unsigned flags;
} lenet_tensor_info[LENET_TENSORS] = {{"input", LENET_SIDE *LENET_SIDE, PM_TENSOR_INPUT},
                                      {"conv1", 6 * 28 * 28, 0},
                                      {"relu1", 6 * 28 * 28, 0},
                                      {"pool1", 6 * 14 * 14, 0},
                                      {"conv2", 16 * 10 * 10, 0},
                                      {"relu2", 16 * 10 * 10, 0},
                                      {"pool2", 16 * 5 * 5, 0},
                                      {"fc1", 120, 0},
                                      {"relu3", 120, 0},
                                      {"fc2", 84, 0},
                                      {"relu4", 84, 0},
                                      {"logits", LENET_CLASSES, PM_TENSOR_OUTPUT}};

/* Transposes an out x in matrix to in x out, so the fully connected kernel
 * runs along contiguous outputs. */
static int transpose_in_place(float **matrix, size_t rows, size_t cols) {
  float *t = malloc(rows * cols * sizeof *t);
  if (!t) return -1;
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++)
      t[c * rows + r] = (*matrix)[r * cols + c];
  free(*matrix);
  *matrix = t;
  return 0;
}

int lenet_load(lenet_t *net, const char *weights_path, char *err, size_t err_size) {
  memset(net, 0, sizeof *net);
  if (weights_load(weights_path, lenet_weights_spec, LENET_PARAMS, net->params, err, err_size) != 0)
    return -1;
  for (int p = LENET_FC1_W; p <= LENET_FC3_W; p += 2) {
    const weights_spec_t *spec = &lenet_weights_spec[p];
    if (transpose_in_place(&net->params[p], spec->dims[0], spec->dims[1]) != 0) {
      lenet_destroy(net);
      return error_format(err, err_size, weights_path, "out of memory");
    }
  }
  return 0;
}

static int graph_fail(lenet_t *net, char *err, size_t err_size) {
  return error_format(err, err_size, "planner", "%s", pm_graph_error(net->graph));
}

static int lenet_add_op(lenet_t *net, const char *name, int input, int output, size_t scratch,
                        int inplace) {
  int in_id = net->tensor_ids[input], out_id = net->tensor_ids[output];
  return pm_graph_add_op(net->graph, name, &in_id, 1, &out_id, 1, scratch, inplace ? 0 : -1);
}

int lenet_build(lenet_t *net, size_t batch, char *err, size_t err_size) {
  net->graph = pm_graph_create("lenet5");
  net->arena = pm_arena_create("lenet5");
  if (!net->graph || !net->arena)
    return error_format(err, err_size, "planner", "cannot create the graph or arena");
  for (int t = 0; t < LENET_TENSORS; t++) {
    net->tensor_ids[t] = pm_graph_add_tensor(net->graph, lenet_tensor_info[t].name,
                                             batch * lenet_tensor_info[t].floats * sizeof(float), 0,
                                             lenet_tensor_info[t].flags);
    if (net->tensor_ids[t] < 0) return graph_fail(net, err, err_size);
  }
  /* im2col scratch holds one image at a time (conv_scratch_floats), so its
   * size does not grow with the batch. ReLU may run in place. */
  size_t col1 = conv_scratch_floats(&lenet_conv1) * sizeof(float);
  size_t col2 = conv_scratch_floats(&lenet_conv2) * sizeof(float);
  int conv1 = lenet_add_op(net, "conv1", LENET_INPUT, LENET_CONV1, col1, 0);
  int conv2 = -1;
  int status = conv1 < 0 ? conv1 : 0;
  if (status == 0) status = lenet_add_op(net, "relu1", LENET_CONV1, LENET_RELU1, 0, 1);
  if (status >= 0) status = lenet_add_op(net, "pool1", LENET_RELU1, LENET_POOL1, 0, 0);
  if (status >= 0) status = conv2 = lenet_add_op(net, "conv2", LENET_POOL1, LENET_CONV2, col2, 0);
  if (status >= 0) status = lenet_add_op(net, "relu2", LENET_CONV2, LENET_RELU2, 0, 1);
  if (status >= 0) status = lenet_add_op(net, "pool2", LENET_RELU2, LENET_POOL2, 0, 0);
  if (status >= 0) status = lenet_add_op(net, "fc1", LENET_POOL2, LENET_FC1, 0, 0);
  if (status >= 0) status = lenet_add_op(net, "relu3", LENET_FC1, LENET_RELU3, 0, 1);
  if (status >= 0) status = lenet_add_op(net, "fc2", LENET_RELU3, LENET_FC2, 0, 0);
  if (status >= 0) status = lenet_add_op(net, "relu4", LENET_FC2, LENET_RELU4, 0, 1);
  if (status >= 0) status = lenet_add_op(net, "fc3", LENET_RELU4, LENET_LOGITS, 0, 0);
  if (status < 0) return graph_fail(net, err, err_size);
  net->scratch_ids[LENET_COL1] = pm_graph_op_scratch(net->graph, conv1);
  net->scratch_ids[LENET_COL2] = pm_graph_op_scratch(net->graph, conv2);
  if (net->scratch_ids[LENET_COL1] < 0 || net->scratch_ids[LENET_COL2] < 0)
    return error_format(err, err_size, "planner", "convolution scratch buffers missing");
  net->batch = batch;
  return 0;
}

int lenet_plan(lenet_t *net, size_t batch, pm_plan_summary_t *summary, char *err, size_t err_size) {
  for (int t = 0; t < LENET_TENSORS && batch != net->batch; t++)
    if (pm_graph_set_tensor_size(net->graph, net->tensor_ids[t],
                                 batch * lenet_tensor_info[t].floats * sizeof(float)) < 0)
      return graph_fail(net, err, err_size);
  net->batch = batch;
  const pm_plan_t *plan;
  if (pm_graph_plan(net->graph, NULL, &plan) < 0 || pm_plan_summary(plan, summary) < 0)
    return graph_fail(net, err, err_size);
  if (pm_arena_bind(net->arena, plan) < 0)
    return error_format(err, err_size, "planner", "cannot bind the arena (%zu bytes)",
                        summary->planned_bytes);
  for (int t = 0; t < LENET_TENSORS; t++)
    net->tensors[t] = pm_arena_tensor(net->arena, net->tensor_ids[t]);
  for (int s = 0; s < LENET_SCRATCHES; s++)
    net->scratch[s] = pm_arena_tensor(net->arena, net->scratch_ids[s]);
  for (int t = 0; t < LENET_TENSORS; t++)
    if (!net->tensors[t])
      return error_format(err, err_size, "planner", "no arena memory for tensor %s",
                          lenet_tensor_info[t].name);
  if (!net->scratch[LENET_COL1] || !net->scratch[LENET_COL2])
    return error_format(err, err_size, "planner", "no arena memory for the im2col scratch");
  return 0;
}

const float *lenet_forward(lenet_t *net, const uint8_t *pixels) {
  float **t = net->tensors;
  float *const *p = net->params;
  size_t n = net->batch;
  for (size_t i = 0; i < n * LENET_SIDE * LENET_SIDE; i++)
    t[LENET_INPUT][i] = (float)pixels[i] / 255.0f;
  kernel_conv2d(&lenet_conv1, n, t[LENET_INPUT], p[LENET_CONV1_W], p[LENET_CONV1_B],
                net->scratch[LENET_COL1], t[LENET_CONV1]);
  kernel_relu(n * 6 * 28 * 28, t[LENET_CONV1], t[LENET_RELU1]);
  kernel_maxpool2x2(n * 6, 28, 28, t[LENET_RELU1], t[LENET_POOL1]);
  kernel_conv2d(&lenet_conv2, n, t[LENET_POOL1], p[LENET_CONV2_W], p[LENET_CONV2_B],
                net->scratch[LENET_COL2], t[LENET_CONV2]);
  kernel_relu(n * 16 * 10 * 10, t[LENET_CONV2], t[LENET_RELU2]);
  kernel_maxpool2x2(n * 16, 10, 10, t[LENET_RELU2], t[LENET_POOL2]);
  kernel_fully_connected(n, 400, 120, t[LENET_POOL2], p[LENET_FC1_W], p[LENET_FC1_B], t[LENET_FC1]);
  kernel_relu(n * 120, t[LENET_FC1], t[LENET_RELU3]);
  kernel_fully_connected(n, 120, 84, t[LENET_RELU3], p[LENET_FC2_W], p[LENET_FC2_B], t[LENET_FC2]);
  kernel_relu(n * 84, t[LENET_FC2], t[LENET_RELU4]);
  kernel_fully_connected(n, 84, LENET_CLASSES, t[LENET_RELU4], p[LENET_FC3_W], p[LENET_FC3_B],
                         t[LENET_LOGITS]);
  return t[LENET_LOGITS];
}

void lenet_destroy(lenet_t *net) {
  if (net->arena) pm_arena_destroy(net->arena);
  if (net->graph) pm_graph_destroy(net->graph);
  for (int p = 0; p < LENET_PARAMS; p++)
    free(net->params[p]);
  memset(net, 0, sizeof *net);
}
