/* lenet.h: the LeNet-5 network of infer: its weights, its graph of tensors
 * for the memory planner, and a forward pass whose every activation (and
 * im2col scratch) lives in one planned arena.
 *
 *   input 1x28x28 -> conv1 5x5 pad 2 (6) -> relu -> maxpool 2 -> 6x14x14
 *   -> conv2 5x5 (16) -> relu -> maxpool 2 -> 16x5x5 = 400
 *   -> fc1 120 -> relu -> fc2 84 -> relu -> fc3 10 = logits */
#ifndef INFER_LENET_H
#define INFER_LENET_H

#include <stddef.h>
#include <stdint.h>

#include "poolmalloc.h"

#define LENET_CLASSES 10
#define LENET_SIDE    28

enum lenet_param_e {
  LENET_CONV1_W,
  LENET_CONV1_B,
  LENET_CONV2_W,
  LENET_CONV2_B,
  LENET_FC1_W,
  LENET_FC1_B,
  LENET_FC2_W,
  LENET_FC2_B,
  LENET_FC3_W,
  LENET_FC3_B,
  LENET_PARAMS
};

enum lenet_tensor_e {
  LENET_INPUT,
  LENET_CONV1,
  LENET_RELU1,
  LENET_POOL1,
  LENET_CONV2,
  LENET_RELU2,
  LENET_POOL2,
  LENET_FC1,
  LENET_RELU3,
  LENET_FC2,
  LENET_RELU4,
  LENET_LOGITS,
  LENET_TENSORS
};

enum lenet_scratch_e { LENET_COL1, LENET_COL2, LENET_SCRATCHES };

typedef struct lenet_s {
  float *params[LENET_PARAMS]; /* plain malloc; fc weights stored transposed */
  pm_graph_t *graph;
  pm_arena_t *arena;
  int tensor_ids[LENET_TENSORS];
  int scratch_ids[LENET_SCRATCHES];
  float *tensors[LENET_TENSORS]; /* arena pointers for the bound plan */
  float *scratch[LENET_SCRATCHES];
  size_t batch; /* batch size of the bound plan */
} lenet_t;

/* Loads the weights file. Returns 0, or -1 with "PATH: problem" in err. */
int lenet_load(lenet_t *net, const char *weights_path, char *err, size_t err_size);
/* Builds the graph (sized for batch) and creates the arena. Returns 0, or -1
 * with the library's message in err. */
int lenet_build(lenet_t *net, size_t batch, char *err, size_t err_size);
/* Resizes the batch tensors to batch, plans (the shape cache answers shapes
 * seen before), binds the arena and fills *summary. Returns 0, or -1. */
int lenet_plan(lenet_t *net, size_t batch, pm_plan_summary_t *summary, char *err, size_t err_size);
/* Runs the planned batch on pixels (batch x 28 x 28 bytes) and returns the
 * logits (batch x 10) in the arena, valid until the next plan. */
const float *lenet_forward(lenet_t *net, const uint8_t *pixels);
void lenet_destroy(lenet_t *net);

#endif /* INFER_LENET_H */
