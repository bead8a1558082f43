/* error.c: formatting of infer's one-line error messages (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ELLIPSIS "..."

int error_format(char *err, size_t err_size, const char *subject, const char *format, ...) {
  va_list args, copy;
  if (err_size == 0) return -1;
  va_start(args, format);
  va_copy(copy, args);
  int needed = vsnprintf(NULL, 0, format, copy);
  va_end(copy);
  size_t message_len = needed < 0 ? 0 : (size_t)needed;
  /* The problem is the point of the line, so it gets its room first: a
   * subject too long for the rest (a deep --data path) keeps only its end,
   * the file name, behind "...". */
  size_t subject_len = strlen(subject), room = 0;
  if (err_size > message_len + sizeof ": ") room = err_size - message_len - sizeof ": ";
  const char *shown = subject, *mark = "";
  if (subject_len > room) {
    size_t keep = room > sizeof ELLIPSIS - 1 ? room - (sizeof ELLIPSIS - 1) : 0;
    shown = subject + subject_len - keep;
    /* Start on a character, not inside a UTF-8 sequence. */
    while (*shown && ((unsigned char)*shown & 0xc0) == 0x80)
      shown++;
    mark = ELLIPSIS;
  }
  int used = snprintf(err, err_size, "%s%s: ", mark, shown);
  if (used >= 0 && (size_t)used < err_size)
    vsnprintf(err + used, err_size - (size_t)used, format, args);
  va_end(args);
  return -1;
}
