/* csv.c: reads MiniMalloc-style planning problems (see csv.h).
 *
 * Strict about content, lenient about form: CRLF line ends, a leading
 * byte-order mark, blank lines, spaces around fields and fields quoted as
 * RFC 4180 says (on one line: R's write.csv quotes every name) are
 * accepted; a missing column, a field that is
 * not a plain non-negative integer, an overflow, an empty interval, a zero
 * size, an id that is empty or holds a control character, or a row with the
 * wrong number of fields is an error naming the line. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getline */
#endif
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/csv.h"
#include "utf8.h"

enum { COLUMN_ID, COLUMN_LOWER, COLUMN_UPPER, COLUMN_SIZE, COLUMN_COUNT };
static const char *const column_names[COLUMN_COUNT] = {"id", "lower", "upper", "size"};

typedef struct csv_reader_s {
  const char *path;
  size_t line;
  char *error;
  size_t error_len;
  char **fields;
  size_t field_capacity;
} csv_reader_t;

/* "PATH:LINE: PROBLEM" (no ":LINE" for line 0) in error. A path too long
 * to leave the rest room loses its start, not its end, which names the
 * file; echoed fields keep the message one line (control characters masked). */
static void csv_message(char *error, size_t error_len, const char *path, size_t line,
                        const char *problem) {
  char where[24] = "";
  if (line > 0) snprintf(where, sizeof where, ":%zu", line);
  size_t rest = strlen(where) + strlen(": ") + strlen(problem) + 1;
  size_t path_len = strlen(path);
  const char *cut = "";
  if (path_len + rest > error_len && error_len > rest + 3) {
    path += path_len - (error_len - rest - 3);
    cut = "...";
  }
  snprintf(error, error_len, "%s%s%s: %s", cut, path, where, problem);
  _pm_text_mask_controls(error);
}

static int csv_fail(csv_reader_t *reader, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static int csv_fail(csv_reader_t *reader, const char *format, ...) {
  char problem[256];
  va_list args;
  va_start(args, format);
  vsnprintf(problem, sizeof problem, format, args);
  va_end(args);
  csv_message(reader->error, reader->error_len, reader->path, reader->line, problem);
  return -1;
}

/* For what the reader itself ran out of (memory, or the file's read): not
 * the input's fault, and told apart by the status. */
static int csv_fail_resources(csv_reader_t *reader, const char *problem) {
  csv_fail(reader, "%s", problem);
  return PM_CSV_RESOURCES;
}

static char *csv_skip_blanks(char *text) {
  while (*text == ' ' || *text == '\t')
    text++;
  return text;
}

static char *csv_trim(char *text) {
  text = csv_skip_blanks(text);
  size_t len = strlen(text);
  while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
                     text[len - 1] == '\n'))
    text[--len] = '\0';
  return text;
}

/* Unquotes in place the quoted field that *text points at ("" stands for
 * one quote) and leaves *text at the comma or the end of line after it;
 * -1 after the failure. */
static int csv_unquote(csv_reader_t *reader, size_t number, char **text) {
  char *in = *text + 1, *out = *text;
  for (;; in++) {
    if (*in == '\0')
      return csv_fail(reader, "field %zu: its quote is not closed on its line", number);
    if (*in == '"' && *++in != '"') break;
    *out++ = *in;
  }
  in = csv_skip_blanks(in);
  if (*in != ',' && *in != '\0')
    return csv_fail(reader, "field %zu: text after its closing quote", number);
  *out = '\0';
  *text = in;
  return 0;
}

/* Splits line (trimmed) in place at the commas outside quotes; returns the
 * field count, or the failure status. */
static long csv_split(csv_reader_t *reader, char *line) {
  size_t count = 0;
  for (char *text = line;;) {
    if (count == reader->field_capacity) {
      size_t next = reader->field_capacity != 0 ? reader->field_capacity * 2 : 8;
      char **grown = realloc(reader->fields, next * sizeof *grown);
      if (grown == NULL) return csv_fail_resources(reader, "out of memory");
      reader->fields = grown;
      reader->field_capacity = next;
    }
    char *field = csv_skip_blanks(text);
    text = field;
    bool quoted = *field == '"'; /* what the quotes hold is kept as it is */
    if (quoted) {
      if (csv_unquote(reader, count + 1, &text) != 0) return -1;
    } else {
      text += strcspn(text, ",");
    }
    char separator = *text;
    *text = '\0';
    reader->fields[count++] = quoted ? field : csv_trim(field);
    if (separator == '\0') break;
    text++;
  }
  return (long)count;
}

