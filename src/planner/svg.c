/* svg.c: draws a plan as SVG (see svg.h).
 *
 * A fixed 1200x700 canvas keeps pictures of ten or a thousand buffers
 * equally readable; the scale adapts instead. Fill hues step by the golden
 * angle so that buffers drawn next to each other never share a colour. */
#include "config.h"

#include <string.h>

#include "planner/svg.h"
#include "utf8.h"

enum {
  CANVAS_WIDTH = 1200,
  CANVAS_HEIGHT = 700,
  MARGIN_LEFT = 80,
  MARGIN_RIGHT = 150, /* room for the labels of the two dashed lines */
  MARGIN_TOP = 50,
  MARGIN_BOTTOM = 50,
  PLOT_WIDTH = CANVAS_WIDTH - MARGIN_LEFT - MARGIN_RIGHT,
  PLOT_HEIGHT = CANVAS_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
  TARGET_TICKS = 8
};

typedef struct svg_scale_s {
  double x_per_step;
  double y_per_byte;
  uint64_t max_step;
  uint64_t max_bytes;
} svg_scale_t;

static double svg_x(const svg_scale_t *scale, uint64_t step) {
  return MARGIN_LEFT + (double)step * scale->x_per_step;
}

static double svg_y(const svg_scale_t *scale, uint64_t bytes) {
  return MARGIN_TOP + PLOT_HEIGHT - (double)bytes * scale->y_per_byte;
}

static void svg_escape(FILE *out, const char *text) {
  for (const unsigned char *c = (const unsigned char *)text; *c != '\0';) {
    size_t length = _pm_utf8_sequence_length(c);
    switch (*c) {
    case '<':
      fputs("&lt;", out);
      break;
    case '>':
      fputs("&gt;", out);
      break;
    case '&':
      fputs("&amp;", out);
      break;
    case '"':
      fputs("&quot;", out);
      break;
    default:
      /* Control characters and U+FFFE/U+FFFF are not allowed in XML 1.0,
       * and the file says it is UTF-8. */
      if (length == 0 || _pm_utf8_is_noncharacter(c, length))
        fputs("&#xFFFD;", out);
      else if (*c >= 0x20 || *c == '\t')
        fwrite(c, 1, length, out);
    }
    c += length != 0 ? length : 1;
  }
}

/* Bytes with K/M/G units (powers of 1024), e.g. "1.5M". */
static void svg_format_bytes(char *buf, size_t len, double bytes) {
  static const char *const units[] = {"", "K", "M", "G", "T"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < sizeof units / sizeof *units) {
    bytes /= 1024;
    unit++;
  }
  snprintf(buf, len, "%.4g%s", bytes, units[unit]);
}

/* Smallest of 1, 2, 5 x 10^k that is at least raw. */
static double svg_nice_step(double raw) {
  double magnitude = 1;
  while (magnitude * 10 <= raw)
    magnitude *= 10;
  while (magnitude > raw && magnitude > 1e-9)
    magnitude /= 10;
  static const double factors[] = {1, 2, 5, 10};
  for (size_t i = 0; i < sizeof factors / sizeof *factors; i++)
    if (factors[i] * magnitude >= raw) return factors[i] * magnitude;
  return 10 * magnitude;
}

/* Byte ticks fall on round numbers of the unit the axis is labelled in. */
static double svg_byte_step(uint64_t max_bytes) {
  double unit = 1;
  while ((double)max_bytes / unit >= 2048 && unit < 1099511627776.0)
    unit *= 1024;
  double step = svg_nice_step((double)max_bytes / unit / TARGET_TICKS) * unit;
  return step >= 1 ? step : 1;
}

static void svg_axes(FILE *out, const svg_scale_t *scale) {
  char label[32];
  fprintf(out,
          "<g stroke=\"#000\" stroke-width=\"1\">"
          "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
          "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n",
          MARGIN_LEFT, MARGIN_TOP + PLOT_HEIGHT, MARGIN_LEFT + PLOT_WIDTH, MARGIN_TOP + PLOT_HEIGHT,
          MARGIN_LEFT, MARGIN_TOP, MARGIN_LEFT, MARGIN_TOP + PLOT_HEIGHT);
  fputs("<g font-size=\"11\" fill=\"#000\">\n", out);
  double step = svg_nice_step((double)scale->max_step / TARGET_TICKS);
  if (step < 1) step = 1;
  for (double s = 0; s <= (double)scale->max_step; s += step) {
    double x = svg_x(scale, (uint64_t)s);
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n",
            x, MARGIN_TOP + PLOT_HEIGHT, x, MARGIN_TOP + PLOT_HEIGHT + 5, x,
            MARGIN_TOP + PLOT_HEIGHT + 18, s);
  }
  double byte_step = svg_byte_step(scale->max_bytes);
  for (double b = 0; b <= (double)scale->max_bytes; b += byte_step) {
    double y = svg_y(scale, (uint64_t)b);
    svg_format_bytes(label, sizeof label, b);
    fprintf(out,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#000\"/>"
            "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            MARGIN_LEFT - 5, y, MARGIN_LEFT, y, MARGIN_LEFT - 8, y + 4, label);
  }
  fprintf(out,
          "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n"
          "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 18 %d)\">"
          "address (bytes)</text>\n</g>\n",
          MARGIN_LEFT + PLOT_WIDTH / 2, CANVAS_HEIGHT - 12, MARGIN_TOP + PLOT_HEIGHT / 2,
          MARGIN_TOP + PLOT_HEIGHT / 2);
}

