/* runtime_link.c: a planner client built against poolmalloc.h alone.
 *
 * Compiled with POOLMALLOC_RUNTIME_LINK and without -lpoolmalloc: run it
 * under LD_PRELOAD=libpoolmalloc.so and its four activations share one
 * planned arena; run it plainly and each gets its own malloc() block.
 * Either way it fills every tensor, checks the values survive until their
 * last reader and prints the plan's figures on one line. The middle tensor
 * asks for page alignment, and the graph is destroyed before the output is
 * read: an arena keeps what it needs of its plan. */
#define POOLMALLOC_RUNTIME_LINK
#include <poolmalloc.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TENSORS      5
#define PAGE_ALIGNED 2 /* the tensor that asks for 4096-byte alignment */

int main(void) {
  static const size_t sizes[TENSORS] = {4096, 8192, 8192, 4096, 1024};
  pm_graph_t *graph = pm_graph_create("runtime_link");
  int t[TENSORS];
  for (int i = 0; i < TENSORS; i++) {
    unsigned flags = i == 0 ? PM_TENSOR_INPUT : i == TENSORS - 1 ? PM_TENSOR_OUTPUT : 0;
    t[i] = pm_graph_add_tensor(graph, NULL, sizes[i], i == PAGE_ALIGNED ? 4096 : 0, flags);
  }
  /* A chain: t0 -> op0 -> t1 -> op1 -> t2 -> op2 -> t3 -> op3 -> t4. */
  for (int i = 0; i + 1 < TENSORS; i++)
    if (pm_graph_add_op(graph, NULL, &t[i], 1, &t[i + 1], 1, 0, -1) < 0) {
      fprintf(stderr, "runtime_link: %s\n", pm_graph_error(graph));
      return 1;
    }
  const pm_plan_t *plan = NULL;
  pm_plan_summary_t summary;
  pm_arena_t *arena = pm_arena_create("runtime_link");
  if (pm_graph_plan(graph, NULL, &plan) != PM_OK || pm_plan_summary(plan, &summary) != PM_OK ||
      pm_arena_bind(arena, plan) != PM_OK) {
    fprintf(stderr, "runtime_link: planning failed: %s\n", pm_graph_error(graph));
    return 1;
  }
  if ((uintptr_t)pm_arena_tensor(arena, t[PAGE_ALIGNED]) % 4096 != 0) {
    fprintf(stderr, "runtime_link: tensor %d is not 4096-byte aligned\n", PAGE_ALIGNED);
    return 1;
  }
  /* Run the chain: each op reads its input and writes its output. */
  unsigned char *input = pm_arena_tensor(arena, t[0]);
  memset(input, 1, sizes[0]);
  for (int i = 0; i + 1 < TENSORS; i++) {
    unsigned char *in = pm_arena_tensor(arena, t[i]);
    unsigned char *out = pm_arena_tensor(arena, t[i + 1]);
    unsigned char value = in[0];
    for (size_t b = 0; b < sizes[i]; b++)
      if (in[b] != value) {
        fprintf(stderr, "runtime_link: tensor %d clobbered at byte %zu\n", i, b);
        return 1;
      }
    memset(out, value + 1, sizes[i + 1]);
  }
  int last = t[TENSORS - 1];
  pm_graph_destroy(graph); /* the plan goes with it; the arena stays usable */
  unsigned char *output = pm_arena_tensor(arena, last);
  printf("algorithm=%s tensors=%zu naive=%zu planned=%zu output=%d\n", summary.algorithm,
         summary.tensors, summary.naive_bytes, summary.planned_bytes, output[0]);
  pm_arena_destroy(arena);
  return 0;
}