static int csv_parse_u64(csv_reader_t *reader, const char *column, const char *text,
                         uint64_t *out) {
  if (*text == '\0') return csv_fail(reader, "%s is empty", column);
  if (*text == '-') return csv_fail(reader, "%s (%s) must not be negative", column, PM_SHOWN(text));
  uint64_t value = 0;
  for (const char *c = text; *c != '\0'; c++) {
    if (*c < '0' || *c > '9')
      return csv_fail(reader, "%s '%s' is not a number", column, PM_SHOWN(text));
    unsigned digit = (unsigned)(*c - '0');
    if (value > (UINT64_MAX - digit) / 10)
      return csv_fail(reader, "%s (%s) is too large", column, PM_SHOWN(text));
    value = value * 10 + digit;
  }
  *out = value;
  return 0;
}

/* Finds each wanted column in the header; column[] gets its position. */
static int csv_read_header(csv_reader_t *reader, char *line, size_t column[COLUMN_COUNT],
                           size_t *field_count) {
  long count = csv_split(reader, line);
  if (count < 0) return (int)count;
  for (int c = 0; c < COLUMN_COUNT; c++) {
    long found = -1;
    for (long f = 0; f < count; f++) {
      if (strcmp(reader->fields[f], column_names[c]) != 0) continue;
      /* Which of the two was meant cannot be known. */
      if (found >= 0) return csv_fail(reader, "header names '%s' twice", column_names[c]);
      found = f;
    }
    if (found < 0)
      return csv_fail(reader, "header has no '%s' column (expected id,lower,upper,size)",
                      column_names[c]);
    column[c] = (size_t)found;
  }
  *field_count = (size_t)count;
  return 0;
}

static int csv_read_row(csv_reader_t *reader, char *line, const size_t column[COLUMN_COUNT],
                        size_t field_count, pm_csv_row_t *row) {
  long count = csv_split(reader, line);
  if (count < 0) return (int)count;
  if ((size_t)count != field_count)
    return csv_fail(reader, "row has %ld fields, header has %zu", count, field_count);
  uint64_t *targets[COLUMN_COUNT] = {NULL, &row->lower, &row->upper, &row->size};
  for (int c = COLUMN_LOWER; c < COLUMN_COUNT; c++)
    if (csv_parse_u64(reader, column_names[c], reader->fields[column[c]], targets[c]) != 0)
      return -1;
  const char *id = reader->fields[column[COLUMN_ID]];
  if (*id == '\0') return csv_fail(reader, "id is empty");
  /* The id is written back as it is (the plan's CSV, the SVG's labels):
   * a control character there would break the line or reach a terminal,
   * and so would one of the C1 set (U+0080-U+009F, UTF-8 C2 80-C2 9F:
   * U+009B is a terminal's CSI). */
  for (const unsigned char *c = (const unsigned char *)id; *c != '\0'; c++) {
    if (_pm_char_masked((char)*c) != (char)*c)
      return csv_fail(reader, "id contains the control character 0x%02x", *c);
    if (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f)
      return csv_fail(reader, "id contains the control character U+%04X", c[1]);
  }
  if (row->upper <= row->lower)
    return csv_fail(reader, "upper (%llu) must be greater than lower (%llu)",
                    (unsigned long long)row->upper, (unsigned long long)row->lower);
  if (row->size == 0) return csv_fail(reader, "size must be greater than 0");
  if (row->size > SIZE_MAX / 4)
    return csv_fail(reader, "size (%llu) is too large", (unsigned long long)row->size);
  row->id = strdup(id);
  if (row->id == NULL) return csv_fail_resources(reader, "out of memory");
  row->line = reader->line;
  return 0;
}

static int row_compare_ids(const void *a, const void *b) {
  const pm_csv_row_t *x = *(const pm_csv_row_t *const *)a, *y = *(const pm_csv_row_t *const *)b;
  int order = strcmp(x->id, y->id);
  return order != 0 ? order : (x->line > y->line) - (x->line < y->line);
}

/* Ids name the buffers in the plan written out and in messages: each must
 * be unique. Sorting pointers to the rows finds a repeat in n log n. */
