/* main.c: the infer command line. Classifies the Fashion-MNIST test set
 * with LeNet-5 on a planned arena and prints accuracy, speed and the memory
 * plan; or, with --model, plans a published network's graph without running
 * it. Exit status: 0 success, 1 planning failed, 2 bad usage, bad input or an
 * I/O error (a file that cannot be read, a --dump-logits file that cannot be
 * opened or written). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "idx.h"
#include "kernels.h"
#include "lenet.h"
#include "models.h"
#include "poolmalloc.h"

#ifndef INFER_DEFAULT_DATA
#define INFER_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"
#endif
#ifndef INFER_DEFAULT_WEIGHTS
#define INFER_DEFAULT_WEIGHTS "lenet5.weights"
#endif

#define INFER_MAX_BATCH 65536
#define ERROR_MAX       512

typedef struct options_s {
  const char *data_dir, *weights, *model, *dump_path;
  size_t batch, limit; /* limit 0: every image */
  int batch_given, verbose;
} options_t;

/* Plan figures per distinct batch size: the full batches and the last one. */
typedef struct plan_log_s {
  size_t batch[2];
  pm_plan_summary_t summary[2];
  size_t shapes, plans, cache_hits;
} plan_log_t;

static void usage(FILE *out) {
  fprintf(out,
          "usage: infer [--data DIR] [--weights FILE] [--batch N] [--limit N]\n"
          "             [--dump-logits FILE] [--verbose]\n"
          "       infer --model resnet50|mobilenetv2|bert-base|unet|all [--batch N]\n"
          "Classifies the Fashion-MNIST test set with LeNet-5, every activation in an\n"
          "arena laid out by libpoolmalloc's planner, and prints accuracy, images per\n"
          "second and the memory plan. With --model, plans a published network's\n"
          "activations without running it (batches 1 and 8 unless --batch is given).\n"
          "  --data DIR          dataset directory (default %s)\n"
          "  --weights FILE      weights file (default %s)\n"
          "  --batch N           images per forward pass, 1..%d (default 32)\n"
          "  --limit N           classify only the first N test images\n"
          "  --dump-logits FILE  write the logits as raw float32 (host byte order)\n"
          "  --verbose           print every plan call (shows shape-cache hits)\n"
          "  --help              this text\n"
          "Run it under LD_PRELOAD=libpoolmalloc.so: without the library each tensor\n"
          "gets its own malloc() block and the figures are those of that naive layout.\n",
          INFER_DEFAULT_DATA, INFER_DEFAULT_WEIGHTS, INFER_MAX_BATCH);
}

static int parse_count(const char *text, size_t max, size_t *out) {
  char *end;
  errno = 0;
  if (text[0] < '0' || text[0] > '9') return -1;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || value == 0 || value > max) return -1;
  *out = (size_t)value;
  return 0;
}

