/* weights.c: loads the "PMW1" weights file (see weights.h) with explicit
 * little-endian decoding, so the file means the same on any host. */
#include "weights.h"

#include "error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_u32(FILE *file, uint32_t *out) {
  uint8_t bytes[4];
  if (fread(bytes, 1, 4, file) != 4) return -1;
  *out = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
         (uint32_t)bytes[3] << 24;
  return 0;
}

/* Returns 0, -1 for a short read, or -2 with *bad set for a NaN or an
 * infinity: those would only yield a meaningless accuracy, so the file is
 * refused rather than run. */
static int read_floats(FILE *file, float *out, size_t count, size_t *bad) {
  for (size_t i = 0; i < count; i++) {
    uint32_t bits;
    if (read_u32(file, &bits) != 0) return -1;
    memcpy(&out[i], &bits, sizeof bits);
    if (!isfinite(out[i])) {
      *bad = i;
      return -2;
    }
  }
  return 0;
}

/* A short read is the end of the file or a read error (EISDIR for a
 * directory, EIO): name the error rather than call the file truncated. */
static int read_error(FILE *file, const char *path, char *err, size_t err_size) {
  if (!ferror(file)) return 0;
  return error_format(err, err_size, path, "%s", strerror(errno));
}

static void format_shape(char *buffer, size_t size, size_t ndim, const uint32_t *dims) {
  size_t used = 0;
  buffer[0] = '\0';
  for (size_t d = 0; d < ndim && used < size; d++) {
    int n = snprintf(buffer + used, size - used, d ? "x%u" : "%u", dims[d]);
    if (n < 0) return;
    used += (size_t)n;
  }
}

/* Reads one tensor header and checks it against spec. */
static int read_tensor_header(FILE *file, const char *path, size_t index,
                              const weights_spec_t *spec, char *err, size_t err_size) {
  uint32_t ndim, dims[WEIGHTS_MAX_DIMS];
  if (read_u32(file, &ndim) != 0)
    return read_error(file, path, err, err_size)
               ? -1
               : error_format(err, err_size, path, "truncated weights file at tensor %zu (%s)",
                              index, spec->name);
  if (ndim == 0 || ndim > WEIGHTS_MAX_DIMS)
    return error_format(err, err_size, path, "tensor %zu (%s) has %u dimensions", index, spec->name,
                        ndim);
  for (uint32_t d = 0; d < ndim; d++)
    if (read_u32(file, &dims[d]) != 0)
      return read_error(file, path, err, err_size)
                 ? -1
                 : error_format(err, err_size, path, "truncated weights file at tensor %zu (%s)",
                                index, spec->name);
  if (ndim != spec->ndim || memcmp(dims, spec->dims, ndim * sizeof dims[0]) != 0) {
    char got[64], want[64];
    format_shape(got, sizeof got, ndim, dims);
    format_shape(want, sizeof want, spec->ndim, spec->dims);
    return error_format(err, err_size, path, "tensor %zu (%s) has shape %s, expected %s", index,
                        spec->name, got, want);
  }
  return 0;
}

static int weights_read(FILE *file, const char *path, const weights_spec_t *spec, size_t count,
                        float **tensors, char *err, size_t err_size) {
  char magic[4];
  uint32_t file_count;
  if (fread(magic, 1, 4, file) != 4 || read_u32(file, &file_count) != 0)
    return read_error(file, path, err, err_size)
               ? -1
               : error_format(err, err_size, path, "truncated weights file (no header)");
  if (memcmp(magic, WEIGHTS_MAGIC, 4) != 0)
    return error_format(err, err_size, path, "not a weights file (magic is not \"%s\")",
                        WEIGHTS_MAGIC);
  if (file_count != count)
    return error_format(err, err_size, path, "%u tensors, expected %zu", file_count, count);
  for (size_t t = 0; t < count; t++) {
    if (read_tensor_header(file, path, t, &spec[t], err, err_size) != 0) return -1;
    size_t floats = 1;
    for (size_t d = 0; d < spec[t].ndim; d++)
      floats *= spec[t].dims[d];
    tensors[t] = malloc(floats * sizeof(float));
    if (!tensors[t]) return error_format(err, err_size, path, "out of memory");
    size_t bad = 0;
    int status = read_floats(file, tensors[t], floats, &bad);
    if (status == -2)
      return error_format(err, err_size, path, "tensor %zu (%s) value %zu is not finite (%g)", t,
                          spec[t].name, bad, (double)tensors[t][bad]);
    if (status != 0)
      return read_error(file, path, err, err_size)
                 ? -1
                 : error_format(err, err_size, path, "truncated weights file in tensor %zu (%s)", t,
                                spec[t].name);
  }
  if (fgetc(file) != EOF)
    return error_format(err, err_size, path, "trailing bytes after the last tensor");
  if (read_error(file, path, err, err_size)) return -1;
  return 0;
}

int weights_load(const char *path, const weights_spec_t *spec, size_t count, float **tensors,
                 char *err, size_t err_size) {
  for (size_t t = 0; t < count; t++)
    tensors[t] = NULL;
  FILE *file = fopen(path, "rb");
  if (!file) return error_format(err, err_size, path, "%s", strerror(errno));
  int status = weights_read(file, path, spec, count, tensors, err, err_size);
  fclose(file);
  if (status != 0) {
    for (size_t t = 0; t < count; t++) {
      free(tensors[t]);
      tensors[t] = NULL;
    }
  }
  return status;
}
