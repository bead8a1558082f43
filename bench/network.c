/* network.c: builds the layer lists of network.h. Only activation shapes
 * matter to an allocator, so a layer is its output size and the tensors it
 * reads. */
#define _GNU_SOURCE
#include "network.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLOAT_BYTES 4

static int network_tensor(network_t *net, const char *name, size_t elements) {
  if (net->tensor_count == NETWORK_MAX_TENSORS)
    bench_fail("inference", "network %s has more than %d tensors", net->name, NETWORK_MAX_TENSORS);
  int id = net->tensor_count++;
  net->names[id] = strdup(name);
  if (net->names[id] == NULL) bench_fail("inference", "no memory for tensor names");
  net->sizes[id] = elements * FLOAT_BYTES;
  net->last_use[id] = 0;
  return id;
}

/* Adds an op reading input_count tensors and producing a new one. */
static int network_layer(network_t *net, const char *name, size_t elements, int first_input,
                         int second_input) {
  int output = network_tensor(net, name, elements);
  network_op_t *op = &net->ops[net->op_count];
  op->output = output;
  op->input_count = 0;
  op->inputs[op->input_count++] = first_input;
  if (second_input >= 0) op->inputs[op->input_count++] = second_input;
  for (size_t i = 0; i < op->input_count; i++)
    net->last_use[op->inputs[i]] = net->op_count;
  net->op_count++;
  return output;
}

static void network_start(network_t *net, const char *name, size_t input_elements) {
  memset(net, 0, sizeof *net);
  net->name = name;
  network_tensor(net, "input", input_elements);
}

void network_build_lenet5(network_t *net, size_t batch) {
  network_start(net, "lenet5", batch * 28 * 28);
  int x = network_layer(net, "conv1", batch * 6 * 24 * 24, 0, -1);
  x = network_layer(net, "relu1", batch * 6 * 24 * 24, x, -1);
  x = network_layer(net, "pool1", batch * 6 * 12 * 12, x, -1);
  x = network_layer(net, "conv2", batch * 16 * 8 * 8, x, -1);
  x = network_layer(net, "relu2", batch * 16 * 8 * 8, x, -1);
  x = network_layer(net, "pool2", batch * 16 * 4 * 4, x, -1);
  x = network_layer(net, "fc1", batch * 120, x, -1);
  x = network_layer(net, "fc2", batch * 84, x, -1);
  network_layer(net, "fc3", batch * 10, x, -1);
}

/* A basic block: two 3x3 convolutions and a residual add; the shortcut is
 * a 1x1 convolution when the block changes the shape. */
static int resnet_block(network_t *net, const char *name, int input, size_t channels, size_t side,
                        int downsample) {
  char label[64];
  size_t elements = channels * side * side;
  snprintf(label, sizeof label, "%s.conv1", name);
  int x = network_layer(net, label, elements, input, -1);
  snprintf(label, sizeof label, "%s.conv2", name);
  x = network_layer(net, label, elements, x, -1);
  int shortcut = input;
  if (downsample) {
    snprintf(label, sizeof label, "%s.downsample", name);
    shortcut = network_layer(net, label, elements, input, -1);
  }
  snprintf(label, sizeof label, "%s.add", name);
  return network_layer(net, label, elements, x, shortcut);
}

void network_build_resnet18(network_t *net, size_t side) {
  network_start(net, "resnet18", 3 * side * side);
  int x = network_layer(net, "conv1", 64 * (side / 2) * (side / 2), 0, -1);
  x = network_layer(net, "maxpool", 64 * (side / 4) * (side / 4), x, -1);
  static const size_t channels[4] = {64, 128, 256, 512};
  size_t block_side = side / 4;
  for (int stage = 0; stage < 4; stage++) {
    if (stage > 0) block_side /= 2;
    char name[32];
    snprintf(name, sizeof name, "layer%d.0", stage + 1);
    x = resnet_block(net, name, x, channels[stage], block_side, stage > 0);
    snprintf(name, sizeof name, "layer%d.1", stage + 1);
    x = resnet_block(net, name, x, channels[stage], block_side, 0);
  }
  x = network_layer(net, "avgpool", 512, x, -1);
  network_layer(net, "fc", 1000, x, -1);
}

void network_destroy(network_t *net) {
  for (int t = 0; t < net->tensor_count; t++)
    free(net->names[t]);
  memset(net, 0, sizeof *net);
}
