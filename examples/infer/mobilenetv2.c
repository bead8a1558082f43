/* mobilenetv2.c: MobileNetV2 (Sandler et al., "MobileNetV2: Inverted
 * Residuals and Linear Bottlenecks", 2018, Table 2) at 224x224, width 1.0,
 * as TFLite runs it: batch norm folded, ReLU6 fused into each convolution,
 * so the tensors are the conv outputs, the residual adds, the pooled
 * features, the logits and the softmax: 65 besides the input, the count
 * Pisarchyk & Lee (2020) give for this network. */
#include <stdio.h>

#include "models.h"

/* Inverted residual: 1x1 expand (skipped when t = 1), 3x3 depthwise, 1x1
 * linear projection, and an add when shape allows (stride 1, same width). */
static fmap_t inverted_residual(model_t *m, size_t index, fmap_t in, size_t expansion,
                                size_t out_channels, size_t stride) {
  char label[48];
  fmap_t x = in;
  if (expansion != 1) {
    snprintf(label, sizeof label, "block%zu.expand", index);
    x = model_conv(m, label, x, in.c * expansion, 1, 1, 0);
  }
  snprintf(label, sizeof label, "block%zu.depthwise", index);
  x = model_conv(m, label, x, x.c, 3, stride, 1);
  snprintf(label, sizeof label, "block%zu.project", index);
  x = model_conv(m, label, x, out_channels, 1, 1, 0);
  if (stride == 1 && in.c == out_channels) {
    snprintf(label, sizeof label, "block%zu.add", index);
    x = model_add(m, label, x, in);
  }
  return x;
}

void mobilenetv2_build(model_t *m) {
  /* Table 2 rows: expansion t, channels c, repeats n, first stride s. */
  static const size_t rows[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  fmap_t x = model_input(m, "image", 3, 224, 224);
  x = model_conv(m, "conv_stem", x, 32, 3, 2, 1);
  size_t index = 0;
  for (size_t r = 0; r < 7; r++)
    for (size_t i = 0; i < rows[r][2]; i++)
      x = inverted_residual(m, index++, x, rows[r][0], rows[r][1], i == 0 ? rows[r][3] : 1);
  x = model_conv(m, "conv_head", x, 1280, 1, 1, 0);
  x = model_pool(m, "avgpool", x, 7, 1, 0);
  x = model_conv(m, "logits", x, 1000, 1, 1, 0);
  model_op(m, "softmax", &x, 1, 1000, 1, 1, PM_TENSOR_OUTPUT);
}
