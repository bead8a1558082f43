/* error.c: formatting of infer's one-line error messages (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int error_format(char *err, size_t err_size, const char *subject, const char *format, ...) {
  va_list args;
  int used = snprintf(err, err_size, "%s: ", subject);
  if (used < 0 || (size_t)used >= err_size) return -1;
  va_start(args, format);
  vsnprintf(err + used, err_size - (size_t)used, format, args);
  va_end(args);
  return -1;
}
