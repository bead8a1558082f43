/* svg.h: a picture of a plan for poolmalloc-plan --svg.
 *
 * Time runs across, addresses up; each buffer is one rectangle, and two
 * dashed lines mark the lower bound and the planned arena size, so the
 * gap between them (the planner's waste) can be seen at a glance. */
#ifndef PM_SVG_H
#define PM_SVG_H

#include <stdint.h>
#include <stdio.h>

#include "planner/csv.h"

typedef struct pm_svg_figures_s {
  uint64_t naive_bytes;
  uint64_t lower_bound_bytes;
  uint64_t planned_bytes;
  double time_ms;
  const char *algorithm;
  const char *title; /* e.g. the problem's file name */
} pm_svg_figures_t;

/* Writes a standalone SVG document. offsets[i] belongs to rows[i].
 * Returns 0, or -1 when writing failed. */
int _pm_svg_write(FILE *out, const pm_csv_row_t *rows, const uint64_t *offsets, size_t count,
                  const pm_svg_figures_t *figures);

#endif /* PM_SVG_H */
