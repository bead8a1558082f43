/* model.h: a small builder for shape-only graphs of published networks.
 *
 * Each call adds one float32 activation tensor (batch x c x h x w) and the
 * op that produces it to a pm_graph, so tensor lifetimes come from the
 * library's own analysis of the graph. Nothing is computed: the graphs
 * exist to be planned. The first failure sticks in model->status and
 * later calls do nothing, so builders need no error handling per layer. */
#ifndef INFER_MODEL_H
#define INFER_MODEL_H

#include <stddef.h>

#include "poolmalloc.h"

#define MODEL_ELEMENT_BYTES 4 /* float32 (and int32 token ids) */

typedef struct model_s {
  pm_graph_t *graph;
  size_t batch;
  int status;                 /* 0, or the first negative pm_status_t */
  size_t inputs, input_bytes; /* graph inputs, for "intermediate" figures */
} model_t;

/* A feature map (or any activation): tensor id and per-sample shape. */
typedef struct fmap_s {
  int id;
  size_t c, h, w;
} fmap_t;

/* Creates the graph; returns 0 or a negative pm_status_t. */
int model_begin(model_t *model, const char *name, size_t batch);

/* A graph input (PM_TENSOR_INPUT). */
fmap_t model_input(model_t *model, const char *name, size_t c, size_t h, size_t w);
/* Generic op: reads inputs, writes a new c x h x w tensor with flags. */
fmap_t model_op(model_t *model, const char *name, const fmap_t *inputs, size_t input_count,
                size_t c, size_t h, size_t w, unsigned flags);

/* Convolution (batch norm folded in, activation fused, as inference
 * runtimes do): out = (in + 2*pad - kernel) / stride + 1 per side. */
fmap_t model_conv(model_t *model, const char *name, fmap_t in, size_t out_channels, size_t kernel,
                  size_t stride, size_t pad);
/* Max or average pooling (same shape rule, channels kept). */
fmap_t model_pool(model_t *model, const char *name, fmap_t in, size_t kernel, size_t stride,
                  size_t pad);
/* Elementwise sum of two maps of one shape (residual connections). */
fmap_t model_add(model_t *model, const char *name, fmap_t a, fmap_t b);

#endif /* INFER_MODEL_H */
