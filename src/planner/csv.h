/* csv.h: planning problems in MiniMalloc's CSV form.
 *
 * A header names the columns id, lower, upper and size (any order, extra
 * columns ignored); each row is one buffer live over [lower, upper). The
 * reader checks every field and reports the first problem with its file
 * and line, so poolmalloc-plan never plans a half-read file. */
#ifndef PM_CSV_H
#define PM_CSV_H

#include <stddef.h>
#include <stdint.h>

typedef struct pm_csv_row_s {
  char *id; /* kept as text: ids may be names or numbers */
  uint64_t lower;
  uint64_t upper;
  uint64_t size;
  size_t line; /* where in the file, for messages */
} pm_csv_row_t;

typedef struct pm_csv_problem_s {
  pm_csv_row_t *rows;
  size_t count;
} pm_csv_problem_t;

/* What _pm_csv_read_problem returns when memory or the read failed (the
 * input may be fine), rather than -1 for bad input. */
#define PM_CSV_RESOURCES (-2)

/* Reads path into *out. Returns 0, or -1 with a message such as
 * "problem.csv:17: upper (5) must be greater than lower (9)" in error, or
 * PM_CSV_RESOURCES with one such as "problem.csv:3: out of memory". */
int _pm_csv_read_problem(const char *path, pm_csv_problem_t *out, char *error, size_t error_len);
void _pm_csv_free_problem(pm_csv_problem_t *problem);

#endif /* PM_CSV_H */
