/* emitter.c: renders nested statistics as an indented text listing (an
 * object inside an array on one line, so per-class and per-arena figures
 * read as table rows) or as one JSON object, from the same calls (see
 * emitter.h). Output collects in the emitter's fixed buffer and goes out
 * with write(2). */
#include <string.h>

#include "emitter.h"
#include "internal.h"
#include "utf8.h"

static void emit_flush(pm_emitter_t *e) {
  if (e->len > 0 && e->error == 0 && _pm_prim_write(e->fd, e->buffer, e->len) != 0)
    e->error = errno;
  e->len = 0;
}

static void emit_bytes(pm_emitter_t *e, const char *text, size_t n) {
  while (n > 0) {
    if (e->len == sizeof e->buffer) emit_flush(e);
    size_t room = sizeof e->buffer - e->len;
    size_t chunk = n < room ? n : room;
    memcpy(e->buffer + e->len, text, chunk);
    e->len += chunk;
    text += chunk;
    n -= chunk;
  }
}

static void emit_str(pm_emitter_t *e, const char *text) {
  emit_bytes(e, text, strlen(text));
}

static void emit_indent(pm_emitter_t *e) {
  for (size_t i = 0; i < e->depth; i++)
    emit_str(e, "  ");
}

static void emit_json_string(pm_emitter_t *e, const char *text) {
  emit_str(e, "\"");
  for (const unsigned char *c = (const unsigned char *)text; *c;) {
    size_t length = _pm_utf8_sequence_length(c);
    /* Nonzero: the code point goes out as \uXXXX (never NUL, which ends
     * text). JSON may carry the line-breaking ones raw; escaped, a name can
     * never end a line for a reader that breaks at them. */
    uint32_t escaped_code = *c < 0x20 ? *c : _pm_utf8_line_breaking_code_point(c, length);
    if (*c == '"' || *c == '\\') {
      char escaped[2] = {'\\', (char)*c};
      emit_bytes(e, escaped, 2);
    } else if (*c == '\n' || *c == '\t' || *c == '\r') {
      char escaped[2] = {'\\', *c == '\n' ? 'n' : *c == '\t' ? 't' : 'r'};
      emit_bytes(e, escaped, 2);
    } else if (escaped_code != 0) {
      static const char hex[] = "0123456789abcdef";
      char escaped[6] = {'\\',
                         'u',
                         hex[escaped_code >> 12],
                         hex[(escaped_code >> 8) & 15],
                         hex[(escaped_code >> 4) & 15],
                         hex[escaped_code & 15]};
      emit_bytes(e, escaped, 6);
    } else if (length == 0) {
      emit_str(e, "\\ufffd"); /* JSON text must be UTF-8 (RFC 8259) */
      length = 1;
    } else {
      emit_bytes(e, (const char *)c, length);
    }
    c += length;
  }
  emit_str(e, "\"");
}

/* Whether the text format can show a string as it is: one word of
 * printable UTF-8. Anything else (spaces, a newline, quotes, stray bytes)
 * would split a row or forge a line, so it is shown quoted, as in JSON. */
static bool text_is_plain(const char *text) {
  if (*text == '\0') return false;
  for (const unsigned char *c = (const unsigned char *)text; *c;) {
    size_t length = _pm_utf8_sequence_length(c);
    if (length == 0 || *c <= 0x20 || *c == 0x7f || *c == '"' || *c == '\\' ||
        _pm_utf8_line_breaking_code_point(c, length) != 0)
      return false;
    c += length;
  }
  return true;
}

/* Starts an item at the current depth: separator and key, in either format. */
static void emit_item(pm_emitter_t *e, const char *key, bool opens) {
  uint32_t index = e->count[e->depth]++;
  if (e->format == PM_STATS_JSON) {
    if (index > 0) emit_str(e, ",");
    if (e->depth > 0) emit_str(e, "\n");
    emit_indent(e);
    if (key != NULL) {
      emit_json_string(e, key);
      emit_str(e, ": ");
    }
    return;
  }
  if (e->depth == 0) return; /* the top-level object has no heading line */
  if (e->row_depth != 0) {
    emit_str(e, index > 0 ? "  " : " ");
    if (key != NULL) {
      emit_str(e, key);
      emit_str(e, "=");
    }
    return;
  }
  emit_indent(e);
  if (key != NULL) {
    emit_str(e, key);
    emit_str(e, opens ? ":\n" : ": ");
  } else {
    char number[24];
    size_t n = _pm_format_u64(number, index);
    emit_str(e, "[");
    emit_bytes(e, number, n);
    emit_str(e, opens ? "]\n" : "] ");
  }
}