static int csv_check_unique_ids(csv_reader_t *reader, const pm_csv_problem_t *problem) {
  if (problem->count < 2) return 0;
  const pm_csv_row_t **sorted = malloc(problem->count * sizeof *sorted);
  if (sorted == NULL) return csv_fail_resources(reader, "out of memory");
  for (size_t i = 0; i < problem->count; i++)
    sorted[i] = &problem->rows[i];
  qsort(sorted, problem->count, sizeof *sorted, row_compare_ids);
  int status = 0;
  for (size_t i = 1; i < problem->count && status == 0; i++)
    if (strcmp(sorted[i - 1]->id, sorted[i]->id) == 0) {
      reader->line = sorted[i]->line;
      status = csv_fail(reader, "id '%s' repeats line %zu", PM_SHOWN(sorted[i]->id),
                        sorted[i - 1]->line);
    }
  free(sorted);
  return status;
}

static int csv_append(csv_reader_t *reader, pm_csv_problem_t *problem, size_t *capacity) {
  if (problem->count < *capacity) return 0;
  size_t next = *capacity != 0 ? *capacity * 2 : 64;
  pm_csv_row_t *grown = realloc(problem->rows, next * sizeof *grown);
  if (grown == NULL) return csv_fail_resources(reader, "out of memory");
  problem->rows = grown;
  *capacity = next;
  return 0;
}

int _pm_csv_read_problem(const char *path, pm_csv_problem_t *out, char *error, size_t error_len) {
  csv_reader_t reader = {path, 0, error, error_len, NULL, 0};
  memset(out, 0, sizeof *out);
  FILE *file = fopen(path, "r");
  if (file == NULL) {
    csv_message(error, error_len, path, 0, strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t line_capacity = 0, row_capacity = 0, field_count = 0;
  size_t column[COLUMN_COUNT];
  int have_header = 0, status = 0;
  ssize_t length;
  while (status == 0 && (length = getline(&line, &line_capacity, file)) >= 0) {
    reader.line++;
    /* The fields are C strings: text after a NUL would be dropped unseen. */
    if (memchr(line, '\0', (size_t)length) != NULL) {
      status = csv_fail(&reader, "line contains a NUL byte");
      break;
    }
    /* Classic Mac OS line ends: the whole file reads as one line, and the
     * message would blame the header's columns. (Past the header, a CR
     * inside a field is reported, masked, with the field.) */
    char *cr = have_header ? NULL : memchr(line, '\r', (size_t)length);
    if (cr != NULL && cr[1] != '\n' && cr[1] != '\0') {
      status = csv_fail(&reader, "lines end in a lone CR; use LF or CRLF line ends");
      break;
    }
    /* Spreadsheets' "CSV UTF-8" export starts the file with a BOM. */
    static const char bom[] = "\xef\xbb\xbf";
    char *text = reader.line == 1 && strncmp(line, bom, 3) == 0 ? line + 3 : line;
    if (*csv_trim(text) == '\0') continue;
    if (!have_header) {
      status = csv_read_header(&reader, text, column, &field_count);
      have_header = 1;
    } else if ((status = csv_append(&reader, out, &row_capacity)) == 0) {
      pm_csv_row_t *row = &out->rows[out->count];
      memset(row, 0, sizeof *row);
      status = csv_read_row(&reader, text, column, field_count, row);
      if (status == 0) out->count++;
    }
  }
  /* getline also returns -1 when it cannot grow its buffer, and glibc
   * then leaves the stream's error flag clear: not at the end means the
   * rest of the file was never read. */
  if (status == 0 && (ferror(file) || !feof(file))) {
    reader.line++; /* the line that could not be read */
    char problem[128];
    snprintf(problem, sizeof problem, "read error: %s", strerror(errno));
    status = csv_fail_resources(&reader, problem);
  }
  if (status == 0) status = csv_check_unique_ids(&reader, out);
  if (status == 0 && !have_header) {
    csv_message(error, error_len, path, 0, "file is empty (expected a header id,lower,upper,size)");
    status = -1;
  }
  free(line);
  free(reader.fields);
  fclose(file);
  if (status != 0) _pm_csv_free_problem(out);
  return status;
}

void _pm_csv_free_problem(pm_csv_problem_t *problem) {
  for (size_t i = 0; i < problem->count; i++)
    free(problem->rows[i].id);
  free(problem->rows);
  problem->rows = NULL;
  problem->count = 0;
}
