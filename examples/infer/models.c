/* models.c: plans the shape-only graphs and prints their memory figures
 * next to the published ones (see README.md for the discussion). */
#include "models.h"

#include <string.h>

typedef struct network_s {
  const char *name;
  const char *input;     /* per-sample input, for the table */
  const char *published; /* what the literature says, one line */
  void (*build)(model_t *model);
} network_t;

static const network_t networks[] = {
    {"resnet50", "3x224x224",
     "He et al. 2015, Table 1: conv1 112x112x64 and conv2_x 56x56x256, 3.06 MiB each",
     resnet50_build},
    {"mobilenetv2", "3x224x224",
     "Pisarchyk & Lee 2020 (TFLite): 65 intermediate tensors, naive 26 MB at batch 1",
     mobilenetv2_build},
    {"bert-base", "seq=128",
     "Devlin et al. 2018: 12 layers x 12 heads; scores 12x128x128 = 0.75 MiB per layer",
     bert_base_build},
    {"unet", "1x572x572",
     "Ronneberger et al. 2015: largest map 64x570x570 = 79.3 MiB; 388x388x2 output", unet_build},
};

#define NETWORK_COUNT (sizeof networks / sizeof networks[0])
#define MIB           1048576.0

int models_known(const char *name) {
  if (strcmp(name, "all") == 0) return 1;
  for (size_t i = 0; i < NETWORK_COUNT; i++)
    if (strcmp(name, networks[i].name) == 0) return 1;
  return 0;
}

/* What one plan of one network gave, for the table and the notes. */
typedef struct network_result_s {
  size_t batch;
  pm_plan_summary_t summary;
  size_t inputs, input_bytes;
} network_result_t;

/* Builds and plans one network. Returns 0, or -1 with a message in err. */
static int network_plan(const network_t *net, size_t batch, network_result_t *r, char *err,
                        size_t err_size) {
  model_t model;
  const pm_plan_t *plan;
  int status = model_begin(&model, net->name, batch);
  if (status == 0) net->build(&model);
  status = model.status;
  if (status == 0) status = pm_graph_plan(model.graph, NULL, &plan);
  if (status == 0) status = pm_plan_summary(plan, &r->summary);
  /* The runtime-link fallback plans nothing: its figures are all naive. */
  int fallback =
      status == 0 && r->summary.algorithm && strcmp(r->summary.algorithm, "fallback") == 0;
  if (status < 0)
    snprintf(err, err_size, "%s at batch %zu: planning failed: %s", net->name, batch,
             model.graph ? pm_graph_error(model.graph) : "out of memory");
  else if (fallback)
    snprintf(err, err_size,
             "--model needs libpoolmalloc's planner: run it under "
             "LD_PRELOAD=libpoolmalloc.so");
  r->batch = batch;
  r->inputs = model.inputs;
  r->input_bytes = model.input_bytes;
  pm_graph_destroy(model.graph);
  return status < 0 || fallback ? -1 : 0;
}

static void network_print(FILE *out, const network_t *net, const network_result_t *r) {
  const pm_plan_summary_t *s = &r->summary;
  fprintf(out, "%-12s %5zu  %-10s %7zu %11.2f %11.2f %11.2f %6.1f%% %9.3f  %s\n", net->name,
          r->batch, net->input, s->tensors, s->naive_bytes / MIB, s->lower_bound_bytes / MIB,
          s->planned_bytes / MIB, 100.0 * s->saving,
          s->lower_bound_bytes ? (double)s->planned_bytes / (double)s->lower_bound_bytes : 0.0,
          s->algorithm ? s->algorithm : "?");
}

static int selected(const char *name, const network_t *net) {
  return strcmp(name, "all") == 0 || strcmp(name, net->name) == 0;
}

int models_report(FILE *out, const char *name, size_t batch) {
  static const size_t default_batches[] = {1, 8};
  enum { BATCHES = sizeof default_batches / sizeof default_batches[0] };
  size_t batches = batch ? 1 : BATCHES;
  network_result_t results[NETWORK_COUNT][BATCHES];
  char err[256];
  if (!models_known(name)) return 2;
  for (size_t i = 0; i < NETWORK_COUNT; i++)
    for (size_t b = 0; b < batches && selected(name, &networks[i]); b++)
      if (network_plan(&networks[i], batch ? batch : default_batches[b], &results[i][b], err,
                       sizeof err) != 0) {
        fprintf(stderr, "infer: %s\n", err);
        return 1;
      }
  fprintf(out, "Shape-only plans: float32, every activation a tensor (graph inputs included); "
               "MiB = 2^20 bytes\n");
  fprintf(out, "%-12s %5s  %-10s %7s %11s %11s %11s %7s %9s  %s\n", "model", "batch", "input",
          "tensors", "naive MiB", "lower MiB", "planned MiB", "saving", "plan/low", "algorithm");
  for (size_t i = 0; i < NETWORK_COUNT; i++)
    for (size_t b = 0; b < batches && selected(name, &networks[i]); b++)
      network_print(out, &networks[i], &results[i][b]);
  fprintf(out, "Compared with published figures (ours at batch %zu, without the graph inputs):\n",
          batch ? batch : default_batches[0]);
  for (size_t i = 0; i < NETWORK_COUNT; i++) {
    if (!selected(name, &networks[i])) continue;
    const network_result_t *r = &results[i][0];
    fprintf(out, "  %-12s ours: %zu intermediate tensors, naive %.2f MiB\n", networks[i].name,
            r->summary.tensors - r->inputs, (r->summary.naive_bytes - r->input_bytes) / MIB);
    fprintf(out, "  %-12s %s\n", "", networks[i].published);
  }
  return 0;
}
