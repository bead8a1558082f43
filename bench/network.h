/* network.h: layer lists of two well-known CNNs as tensor-producing ops, for
 * the inference workload (wl_inference.c). Tensor 0 is the network input;
 * each op produces one new tensor; the last tensor is the output. */
#ifndef BENCH_NETWORK_H
#define BENCH_NETWORK_H

#include <stddef.h>

#define NETWORK_MAX_TENSORS 96
#define NETWORK_MAX_INPUTS  2

typedef struct network_op_s {
  int inputs[NETWORK_MAX_INPUTS];
  size_t input_count;
  int output;
} network_op_t;

typedef struct network_s {
  const char *name;
  int tensor_count;
  size_t op_count;
  char *names[NETWORK_MAX_TENSORS];
  size_t sizes[NETWORK_MAX_TENSORS];    /* bytes */
  size_t last_use[NETWORK_MAX_TENSORS]; /* index of the last op reading it */
  network_op_t ops[NETWORK_MAX_TENSORS];
} network_t;

/* LeNet-5 (LeCun et al. 1998) on 28x28 grey images, float32. */
void network_build_lenet5(network_t *net, size_t batch);
/* ResNet-18 (He et al. 2016) on one side x side RGB image, float32. */
void network_build_resnet18(network_t *net, size_t side);
void network_destroy(network_t *net);

#endif /* BENCH_NETWORK_H */