static void svg_level(FILE *out, const svg_scale_t *scale, uint64_t bytes, const char *name,
                      const char *colour, int label_offset) {
  char label[32];
  double y = svg_y(scale, bytes);
  svg_format_bytes(label, sizeof label, (double)bytes);
  fprintf(out,
          "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
          "stroke-dasharray=\"6 4\"/>\n"
          "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"%s\">%s %s</text>\n",
          MARGIN_LEFT, y, MARGIN_LEFT + PLOT_WIDTH, y, colour, MARGIN_LEFT + PLOT_WIDTH + 6,
          y + label_offset, colour, name, label);
}

static void svg_buffers(FILE *out, const svg_scale_t *scale, const pm_csv_row_t *rows,
                        const uint64_t *offsets, size_t count) {
  fputs("<g stroke=\"#222\" stroke-width=\"0.4\">\n", out);
  for (size_t i = 0; i < count; i++) {
    double x = svg_x(scale, rows[i].lower);
    double width = svg_x(scale, rows[i].upper) - x;
    double top = svg_y(scale, offsets[i] + rows[i].size);
    double height = svg_y(scale, offsets[i]) - top;
    /* Hue by the golden angle; two lightness bands separate neighbours. */
    double hue = (double)((i * 137508u / 1000u) % 360u);
    fprintf(out,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
            "fill=\"hsl(%.0f,65%%,%d%%)\"><title>",
            x, top, width > 0.5 ? width : 0.5, height > 0.5 ? height : 0.5, hue, i % 2 ? 58 : 72);
    svg_escape(out, rows[i].id);
    fprintf(out, ": size %llu, steps [%llu, %llu), offset %llu</title></rect>\n",
            (unsigned long long)rows[i].size, (unsigned long long)rows[i].lower,
            (unsigned long long)rows[i].upper, (unsigned long long)offsets[i]);
  }
  fputs("</g>\n", out);
}

int _pm_svg_write(FILE *out, const pm_csv_row_t *rows, const uint64_t *offsets, size_t count,
                  const pm_svg_figures_t *figures) {
  svg_scale_t scale = {0, 0, 1, figures->planned_bytes};
  for (size_t i = 0; i < count; i++)
    if (rows[i].upper > scale.max_step) scale.max_step = rows[i].upper;
  if (figures->lower_bound_bytes > scale.max_bytes) scale.max_bytes = figures->lower_bound_bytes;
  scale.max_bytes += scale.max_bytes / 20; /* headroom above the top line */
  if (scale.max_bytes == 0) scale.max_bytes = 1;
  scale.x_per_step = (double)PLOT_WIDTH / (double)scale.max_step;
  scale.y_per_byte = (double)PLOT_HEIGHT / (double)scale.max_bytes;

  char naive[32], lower[32], planned[32];
  svg_format_bytes(naive, sizeof naive, (double)figures->naive_bytes);
  svg_format_bytes(lower, sizeof lower, (double)figures->lower_bound_bytes);
  svg_format_bytes(planned, sizeof planned, (double)figures->planned_bytes);
  double ratio = figures->lower_bound_bytes != 0
                     ? (double)figures->planned_bytes / (double)figures->lower_bound_bytes
                     : 1; /* an empty problem's plan meets its bound, as poolmalloc-plan says */
  fprintf(out,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
          "<text x=\"%d\" y=\"28\" font-size=\"15\">",
          CANVAS_WIDTH, CANVAS_HEIGHT, CANVAS_WIDTH, CANVAS_HEIGHT, MARGIN_LEFT);
  if (figures->title != NULL) {
    svg_escape(out, figures->title);
    fputs(": ", out);
  }
  fprintf(out,
          "%zu buffers, naive %s, lower bound %s, planned %s, ratio %.4f (%s, %.1f ms)"
          "</text>\n",
          count, naive, lower, planned, ratio,
          figures->algorithm != NULL ? figures->algorithm : "?", figures->time_ms);
  svg_buffers(out, &scale, rows, offsets, count);
  svg_axes(out, &scale);
  /* Labels of nearly equal levels would overprint: nudge them apart. */
  int close =
      figures->planned_bytes - figures->lower_bound_bytes < (uint64_t)(14 / scale.y_per_byte) + 1;
  svg_level(out, &scale, figures->lower_bound_bytes, "lower bound", "#1565c0", close ? 16 : 4);
  svg_level(out, &scale, figures->planned_bytes, "planned", "#c62828", close ? -6 : 4);
  fputs("</svg>\n", out);
  return ferror(out) ? -1 : 0;
}
