/* resnet50.c: ResNet-50 (He et al., "Deep Residual Learning for Image
 * Recognition", 2015, Table 1) at 224x224, as an inference graph: batch norm
 * folded into each convolution, ReLU fused into the convolution or the
 * residual add, every conv output and every add a tensor of its own.
 * Bottleneck blocks (1x1, 3x3, 1x1 x4) with a 1x1 projection shortcut in the
 * first block of each stage; the stride 2 of conv3_1, conv4_1 and conv5_1 sits
 * on the first 1x1, as in the original Caffe model and Keras' ResNet50.
 * 74 tensors including the input. */
#include <stdio.h>

#include "models.h"

static fmap_t resnet_bottleneck(model_t *m, const char *name, fmap_t in, size_t width,
                                size_t stride, int project) {
  char label[64];
  snprintf(label, sizeof label, "%s.conv1", name);
  fmap_t a = model_conv(m, label, in, width, 1, stride, 0);
  snprintf(label, sizeof label, "%s.conv2", name);
  fmap_t b = model_conv(m, label, a, width, 3, 1, 1);
  snprintf(label, sizeof label, "%s.conv3", name);
  fmap_t c = model_conv(m, label, b, 4 * width, 1, 1, 0);
  fmap_t shortcut = in;
  if (project) {
    snprintf(label, sizeof label, "%s.downsample", name);
    shortcut = model_conv(m, label, in, 4 * width, 1, stride, 0);
  }
  snprintf(label, sizeof label, "%s.add_relu", name);
  return model_add(m, label, c, shortcut);
}

void resnet50_build(model_t *m) {
  static const size_t blocks[4] = {3, 4, 6, 3};
  static const size_t widths[4] = {64, 128, 256, 512};
  fmap_t x = model_input(m, "image", 3, 224, 224);
  x = model_conv(m, "conv1", x, 64, 7, 2, 3);
  x = model_pool(m, "maxpool", x, 3, 2, 1);
  for (size_t stage = 0; stage < 4; stage++) {
    for (size_t block = 0; block < blocks[stage]; block++) {
      char name[32];
      snprintf(name, sizeof name, "layer%zu.%zu", stage + 1, block);
      size_t stride = block == 0 && stage > 0 ? 2 : 1;
      x = resnet_bottleneck(m, name, x, widths[stage], stride, block == 0);
    }
  }
  x = model_pool(m, "avgpool", x, 7, 1, 0);
  x = model_op(m, "fc", &x, 1, 1000, 1, 1, 0);
  model_op(m, "softmax", &x, 1, 1000, 1, 1, PM_TENSOR_OUTPUT);
}
