/* error.c: fatal one-line messages and warnings. Everything is formatted by
 * hand into a stack buffer and written with one write(2): no stdio and no
 * allocation, since the heap may be the thing that is broken. */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "utf8.h"

/* Some programs close stderr on their way out (gnulib's close_stdout,
 * in every coreutils program, runs from atexit, before the report at
 * exit), and fd 2 may then be a file of theirs: the report goes to a copy
 * taken at start-up. But a program may also close every descriptor it did
 * not open (closefrom, close_range) and reuse the copy's number for a file
 * or socket of its own, so the copy is used only while it still refers to
 * the file it was taken of. */
static int stderr_copy = -1;
static pm_prim_file_id_t stderr_copy_file;
/* fd 2 was closed when the copy was to be taken: the program started
 * without stderr, and whatever it opens as fd 2 later is a file of its own
 * (a report at exit landed in its data). */
static bool stderr_absent;

void _pm_stderr_keep(void) {
  int copy = _pm_prim_dup_high(2);
  if (copy < 0) {
    stderr_absent = errno == EBADF;
    return;
  }
  if (_pm_prim_file_id(copy, &stderr_copy_file))
    stderr_copy = copy;
  else
    _pm_prim_close(copy);
}

/* A forked child reports to its own fd 2. The copy would keep the parent's
 * stderr open in a child that closed or redirected it, as daemon(3) does:
 * a shell reading the parent's stderr through a pipe then waited for the
 * child's end, not the parent's. */
void _pm_stderr_fork_child(void) {
  if (stderr_copy < 0) return;
  _pm_prim_close(stderr_copy);
  stderr_copy = -1;
}

int _pm_stderr_fd(void) {
  if (stderr_absent) return -1;
  pm_prim_file_id_t now;
  if (stderr_copy >= 0 && _pm_prim_file_id(stderr_copy, &now) &&
      now.device == stderr_copy_file.device && now.inode == stderr_copy_file.inode)
    return stderr_copy;
  return 2;
}

#define PM_MESSAGE_MAX 512

size_t _pm_format_hex(char *out, uintptr_t value) {
  char digits[2 * sizeof value];
  size_t n = 0;
  do {
    digits[n++] = "0123456789abcdef"[value & 15];
    value >>= 4;
  } while (value != 0);
  out[0] = '0';
  out[1] = 'x';
  for (size_t i = 0; i < n; i++)
    out[2 + i] = digits[n - 1 - i];
  return n + 2;
}

size_t _pm_format_u64(char *out, uint64_t value) {
  char digits[20];
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (size_t i = 0; i < n; i++)
    out[i] = digits[n - 1 - i];
  return n;
}

typedef struct line_s {
  char text[PM_MESSAGE_MAX];
  size_t len;
} line_t;

/* Control characters, which can only come from the environment (option
 * values, the stats file's path), go out as '?' (utf8.h). The last byte
 * stays free for the newline. */
static void line_append(line_t *line, const char *text) {
  line->len += _pm_text_mask_copy(line->text + line->len, sizeof line->text - line->len, text);
}

static void line_emit(line_t *line) {
  line->text[line->len++] = '\n';
  (void)_pm_prim_write(_pm_stderr_fd(), line->text, line->len);
}

void _pm_warn(const char *part1, const char *part2, const char *part3) {
  line_t line = {.len = 0};
  line_append(&line, "poolmalloc: ");
  line_append(&line, part1);
  line_append(&line, part2);
  line_append(&line, part3);
  line_emit(&line);
}

_Noreturn void _pm_fatal(const char *message) {
  _pm_warn(message, "", "");
  _pm_prim_abort();
}

_Noreturn void _pm_fatal_pointer(const char *func, const char *problem, const void *ptr) {
  char address[2 + 2 * sizeof(uintptr_t) + 1];
  address[_pm_format_hex(address, (uintptr_t)ptr)] = '\0';
  line_t line = {.len = 0};
  line_append(&line, "poolmalloc: ");
  line_append(&line, func);
  line_append(&line, "(): ");
  line_append(&line, problem);
  line_append(&line, " ");
  line_append(&line, address);
  line_emit(&line);
  _pm_prim_abort();
}
