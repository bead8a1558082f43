/* wl_inference.c: the allocation pattern of inference. A forward pass walks
 * a network's layers; each layer's output (activation) is allocated when
 * the layer runs and freed after its last consumer ran. Two networks
 * alternate: a LeNet-5 at batch 64 and a ResNet-18 at 224x224 (layer shapes
 * from LeCun et al. 1998 and He et al. 2016, float32), whose residual
 * connections keep tensors alive across several layers.
 *
 * Mode "malloc" does one malloc/free per tensor. Mode "arena" plans each
 * graph once with the libpoolmalloc planner (pm_graph_* / pm_arena_* through
 * the header-only runtime link of poolmalloc_runtime.h) and serves every
 * tensor from the planned arena; without libpoolmalloc preloaded the header
 * falls back to one malloc block per tensor, so the same binary runs under
 * every allocator. Each layer verifies its inputs before writing its
 * output, which also catches a plan that lets live tensors overlap. */
#define _GNU_SOURCE
#include "bench_util.h"
#include "network.h"

#include <poolmalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKLOAD "inference"
#define PASSES   4000

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

typedef struct planned_s {
  pm_graph_t *graph;
  pm_arena_t *arena;
} planned_t;

static planned_t planned_create(const network_t *net) {
  planned_t planned = {pm_graph_create(net->name), pm_arena_create(net->name)};
  if (planned.graph == NULL || planned.arena == NULL)
    bench_fail(WORKLOAD, "pm_graph_create/pm_arena_create failed for %s", net->name);
  for (int t = 0; t < net->tensor_count; t++) {
    unsigned flags = t == 0 ? PM_TENSOR_INPUT : t == net->tensor_count - 1 ? PM_TENSOR_OUTPUT : 0;
    if (pm_graph_add_tensor(planned.graph, net->names[t], net->sizes[t], 0, flags) != t)
      bench_fail(WORKLOAD, "adding tensor %s: %s", net->names[t], pm_graph_error(planned.graph));
  }
  for (size_t op = 0; op < net->op_count; op++) {
    const network_op_t *layer = &net->ops[op];
    if (pm_graph_add_op(planned.graph, net->names[layer->output], layer->inputs, layer->input_count,
                        &layer->output, 1, 0, -1) < 0)
      bench_fail(WORKLOAD, "adding op %s: %s", net->names[layer->output],
                 pm_graph_error(planned.graph));
  }
  const pm_plan_t *plan = NULL;
  if (pm_graph_plan(planned.graph, NULL, &plan) != PM_OK ||
      pm_arena_bind(planned.arena, plan) != PM_OK)
    bench_fail(WORKLOAD, "planning %s: %s", net->name, pm_graph_error(planned.graph));
  return planned;
}

static void planned_destroy(planned_t *planned) {
  pm_arena_destroy(planned->arena);
  pm_graph_destroy(planned->graph);
}

/* The tensor pointers are looked up every pass, as an engine that may
 * rebind its arena between runs would. */
static void pass_run_arena(const network_t *net, planned_t *planned, unsigned char **tensors,
                           uint64_t pass) {
  for (int t = 0; t < net->tensor_count; t++) {
    tensors[t] = pm_arena_tensor(planned->arena, t);
    if (tensors[t] == NULL) bench_fail(WORKLOAD, "pm_arena_tensor(%s) is NULL", net->names[t]);
  }
  bench_fill(tensors[0], net->sizes[0], pass << 16);
  for (size_t op = 0; op < net->op_count; op++)
    op_compute(net, op, tensors, pass);
  int result = net->tensor_count - 1;
  bench_verify(WORKLOAD, tensors[result], net->sizes[result], pass << 16 | (uint64_t)result);
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "malloc") != 0 && strcmp(argv[1], "arena") != 0))
    bench_fail(WORKLOAD, "usage: %s malloc|arena [THREADS [SCALE]]", argv[0]);
  int use_arena = strcmp(argv[1], "arena") == 0;
  bench_args_t args = bench_parse_args(argc - 1, argv + 1, 1);
  size_t passes = bench_scaled(PASSES, args.scale, 2);
  network_t nets[2];
  network_build_lenet5(&nets[0], 64);
  network_build_resnet18(&nets[1], 224);
  unsigned char **tensors[2];
  planned_t planned[2];
  for (size_t n = 0; n < 2; n++) {
    tensors[n] = bench_calloc(WORKLOAD, (size_t)nets[n].tensor_count, sizeof(unsigned char *));
    if (use_arena) planned[n] = planned_create(&nets[n]);
  }

  for (size_t pass = 0; pass < passes; pass++)
    for (size_t n = 0; n < 2; n++) {
      if (use_arena)
        pass_run_arena(&nets[n], &planned[n], tensors[n], pass);
      else
        pass_run_malloc(&nets[n], tensors[n], pass);
    }
  for (size_t n = 0; n < 2; n++) {
    if (use_arena) planned_destroy(&planned[n]);
    free(tensors[n]);
    network_destroy(&nets[n]);
  }
  printf("mode=%s passes=%zu\n", argv[1], passes);
  bench_report_rss();
  return 0;
}
