/* poolmalloc-plan: plans a MiniMalloc-style CSV problem from the command
 * line with libpoolmalloc's planner, prints one summary line, and can
 * write the placed buffers as CSV and a picture of the plan as SVG.
 *
 * Exit status: 0 planned, 2 bad usage or bad input, 1 anything else
 * (e.g. an output file that could not be written). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "poolmalloc.h"
#include "planner/csv.h"
#include "planner/svg.h"
#include "utf8.h"

#define PROGRAM "poolmalloc-plan"

typedef struct plan_args_s {
  const char *algorithm;
  size_t alignment;
  uint32_t time_limit_ms;
  const char *svg_path;
  const char *plan_path;
  const char *problem_path;
} plan_args_t;

static void usage(FILE *out) {
  fprintf(out, "Usage: " PROGRAM " [OPTION]... PROBLEM.csv\n"
               "Place the buffers of PROBLEM.csv (columns id,lower,upper,size; a buffer is live\n"
               "over steps [lower, upper)) in one arena and print how large it is.\n"
               "\n"
               "  --algorithm NAME  naive, greedy-size or best (default best)\n"
               "  --alignment N     align every offset to N bytes, a power of two (default 64;\n"
               "                    1 = no padding, as MiniMalloc's benchmarks assume)\n"
               "  --time-limit MS   search budget of the best algorithm (default, or 0: its\n"
               "                    own, about 1000)\n"
               "  --svg FILE        draw the plan as SVG\n"
               "  -o PLAN.csv       write id,lower,upper,size,offset\n"
               "  --help            show this help and exit\n"
               "  --version         show the version and exit\n"
               "\n"
               "Prints: buffers=N naive=B lower_bound=B planned=B ratio=planned/lower_bound "
               "time_ms=T\n"
               "Exit status: 0 planned, 2 bad usage or input, 1 output could not be written\n"
               "or memory ran out.\n");
}

/* A path for a message: control characters masked, as the CSV reader's
 * messages have them, so a file name cannot break the line. */
static const char *shown(const char *path, char buffer[256]) {
  _pm_text_mask_copy(buffer, 256, path);
  return buffer;
}

/* The algorithm's name, checked before the CSV is read (which may be
 * large) by planning an empty graph, so the message blames the option. */
static int check_algorithm(const char *name) {
  pm_graph_t *graph = pm_graph_create(NULL);
  if (graph == NULL) {
    fprintf(stderr, PROGRAM ": out of memory\n");
    return 1;
  }
  const pm_plan_t *plan;
  pm_plan_options_t options = {name, 0, 0};
  int status = pm_graph_plan(graph, &options, &plan);
  if (status == PM_ERR_UNKNOWN_ALGORITHM) {
    char buffer[256];
    fprintf(stderr, PROGRAM ": --algorithm: %s\n", shown(pm_graph_error(graph), buffer));
  }
  pm_graph_destroy(graph);
  return status == PM_OK ? 0 : status == PM_ERR_UNKNOWN_ALGORITHM ? 2 : 1;
}

static int parse_count(const char *option, const char *text, uint64_t max, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (*text < '0' || *text > '9' || *end != '\0' || errno != 0 || value > max) {
    fprintf(stderr, PROGRAM ": %s: '%s' is not a number from 0 to %llu\n", option, text,
            (unsigned long long)max);
    return -1;
  }
  *out = value;
  return 0;
}

