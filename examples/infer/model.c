/* model.c: the shape-only graph builder (see model.h). */
#include "model.h"

int model_begin(model_t *model, const char *name, size_t batch) {
  model->batch = batch;
  model->inputs = model->input_bytes = 0;
  model->graph = pm_graph_create(name);
  model->status = model->graph ? 0 : PM_ERR_NOMEM;
  return model->status;
}

static size_t model_bytes(const model_t *model, size_t c, size_t h, size_t w) {
  return model->batch * c * h * w * MODEL_ELEMENT_BYTES;
}

fmap_t model_input(model_t *model, const char *name, size_t c, size_t h, size_t w) {
  fmap_t out = {-1, c, h, w};
  if (model->status < 0) return out;
  out.id = pm_graph_add_tensor(model->graph, name, model_bytes(model, c, h, w), 0, PM_TENSOR_INPUT);
  if (out.id < 0) model->status = out.id;
  model->inputs++;
  model->input_bytes += model_bytes(model, c, h, w);
  return out;
}

fmap_t model_op(model_t *model, const char *name, const fmap_t *inputs, size_t input_count,
                size_t c, size_t h, size_t w, unsigned flags) {
  enum { MAX_INPUTS = 8 };
  fmap_t out = {-1, c, h, w};
  int ids[MAX_INPUTS];
  if (model->status < 0) return out;
  if (input_count > MAX_INPUTS || c * h * w == 0) {
    model->status = PM_ERR_INVALID_ARG;
    return out;
  }
  for (size_t i = 0; i < input_count; i++)
    ids[i] = inputs[i].id;
  out.id = pm_graph_add_tensor(model->graph, name, model_bytes(model, c, h, w), 0, flags);
  if (out.id < 0) {
    model->status = out.id;
    return out;
  }
  int op = pm_graph_add_op(model->graph, name, ids, input_count, &out.id, 1, 0, -1);
  if (op < 0) model->status = op;
  return out;
}

static size_t window_out(size_t in, size_t kernel, size_t stride, size_t pad) {
  return in + 2 * pad < kernel ? 0 : (in + 2 * pad - kernel) / stride + 1;
}

fmap_t model_conv(model_t *model, const char *name, fmap_t in, size_t out_channels, size_t kernel,
                  size_t stride, size_t pad) {
  return model_op(model, name, &in, 1, out_channels, window_out(in.h, kernel, stride, pad),
                  window_out(in.w, kernel, stride, pad), 0);
}

fmap_t model_pool(model_t *model, const char *name, fmap_t in, size_t kernel, size_t stride,
                  size_t pad) {
  return model_conv(model, name, in, in.c, kernel, stride, pad);
}

fmap_t model_add(model_t *model, const char *name, fmap_t a, fmap_t b) {
  fmap_t inputs[2] = {a, b};
  if (model->status >= 0 && (a.c != b.c || a.h != b.h || a.w != b.w))
    model->status = PM_ERR_INVALID_ARG;
  return model_op(model, name, inputs, 2, a.c, a.h, a.w, 0);
}
