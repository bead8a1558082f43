/* wl_inference.c: the allocation pattern of inference. A forward pass walks
 * a network's layers; each layer's output (activation) is allocated when
 * the layer runs and freed after its last consumer ran. Two networks
 * alternate: a LeNet-5 at batch 64 and a ResNet-18 at 224x224 (layer shapes
 * from LeCun et al. 1998 and He et al. 2016, float32), whose residual
 * connections keep tensors alive across several layers.
 *
 * Mode "malloc" does one malloc/free per tensor. Each layer verifies its
 * inputs before writing its output. */
#define _GNU_SOURCE
#include "bench_util.h"
#include "network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKLOAD "inference"
#define PASSES   6000

/* Reads every input of the op (as a layer would) and writes its output. */
static void op_compute(const network_t *net, size_t op, unsigned char **tensors, uint64_t pass) {
  const network_op_t *layer = &net->ops[op];
  for (size_t i = 0; i < layer->input_count; i++) {
    int input = layer->inputs[i];
    bench_verify(WORKLOAD, tensors[input], net->sizes[input], pass << 16 | (uint64_t)input);
  }
  bench_fill(tensors[layer->output], net->sizes[layer->output],
             pass << 16 | (uint64_t)layer->output);
}

static void pass_run_malloc(const network_t *net, unsigned char **tensors, uint64_t pass) {
  tensors[0] = bench_malloc(WORKLOAD, net->sizes[0]);
  bench_fill(tensors[0], net->sizes[0], pass << 16);
  for (size_t op = 0; op < net->op_count; op++) {
    int output = net->ops[op].output;
    tensors[output] = bench_malloc(WORKLOAD, net->sizes[output]);
    op_compute(net, op, tensors, pass);
    for (int t = 0; t < net->tensor_count; t++)
      if (net->last_use[t] == op && t != net->tensor_count - 1) {
        free(tensors[t]);
        tensors[t] = NULL;
      }
  }
  int result = net->tensor_count - 1;
  bench_verify(WORKLOAD, tensors[result], net->sizes[result], pass << 16 | (uint64_t)result);
  free(tensors[result]);
  tensors[result] = NULL;
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "malloc") != 0)
    bench_fail(WORKLOAD, "usage: %s malloc [THREADS [SCALE]]", argv[0]);
  bench_args_t args = bench_parse_args(argc - 1, argv + 1, 1);
  size_t passes = bench_scaled(PASSES, args.scale, 2);
  network_t nets[2];
  network_build_lenet5(&nets[0], 64);
  network_build_resnet18(&nets[1], 224);
  unsigned char **tensors[2];
  for (size_t n = 0; n < 2; n++) {
    tensors[n] = bench_calloc(WORKLOAD, (size_t)nets[n].tensor_count, sizeof(unsigned char *));
  }

  for (size_t pass = 0; pass < passes; pass++)
    for (size_t n = 0; n < 2; n++)
      pass_run_malloc(&nets[n], tensors[n], pass);
  for (size_t n = 0; n < 2; n++) {
    free(tensors[n]);
    network_destroy(&nets[n]);
  }
  printf("mode=%s passes=%zu\n", argv[1], passes);
  bench_report_rss();
  return 0;
}