/* Returns -1 to continue, else the exit status. */
static int parse_args(int argc, char **argv, plan_args_t *args) {
  static const struct option options[] = {
      {"algorithm", required_argument, NULL, 'a'},  {"alignment", required_argument, NULL, 'l'},
      {"time-limit", required_argument, NULL, 't'}, {"svg", required_argument, NULL, 's'},
      {"output", required_argument, NULL, 'o'},     {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},          {NULL, 0, NULL, 0}};
  uint64_t number;
  int option;
  while ((option = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
    switch (option) {
    case 'a':
      args->algorithm = optarg;
      break;
    case 'l':
      if (parse_count("--alignment", optarg, UINT64_MAX, &number) != 0) return 2;
      /* Checked here, before the CSV is read, so the message blames the option. */
      if (number == 0 || (number & (number - 1)) != 0) {
        fprintf(stderr, PROGRAM ": --alignment %" PRIu64 " is not a power of two\n", number);
        return 2;
      }
      if (number > PM_MAX_ALIGNMENT) {
        fprintf(stderr, PROGRAM ": --alignment %" PRIu64 " is too large (at most %" PRIu64 ")\n",
                number, (uint64_t)PM_MAX_ALIGNMENT);
        return 2;
      }
      args->alignment = number;
      break;
    case 't':
      if (parse_count("--time-limit", optarg, UINT32_MAX, &number) != 0) return 2;
      args->time_limit_ms = (uint32_t)number;
      break;
    case 's':
      args->svg_path = optarg;
      break;
    case 'o':
      args->plan_path = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case 'V':
      printf(PROGRAM " (libpoolmalloc) %s\n", PACKAGE_VERSION);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind + 1 != argc) {
    fprintf(stderr, PROGRAM ": expected one PROBLEM.csv, got %d arguments\n", argc - optind);
    usage(stderr);
    return 2;
  }
  if (args->alignment == 0) args->alignment = 64;
  args->problem_path = argv[optind];
  int status = args->algorithm != NULL ? check_algorithm(args->algorithm) : 0;
  return status != 0 ? status : -1;
}

/* An output file, opened for writing; NULL after a message. */
static FILE *output_open(const char *path) {
  FILE *out = fopen(path, "w");
  if (out == NULL) {
    char buffer[256];
    fprintf(stderr, PROGRAM ": %s: %s\n", shown(path, buffer), strerror(errno));
  }
  return out;
}

/* Closes an output file; failed (with errno in write_error) if a write
 * failed. On any failure a regular file is removed, so no half-written
 * plan or picture is left to pass for a whole one. Returns the exit
 * status. */
static int output_close(FILE *out, const char *path, bool failed, int write_error) {
  int closed = fclose(out);
  if (!failed && closed == 0) return 0;
  char buffer[256];
  fprintf(stderr, PROGRAM ": %s: %s\n", shown(path, buffer),
          strerror(failed ? write_error : errno));
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) unlink(path);
  return 1;
}

/* Writes id as a CSV field: quoted, its quotes doubled, when it holds a
 * comma or a quote or starts or ends with a blank, which a reader would
 * split at or trim (the input had it quoted). false when the write fails. */
static bool write_csv_id(FILE *out, const char *id) {
  size_t len = strlen(id);
  bool plain = strcspn(id, ",\"") == len &&
               (len == 0 || (!strchr(" \t", id[0]) && !strchr(" \t", id[len - 1])));
  if (plain) return fputs(id, out) >= 0;
  bool failed = putc('"', out) == EOF;
  for (const char *c = id; *c != '\0' && !failed; c++)
    failed = (*c == '"' && putc('"', out) == EOF) || putc(*c, out) == EOF;
  return !failed && putc('"', out) != EOF;
}

static int write_plan_csv(const char *path, const pm_csv_problem_t *problem,
                          const uint64_t *offsets) {
  FILE *out = output_open(path);
  if (out == NULL) return 1;
  bool failed = fputs("id,lower,upper,size,offset\n", out) < 0;
  for (size_t i = 0; i < problem->count && !failed; i++) {
    const pm_csv_row_t *row = &problem->rows[i];
    failed = !write_csv_id(out, row->id) ||
             fprintf(out, ",%llu,%llu,%llu,%llu\n", (unsigned long long)row->lower,
                     (unsigned long long)row->upper, (unsigned long long)row->size,
                     (unsigned long long)offsets[i]) < 0;
  }
  return output_close(out, path, failed, errno);
}

static int write_svg(const char *path, const plan_args_t *args, const pm_csv_problem_t *problem,
                     const uint64_t *offsets, const pm_plan_summary_t *summary) {
  FILE *out = output_open(path);
  if (out == NULL) return 1;
  const char *base = strrchr(args->problem_path, '/');
  pm_svg_figures_t figures = {summary->naive_bytes,   summary->lower_bound_bytes,
                              summary->planned_bytes, summary->plan_time_ms,
                              summary->algorithm,     base != NULL ? base + 1 : args->problem_path};
  bool failed = _pm_svg_write(out, problem->rows, offsets, problem->count, &figures) != 0;
  return output_close(out, path, failed, errno);
}

/* Plans the problem; on success fills offsets and summary. */
static int plan_problem(const plan_args_t *args, const pm_csv_problem_t *problem, uint64_t *offsets,
                        pm_plan_summary_t *summary) {
  /* Unnamed: messages already start with the problem's path. */
  pm_graph_t *graph = pm_graph_create(NULL);
  if (graph == NULL) {
    fprintf(stderr, PROGRAM ": out of memory\n");
    return 1;
  }
  int status = PM_OK;
  for (size_t i = 0; i < problem->count && status >= 0; i++) {
    const pm_csv_row_t *row = &problem->rows[i];
    status = pm_graph_add_interval(graph, row->id, row->size, 0, row->lower, row->upper);
  }
  const pm_plan_t *plan = NULL;
  pm_plan_options_t options = {args->algorithm, args->alignment, args->time_limit_ms};
  if (status >= 0) status = pm_graph_plan(graph, &options, &plan);
  if (status >= 0) {
    pm_plan_summary(plan, summary);
    for (size_t i = 0; i < problem->count; i++)
      offsets[i] = pm_plan_offset(plan, (int)i);
  } else {
    char path[256], error[256];
    fprintf(stderr, PROGRAM ": %s: %s\n", shown(args->problem_path, path),
            shown(pm_graph_error(graph), error));
  }
  pm_graph_destroy(graph);
  if (status >= 0) return 0;
  return status == PM_ERR_NOMEM ? 1 : 2;
}

static int run(int argc, char **argv) {
  plan_args_t args = {0};
  int exit_status = parse_args(argc, argv, &args);
  if (exit_status >= 0) return exit_status;

  char error[512];
  pm_csv_problem_t problem;
  int read = _pm_csv_read_problem(args.problem_path, &problem, error, sizeof error);
  if (read != 0) {
    fprintf(stderr, PROGRAM ": %s\n", error);
    return read == PM_CSV_RESOURCES ? 1 : 2;
  }
  uint64_t *offsets = calloc(problem.count != 0 ? problem.count : 1, sizeof *offsets);
  pm_plan_summary_t summary = {0};
  if (offsets == NULL) {
    fprintf(stderr, PROGRAM ": out of memory for the offsets of %zu buffers\n", problem.count);
    exit_status = 1;
  } else {
    exit_status = plan_problem(&args, &problem, offsets, &summary);
  }
  if (exit_status == 0 && args.plan_path != NULL)
    exit_status = write_plan_csv(args.plan_path, &problem, offsets);
  if (exit_status == 0 && args.svg_path != NULL)
    exit_status = write_svg(args.svg_path, &args, &problem, offsets, &summary);
  if (exit_status == 0) {
    double ratio = summary.lower_bound_bytes != 0
                       ? (double)summary.planned_bytes / (double)summary.lower_bound_bytes
                       : 1.0;
    printf("buffers=%zu naive=%zu lower_bound=%zu planned=%zu ratio=%.4f time_ms=%.3f\n",
           problem.count, summary.naive_bytes, summary.lower_bound_bytes, summary.planned_bytes,
           ratio, summary.plan_time_ms);
  }
  free(offsets);
  _pm_csv_free_problem(&problem);
  return exit_status;
}

/* The summary line (or the help) that could not be written is a failure
 * too, which a script must see. */
int main(int argc, char **argv) {
  int exit_status = run(argc, argv);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, PROGRAM ": standard output: %s\n", strerror(errno));
    if (exit_status == 0) exit_status = 1;
  }
  return exit_status;
}
