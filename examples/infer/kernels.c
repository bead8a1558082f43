/* kernels.c: convolution (im2col + sgemm), max pool, fully connected, ReLU
 * and argmax for the LeNet forward pass. Plain C that gcc auto-vectorises:
 * the inner loops run along contiguous rows, so no horizontal float
 * reductions are needed, and every output is summed as bias, then k = 0, 1,
 * ... in order, whichever path (block or edge) computes it. */
#include "kernels.h"

#include <string.h>

/* The sgemm works on register blocks of SGEMM_ROWS x SGEMM_COLS outputs
 * held in SSE-sized vectors (GCC vector extension): 8 of the 16 registers
 * stay loaded while k streams past. Plain mul then add, never a fused
 * multiply-add, so each output is rounded exactly as the edge code does. */
#define SGEMM_ROWS 4
#define SGEMM_COLS 8

typedef float vec4_t __attribute__((vector_size(16)));

static vec4_t vec4_load(const float *p) {
  vec4_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void vec4_store(float *p, vec4_t v) {
  memcpy(p, &v, sizeof v);
}

size_t conv_out_height(const conv_shape_t *shape) {
  return shape->in_height + 2 * shape->pad - shape->kernel + 1;
}

size_t conv_out_width(const conv_shape_t *shape) {
  return shape->in_width + 2 * shape->pad - shape->kernel + 1;
}

size_t conv_scratch_floats(const conv_shape_t *shape) {
  return shape->in_channels * shape->kernel * shape->kernel * conv_out_height(shape) *
         conv_out_width(shape);
}

static vec4_t vec4_splat(float x) {
  return (vec4_t){x, x, x, x};
}

/* One 4 x 8 block, written out so gcc keeps all eight accumulators in
 * registers (it does not unroll the equivalent loops at -O2). */
static void sgemm_block(size_t n, size_t k, const float *restrict a, const float *restrict b,
                        float *restrict c) {
  vec4_t c00 = vec4_load(c), c01 = vec4_load(c + 4);
  vec4_t c10 = vec4_load(c + n), c11 = vec4_load(c + n + 4);
  vec4_t c20 = vec4_load(c + 2 * n), c21 = vec4_load(c + 2 * n + 4);
  vec4_t c30 = vec4_load(c + 3 * n), c31 = vec4_load(c + 3 * n + 4);
  for (size_t p = 0; p < k; p++) {
    vec4_t b0 = vec4_load(b + p * n), b1 = vec4_load(b + p * n + 4);
    vec4_t a0 = vec4_splat(a[p]), a1 = vec4_splat(a[k + p]);
    vec4_t a2 = vec4_splat(a[2 * k + p]), a3 = vec4_splat(a[3 * k + p]);
    c00 += a0 * b0, c01 += a0 * b1;
    c10 += a1 * b0, c11 += a1 * b1;
    c20 += a2 * b0, c21 += a2 * b1;
    c30 += a3 * b0, c31 += a3 * b1;
  }
  vec4_store(c, c00), vec4_store(c + 4, c01);
  vec4_store(c + n, c10), vec4_store(c + n + 4, c11);
  vec4_store(c + 2 * n, c20), vec4_store(c + 2 * n + 4, c21);
  vec4_store(c + 3 * n, c30), vec4_store(c + 3 * n + 4, c31);
}

/* Edge of the matrix, one output at a time, in the same order as a block. */
static void sgemm_edge(size_t rows, size_t cols, size_t n, size_t k, const float *restrict a,
                       const float *restrict b, float *restrict c) {
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < cols; j++) {
      float sum = c[r * n + j];
      for (size_t p = 0; p < k; p++)
        sum += a[r * k + p] * b[p * n + j];
      c[r * n + j] = sum;
    }
}

void kernel_sgemm_acc(size_t m, size_t n, size_t k, const float *restrict a,
                      const float *restrict b, float *restrict c) {
  size_t full_cols = n - n % SGEMM_COLS;
  for (size_t i = 0; i < m; i += SGEMM_ROWS) {
    const float *a_rows = a + i * k;
    float *c_rows = c + i * n;
    if (m - i < SGEMM_ROWS) {
      sgemm_edge(m - i, n, n, k, a_rows, b, c_rows);
      break;
    }
    for (size_t j = 0; j < full_cols; j += SGEMM_COLS)
      sgemm_block(n, k, a_rows, b + j, c_rows + j);
    sgemm_edge(SGEMM_ROWS, n - full_cols, n, k, a_rows, b + full_cols, c_rows + full_cols);
  }
}

