/* kernels.h: the float32 compute kernels of the LeNet forward pass.
 *
 * Every kernel is deterministic: each output is summed in a fixed order that
 * depends only on the shapes, never on addresses or the batch size, so the
 * logits are bit-identical whichever allocator placed the buffers. Layout is
 * NCHW, row-major. */
#ifndef INFER_KERNELS_H
#define INFER_KERNELS_H

#include <stddef.h>

typedef struct conv_shape_s {
  size_t in_channels, in_height, in_width;
  size_t out_channels, kernel, pad; /* square kernel, stride 1 */
} conv_shape_t;

size_t conv_out_height(const conv_shape_t *shape);
size_t conv_out_width(const conv_shape_t *shape);
/* Floats of im2col scratch one image needs: (in_channels*kernel^2) x out pixels. */
size_t conv_scratch_floats(const conv_shape_t *shape);

/* c[m x n] += a[m x k] * b[k x n], row-major; c holds the bias on entry. */
void kernel_sgemm_acc(size_t m, size_t n, size_t k, const float *a, const float *b, float *c);

/* out[batch][out_channels][oh][ow] = weights (out_channels x in_channels*k*k)
 * applied to each image through im2col; col holds conv_scratch_floats(). */
void kernel_conv2d(const conv_shape_t *shape, size_t batch, const float *in, const float *weights,
                   const float *bias, float *col, float *out);

/* 2x2 max pool, stride 2, over planes of height x width (both even). */
void kernel_maxpool2x2(size_t planes, size_t height, size_t width, const float *in, float *out);

/* out[batch][out_features] = bias + in[batch][in_features] * weights_t, where
 * weights_t is the transposed weight matrix (in_features x out_features). */
void kernel_fully_connected(size_t batch, size_t in_features, size_t out_features, const float *in,
                            const float *weights_t, const float *bias, float *out);

/* out = max(in, 0); out may equal in (the planner may run it in place). */
void kernel_relu(size_t count, const float *in, float *out);

/* Index of the largest value; the first one on ties. */
size_t kernel_argmax(size_t count, const float *values);

#endif /* INFER_KERNELS_H */
