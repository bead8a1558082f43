/* unet.c: U-Net (Ronneberger et al., "U-Net: Convolutional Networks for
 * Biomedical Image Segmentation", 2015, Fig. 1) with the paper's 572x572
 * single-channel input and 388x388x2 output: unpadded 3x3 convolutions
 * (ReLU fused), 2x2 max pools, 2x2 up-convolutions that halve the channels,
 * and the "copy and crop" skip connections. The crop is folded into the
 * concatenation, which reads the centre of the encoder map, so each encoder
 * map stays live from the contracting path until its decoder stage: the
 * skip connections are what make this network expensive to plan. */
#include <stdio.h>

#include "models.h"

#define UNET_LEVELS 4

static fmap_t unet_double_conv(model_t *m, const char *stage, fmap_t x, size_t channels) {
  char label[48];
  snprintf(label, sizeof label, "%s.conv1", stage);
  x = model_conv(m, label, x, channels, 3, 1, 0);
  snprintf(label, sizeof label, "%s.conv2", stage);
  return model_conv(m, label, x, channels, 3, 1, 0);
}

void unet_build(model_t *m) {
  fmap_t skips[UNET_LEVELS];
  char stage[32], label[48];
  size_t channels = 64;
  fmap_t x = model_input(m, "image", 1, 572, 572);
  for (size_t level = 0; level < UNET_LEVELS; level++, channels *= 2) {
    snprintf(stage, sizeof stage, "down%zu", level + 1);
    skips[level] = x = unet_double_conv(m, stage, x, channels);
    snprintf(label, sizeof label, "%s.maxpool", stage);
    x = model_pool(m, label, x, 2, 2, 0);
  }
  x = unet_double_conv(m, "bottom", x, channels);
  for (size_t level = UNET_LEVELS; level-- > 0;) {
    channels /= 2;
    snprintf(stage, sizeof stage, "up%zu", level + 1);
    snprintf(label, sizeof label, "%s.upconv", stage);
    x = model_op(m, label, &x, 1, channels, 2 * x.h, 2 * x.w, 0);
    fmap_t halves[2] = {skips[level], x};
    snprintf(label, sizeof label, "%s.crop_concat", stage);
    x = model_op(m, label, halves, 2, 2 * channels, x.h, x.w, 0);
    x = unet_double_conv(m, stage, x, channels);
  }
  model_op(m, "segmentation_map", &x, 1, 2, x.h, x.w, PM_TENSOR_OUTPUT);
}