static int parse_options(int argc, char **argv, options_t *o) {
  static const struct option longs[] = {{"data", required_argument, NULL, 'd'},
                                        {"weights", required_argument, NULL, 'w'},
                                        {"batch", required_argument, NULL, 'b'},
                                        {"limit", required_argument, NULL, 'l'},
                                        {"model", required_argument, NULL, 'm'},
                                        {"dump-logits", required_argument, NULL, 'o'},
                                        {"verbose", no_argument, NULL, 'v'},
                                        {"help", no_argument, NULL, 'h'},
                                        {NULL, 0, NULL, 0}};
  *o = (options_t){INFER_DEFAULT_DATA, INFER_DEFAULT_WEIGHTS, NULL, NULL, 32, 0, 0, 0};
  int c;
  opterr = 0; /* getopt would name the program by its full path */
  while ((c = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
    switch (c) {
    case 'd':
      o->data_dir = optarg;
      break;
    case 'w':
      o->weights = optarg;
      break;
    case 'm':
      o->model = optarg;
      break;
    case 'o':
      o->dump_path = optarg;
      break;
    case 'v':
      o->verbose = 1;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    case 'b':
      if (parse_count(optarg, INFER_MAX_BATCH, &o->batch) != 0) {
        fprintf(stderr, "infer: --batch wants a number 1..%d, not '%s'\n", INFER_MAX_BATCH, optarg);
        return -1;
      }
      o->batch_given = 1;
      break;
    case 'l':
      if (parse_count(optarg, SIZE_MAX, &o->limit) != 0) {
        fprintf(stderr, "infer: --limit wants a positive number, not '%s'\n", optarg);
        return -1;
      }
      break;
    case ':':
      fprintf(stderr, "infer: option '%s' needs a value\n", argv[optind - 1]);
      return -1;
    default:
      fprintf(stderr, "infer: unknown option '%s'\n", argv[optind - 1]);
      return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "infer: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  if (o->model && !models_known(o->model)) {
    fprintf(stderr, "infer: unknown model '%s'\n", o->model);
    return -1;
  }
  return 0;
}

static double seconds_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void plan_log_add(plan_log_t *log, size_t batch, const pm_plan_summary_t *s, int verbose) {
  log->plans++;
  log->cache_hits += s->from_cache != 0;
  if (verbose)
    printf("plan: batch %zu: %zu tensors, arena %zu bytes, from_cache %d, %.3f ms\n", batch,
           s->tensors, s->planned_bytes, s->from_cache, s->plan_time_ms);
  for (size_t i = 0; i < log->shapes; i++)
    if (log->batch[i] == batch) return;
  if (log->shapes < 2) {
    log->batch[log->shapes] = batch;
    log->summary[log->shapes++] = *s;
  }
}

/* The runtime-link fallback (poolmalloc_runtime.h) names its plans
 * "fallback": then no planner ran and the figures are the naive layout. */
static int planner_loaded(const pm_plan_summary_t *s) {
  return !s->algorithm || strcmp(s->algorithm, "fallback") != 0;
}

static void plan_log_print(const plan_log_t *log) {
  if (planner_loaded(&log->summary[0]))
    printf("planner: libpoolmalloc: every activation lives in one planned arena\n");
  else
    printf("planner: not preloaded: each tensor got its own malloc() block (naive layout; run "
           "under LD_PRELOAD=libpoolmalloc.so for a plan)\n");
  printf("memory plan (float32 activations and im2col scratch, algorithm %s):\n",
         log->summary[0].algorithm ? log->summary[0].algorithm : "?");
  printf("  %6s %8s %12s %12s %14s %8s\n", "batch", "tensors", "naive", "lower bound",
         "planned arena", "saving");
  for (size_t i = 0; i < log->shapes; i++) {
    const pm_plan_summary_t *s = &log->summary[i];
    printf("  %6zu %8zu %12zu %12zu %14zu %7.1f%%\n", log->batch[i], s->tensors, s->naive_bytes,
           s->lower_bound_bytes, s->planned_bytes, 100.0 * s->saving);
  }
  printf("  (bytes; %zu plan calls, %zu answered by the shape cache)\n", log->plans,
         log->cache_hits);
}

/* Classifies images [0, count) batch by batch; returns the correct count, or
 * -1 with a message in err. */
static long classify(lenet_t *net, const dataset_t *set, size_t count, size_t batch, FILE *dump,
                     plan_log_t *log, int verbose, char *err, size_t err_size) {
  long correct = 0;
  size_t image_bytes = set->height * set->width;
  for (size_t first = 0; first < count; first += batch) {
    size_t n = count - first < batch ? count - first : batch;
    pm_plan_summary_t summary;
    if (lenet_plan(net, n, &summary, err, err_size) != 0) return -1;
    plan_log_add(log, n, &summary, verbose);
    const float *logits = lenet_forward(net, set->pixels + first * image_bytes);
    for (size_t i = 0; i < n; i++)
      correct += kernel_argmax(LENET_CLASSES, logits + i * LENET_CLASSES) == set->labels[first + i];
    if (dump && fwrite(logits, sizeof *logits, n * LENET_CLASSES, dump) != n * LENET_CLASSES)
      return error_format(err, err_size, "--dump-logits", "write failed: %s", strerror(errno));
  }
  return correct;
}

static int run_lenet(const options_t *o) {
  char err[ERROR_MAX];
  dataset_t set;
  lenet_t net;
  if (dataset_load_test(o->data_dir, &set, err, sizeof err) != 0) {
    fprintf(stderr, "infer: %s\n", err);
    return 2;
  }
  if (lenet_load(&net, o->weights, err, sizeof err) != 0) {
    fprintf(stderr, "infer: %s\n", err);
    dataset_free(&set);
    return 2;
  }
  size_t count = o->limit && o->limit < set.count ? o->limit : set.count;
  FILE *dump = NULL;
  if (o->dump_path && !(dump = fopen(o->dump_path, "wb"))) {
    fprintf(stderr, "infer: %s: %s\n", o->dump_path, strerror(errno));
    lenet_destroy(&net);
    dataset_free(&set);
    return 2;
  }
  plan_log_t log = {0};
  int status = 0;
  double start = seconds_now();
  long correct = -1;
  if (lenet_build(&net, o->batch, err, sizeof err) == 0)
    correct = classify(&net, &set, count, o->batch, dump, &log, o->verbose, err, sizeof err);
  double elapsed = seconds_now() - start;
  /* A failed write of the logits is an I/O error (2, like a --dump-logits
   * file that cannot be opened), not a planning failure (1). */
  int write_failed = dump && ferror(dump);
  if (dump && fclose(dump) != 0 && correct >= 0) {
    correct = error_format(err, sizeof err, o->dump_path, "%s", strerror(errno));
    write_failed = 1;
  }
  if (correct < 0) {
    fprintf(stderr, "infer: %s\n", err);
    status = write_failed ? 2 : 1;
  } else {
    printf("infer: LeNet-5 on %zu Fashion-MNIST test images from %s, batch %zu\n", count,
           o->data_dir, o->batch);
    printf("accuracy: %.2f%% (%ld/%zu)\n", 100.0 * (double)correct / (double)count, correct, count);
    printf("speed: %.0f images/s (%.3f s)\n", (double)count / elapsed, elapsed);
    plan_log_print(&log);
  }
  lenet_destroy(&net);
  dataset_free(&set);
  return status;
}

int main(int argc, char **argv) {
  options_t o;
  if (parse_options(argc, argv, &o) != 0) {
    usage(stderr);
    return 2;
  }
  int status =
      o.model ? models_report(stdout, o.model, o.batch_given ? o.batch : 0) : run_lenet(&o);
  /* Flush now: the library's POOLMALLOC_STATS report is written at exit and
   * should follow infer's own output, not cut into it. */
  fflush(stdout);
  return status;
}
