/* models.h: shape-only graphs of published networks, planned without
 * running a kernel, and the table infer --model prints for them. */
#ifndef INFER_MODELS_H
#define INFER_MODELS_H

#include <stddef.h>
#include <stdio.h>

#include "model.h"

/* Each adds its network's activations to model (see model_begin). */
void resnet50_build(model_t *model);
void mobilenetv2_build(model_t *model);
void bert_base_build(model_t *model);
void unet_build(model_t *model);

/* Builds and plans NAME ("resnet50", "mobilenetv2", "bert-base", "unet" or
 * "all") at the given batch (0: batches 1 and 8) and prints the plan
 * figures to out. Returns 0, 1 if planning failed, 2 for an unknown name. */
int models_report(FILE *out, const char *name, size_t batch);
/* Whether name is one models_report knows. */
int models_known(const char *name);

#endif /* INFER_MODELS_H */