/* In text mode an object that is an array element opens a row: its items
 * follow on the same line, after the element's index. */
static bool emit_opens_row(const pm_emitter_t *e, const char *key, bool array) {
  return e->format != PM_STATS_JSON && e->row_depth == 0 && !array && key == NULL && e->depth > 0;
}

static void emit_open(pm_emitter_t *e, const char *key, bool array) {
  bool row = emit_opens_row(e, key, array);
  if (row) {
    emit_indent(e);
    char number[24];
    emit_str(e, "[");
    emit_bytes(e, number, _pm_format_u64(number, e->count[e->depth]++));
    emit_str(e, "]");
  } else {
    emit_item(e, key, true);
  }
  if (e->format == PM_STATS_JSON) emit_str(e, array ? "[" : "{");
  if (e->depth + 1 < PM_EMITTER_DEPTH) e->depth++;
  e->count[e->depth] = 0;
  if (row) e->row_depth = e->depth;
}

static void emit_close(pm_emitter_t *e, bool array) {
  bool empty = e->count[e->depth] == 0;
  if (e->row_depth != 0 && e->depth == e->row_depth) {
    e->row_depth = 0;
    emit_str(e, "\n");
  }
  if (e->depth > 0) e->depth--;
  if (e->format != PM_STATS_JSON) return;
  if (!empty) {
    emit_str(e, "\n");
    emit_indent(e);
  }
  emit_str(e, array ? "]" : "}");
  if (e->depth == 0) emit_str(e, "\n");
}

void _pm_emitter_init(pm_emitter_t *e, int fd, pm_stats_format_t format) {
  memset(e, 0, offsetof(pm_emitter_t, buffer));
  e->fd = fd;
  e->format = format;
}

int _pm_emitter_finish(pm_emitter_t *e) {
  emit_flush(e);
  if (e->error != 0) {
    errno = e->error;
    return -1;
  }
  return 0;
}

void _pm_emitter_object_begin(pm_emitter_t *e, const char *key) {
  if (e->format != PM_STATS_JSON && e->depth == 0) emit_str(e, "poolmalloc statistics\n");
  emit_open(e, key, false);
}
void _pm_emitter_object_end(pm_emitter_t *e) {
  emit_close(e, false);
}
void _pm_emitter_array_begin(pm_emitter_t *e, const char *key) {
  emit_open(e, key, true);
}
void _pm_emitter_array_end(pm_emitter_t *e) {
  emit_close(e, true);
}

static void emit_value_end(pm_emitter_t *e) {
  if (e->format != PM_STATS_JSON && e->row_depth == 0) emit_str(e, "\n");
}

void _pm_emitter_kv_u64(pm_emitter_t *e, const char *key, uint64_t value) {
  char number[24];
  emit_item(e, key, false);
  emit_bytes(e, number, _pm_format_u64(number, value));
  emit_value_end(e);
}

void _pm_emitter_kv_i64(pm_emitter_t *e, const char *key, int64_t value) {
  char number[24];
  emit_item(e, key, false);
  if (value < 0) emit_str(e, "-");
  uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
  emit_bytes(e, number, _pm_format_u64(number, magnitude));
  emit_value_end(e);
}

/* Six decimals; non-finite values print as 0 so the JSON stays valid. */
void _pm_emitter_kv_double(pm_emitter_t *e, const char *key, double value) {
  char number[24];
  emit_item(e, key, false);
  if (!(value == value) || value > 1e18 || value < -1e18) value = 0;
  if (value < 0) {
    emit_str(e, "-");
    value = -value;
  }
  uint64_t whole = (uint64_t)value;
  uint64_t micros = (uint64_t)((value - (double)whole) * 1e6 + 0.5);
  if (micros >= 1000000) {
    whole++;
    micros -= 1000000;
  }
  emit_bytes(e, number, _pm_format_u64(number, whole));
  char fraction[8] = {'.'};
  for (int i = 6; i >= 1; i--) {
    fraction[i] = (char)('0' + micros % 10);
    micros /= 10;
  }
  emit_bytes(e, fraction, 7);
  emit_value_end(e);
}

void _pm_emitter_kv_str(pm_emitter_t *e, const char *key, const char *value) {
  emit_item(e, key, false);
  if (value == NULL) value = "";
  if (e->format == PM_STATS_JSON || !text_is_plain(value))
    emit_json_string(e, value);
  else
    emit_str(e, value);
  emit_value_end(e);
}
