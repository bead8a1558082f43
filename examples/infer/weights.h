/* weights.h: reader for the weights file written by train.py.
 *
 * Format (little-endian): 4-byte magic "PMW1", uint32 tensor count, then per
 * tensor uint32 ndim (1..4), uint32 dims[ndim], float32 data[prod(dims)].
 * The caller states the shapes it expects; any difference, a short file or
 * trailing bytes is an error naming the file and the tensor. */
#ifndef INFER_WEIGHTS_H
#define INFER_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#define WEIGHTS_MAGIC    "PMW1"
#define WEIGHTS_MAX_DIMS 4

typedef struct weights_spec_s {
  const char *name;
  size_t ndim;
  uint32_t dims[WEIGHTS_MAX_DIMS];
} weights_spec_t;

/* Reads path into tensors[i] (each malloc'd, prod(dims) floats) for the
 * count tensors of spec. Returns 0, or -1 with "PATH: problem" in err (and
 * nothing left allocated). */
int weights_load(const char *path, const weights_spec_t *spec, size_t count, float **tensors,
                 char *err, size_t err_size);

#endif /* INFER_WEIGHTS_H */
