/* error.h: one-line error messages for infer. Loaders write "PATH: problem"
 * into a caller's buffer and return -1; main prints it once and exits 2. */
#ifndef INFER_ERROR_H
#define INFER_ERROR_H

#include <stddef.h>

/* Formats "subject: message" into err and returns -1 (for `return fail(...)`).
 * When both do not fit, the subject is cut to "...END" so the message does. */
int error_format(char *err, size_t err_size, const char *subject, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* INFER_ERROR_H */