/* col[(c*k + ki)*k + kj][y*ow + x] = input pixel under that kernel tap, or 0
 * in the padding. */
static void conv_im2col(const conv_shape_t *s, const float *restrict image, float *restrict col) {
  size_t oh = conv_out_height(s), ow = conv_out_width(s);
  for (size_t c = 0; c < s->in_channels; c++) {
    const float *plane = image + c * s->in_height * s->in_width;
    for (size_t ki = 0; ki < s->kernel; ki++) {
      for (size_t kj = 0; kj < s->kernel; kj++) {
        float *row = col + ((c * s->kernel + ki) * s->kernel + kj) * oh * ow;
        for (size_t y = 0; y < oh; y++) {
          /* Source row iy = y + ki - pad, source column x + kj - pad, kept
           * unsigned by comparing before subtracting. */
          size_t iy_plus_pad = y + ki;
          float *out = row + y * ow;
          if (iy_plus_pad < s->pad || iy_plus_pad - s->pad >= s->in_height) {
            memset(out, 0, ow * sizeof *out);
            continue;
          }
          /* Columns x whose source x + kj - pad lies inside the row. */
          const float *src = plane + (iy_plus_pad - s->pad) * s->in_width;
          size_t x_begin = kj < s->pad ? s->pad - kj : 0;
          size_t x_end = s->in_width + s->pad - kj < ow ? s->in_width + s->pad - kj : ow;
          memset(out, 0, x_begin * sizeof *out);
          memcpy(out + x_begin, src + x_begin + kj - s->pad, (x_end - x_begin) * sizeof *out);
          memset(out + x_end, 0, (ow - x_end) * sizeof *out);
        }
      }
    }
  }
}

void kernel_conv2d(const conv_shape_t *shape, size_t batch, const float *in, const float *weights,
                   const float *bias, float *col, float *out) {
  size_t in_floats = shape->in_channels * shape->in_height * shape->in_width;
  size_t pixels = conv_out_height(shape) * conv_out_width(shape);
  size_t taps = shape->in_channels * shape->kernel * shape->kernel;
  for (size_t image = 0; image < batch; image++) {
    float *image_out = out + image * shape->out_channels * pixels;
    conv_im2col(shape, in + image * in_floats, col);
    for (size_t oc = 0; oc < shape->out_channels; oc++)
      for (size_t p = 0; p < pixels; p++)
        image_out[oc * pixels + p] = bias[oc];
    kernel_sgemm_acc(shape->out_channels, pixels, taps, weights, col, image_out);
  }
}

void kernel_maxpool2x2(size_t planes, size_t height, size_t width, const float *restrict in,
                       float *restrict out) {
  size_t oh = height / 2, ow = width / 2;
  for (size_t p = 0; p < planes; p++) {
    const float *plane = in + p * height * width;
    for (size_t y = 0; y < oh; y++) {
      const float *top = plane + 2 * y * width, *bottom = top + width;
      float *dst = out + (p * oh + y) * ow;
      for (size_t x = 0; x < ow; x++) {
        float a = top[2 * x] > top[2 * x + 1] ? top[2 * x] : top[2 * x + 1];
        float b = bottom[2 * x] > bottom[2 * x + 1] ? bottom[2 * x] : bottom[2 * x + 1];
        dst[x] = a > b ? a : b;
      }
    }
  }
}

void kernel_fully_connected(size_t batch, size_t in_features, size_t out_features,
                            const float *restrict in, const float *restrict weights_t,
                            const float *restrict bias, float *restrict out) {
  for (size_t image = 0; image < batch; image++)
    for (size_t o = 0; o < out_features; o++)
      out[image * out_features + o] = bias[o];
  kernel_sgemm_acc(batch, out_features, in_features, in, weights_t, out);
}

void kernel_relu(size_t count, const float *in, float *out) {
  /* Through a fixed-size local block: in may equal out, and a constant
   * trip count lets gcc -O2 turn the select into maxps. */
  enum { RELU_BLOCK = 8 };
  float block[RELU_BLOCK];
  size_t i = 0;
  for (; i + RELU_BLOCK <= count; i += RELU_BLOCK) {
    memcpy(block, in + i, sizeof block);
    for (size_t j = 0; j < RELU_BLOCK; j++)
      block[j] = block[j] > 0.0f ? block[j] : 0.0f;
    memcpy(out + i, block, sizeof block);
  }
  for (; i < count; i++)
    out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

size_t kernel_argmax(size_t count, const float *values) {
  size_t best = 0;
  for (size_t i = 1; i < count; i++)
    if (values[i] > values[best]) best = i;
  return best;
}
