/* idx.c: reads gzip'd IDX files with zlib and validates every field: magic
 * number (data type 0x08 = unsigned byte, dimension count), dimensions, and
 * the exact byte count (truncated or trailing data are both errors).
 *
 * IDX layout (LeCun's MNIST page): big-endian uint32 magic 0x000008NN where
 * NN is the number of dimensions, NN big-endian uint32 sizes, then the data. */
#include "idx.h"

#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FASHION_SIDE 28

static uint32_t read_be32(const uint8_t *bytes) {
  return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
         (uint32_t)bytes[3];
}

/* Reads up to size bytes; gzread takes an unsigned count, so large reads go
 * in chunks. Returns the bytes read, or -1 on a zlib error (message in err). */
static long long gz_read_fully(gzFile file, void *buffer, size_t size, const char *path, char *err,
                               size_t err_size) {
  size_t done = 0;
  while (done < size) {
    size_t chunk = size - done > (1u << 30) ? (1u << 30) : size - done;
    int got = gzread(file, (uint8_t *)buffer + done, (unsigned)chunk);
    if (got < 0) {
      int code;
      const char *message = gzerror(file, &code);
      error_format(err, err_size, path, "corrupt gzip data (%s)", message);
      return -1;
    }
    if (got == 0) break;
    done += (size_t)got;
  }
  return (long long)done;
}

/* A stream that ends early reports Z_BUF_ERROR ("unexpected end of file"):
 * that is a truncated file, not a read error, so it is reported as such. */
static int gz_truncated_or_error(gzFile file) {
  int code;
  gzerror(file, &code);
  return code == Z_OK || code == Z_BUF_ERROR ? 0 : -1;
}

static int idx_read_header(gzFile file, const char *path, uint32_t magic, idx_array_t *out,
                           size_t *data_bytes, char *err, size_t err_size) {
  uint8_t header[4 + 4 * IDX_MAX_DIMS];
  size_t ndims = magic & 0xffu;
  size_t header_bytes = 4 + 4 * ndims;
  long long got = gz_read_fully(file, header, 4, path, err, err_size);
  if (got < 0) return -1;
  if (got < 4)
    return error_format(err, err_size, path, "truncated IDX file (no header, %lld bytes)", got);
  uint32_t file_magic = read_be32(header);
  if (file_magic != magic)
    return error_format(err, err_size, path, "wrong magic number 0x%08x (expected 0x%08x)",
                        file_magic, magic);
  got = gz_read_fully(file, header + 4, header_bytes - 4, path, err, err_size);
  if (got < 0) return -1;
  if ((size_t)got < header_bytes - 4)
    return error_format(err, err_size, path, "truncated IDX header (expected %zu bytes, got %lld)",
                        header_bytes, got + 4);
  size_t total = 1;
  out->ndims = ndims;
  for (size_t d = 0; d < ndims; d++) {
    out->dims[d] = read_be32(header + 4 + 4 * d);
    if (out->dims[d] == 0) return error_format(err, err_size, path, "dimension %zu is zero", d);
    if (total > SIZE_MAX / 2 / out->dims[d])
      return error_format(err, err_size, path, "dimensions too large");
    total *= out->dims[d];
  }
  *data_bytes = total;
  return 0;
}

int idx_load(const char *path, uint32_t magic, idx_array_t *out, char *err, size_t err_size) {
  memset(out, 0, sizeof *out);
  if ((magic & 0xffu) == 0 || (magic & 0xffu) > IDX_MAX_DIMS)
    return error_format(err, err_size, path, "unsupported IDX rank %u", magic & 0xffu);
  errno = 0;
  gzFile file = gzopen(path, "rb");
  if (!file)
    return error_format(err, err_size, path, "%s", errno ? strerror(errno) : "cannot open");
  size_t data_bytes = 0;
  if (idx_read_header(file, path, magic, out, &data_bytes, err, err_size) != 0) {
    gzclose(file);
    return -1;
  }
  size_t header_bytes = 4 + 4 * out->ndims;
  out->data = malloc(data_bytes + 1); /* +1: probes for trailing bytes */
  if (!out->data) {
    gzclose(file);
    return error_format(err, err_size, path, "out of memory for %zu bytes", data_bytes);
  }
  long long got = gz_read_fully(file, out->data, data_bytes + 1, path, err, err_size);
  int stream_ok = got >= 0 && gz_truncated_or_error(file) == 0;
  gzclose(file);
  if (got < 0 || !stream_ok) {
    if (got >= 0) error_format(err, err_size, path, "corrupt gzip data");
    idx_free(out);
    return -1;
  }
  if ((size_t)got != data_bytes) {
    if ((size_t)got < data_bytes)
      error_format(err, err_size, path, "truncated IDX file (expected %zu bytes, got %zu)",
                   header_bytes + data_bytes, header_bytes + (size_t)got);
    else
      error_format(err, err_size, path, "trailing data after %zu bytes of IDX file",
                   header_bytes + data_bytes);
    idx_free(out);
    return -1;
  }
  return 0;
}

void idx_free(idx_array_t *array) {
  free(array->data);
  array->data = NULL;
}

static int dataset_check(const dataset_t *set, const char *images_path, const char *labels_path,
                         char *err, size_t err_size) {
  const idx_array_t *images = &set->images_file, *labels = &set->labels_file;
  if (images->dims[1] != FASHION_SIDE || images->dims[2] != FASHION_SIDE)
    return error_format(err, err_size, images_path, "images are %ux%u, expected %dx%d",
                        images->dims[1], images->dims[2], FASHION_SIDE, FASHION_SIDE);
  if (labels->dims[0] != images->dims[0])
    return error_format(err, err_size, labels_path, "%u labels for %u images", labels->dims[0],
                        images->dims[0]);
  for (size_t i = 0; i < labels->dims[0]; i++)
    if (labels->data[i] >= DATASET_CLASSES)
      return error_format(err, err_size, labels_path, "label %u of image %zu is not a class 0..%d",
                          labels->data[i], i, DATASET_CLASSES - 1);
  return 0;
}

int dataset_load_test(const char *dir, dataset_t *out, char *err, size_t err_size) {
  char images_path[4096], labels_path[4096];
  memset(out, 0, sizeof *out);
  int n = snprintf(images_path, sizeof images_path, "%s/t10k-images-idx3-ubyte.gz", dir);
  int m = snprintf(labels_path, sizeof labels_path, "%s/t10k-labels-idx1-ubyte.gz", dir);
  if (n < 0 || (size_t)n >= sizeof images_path || m < 0 || (size_t)m >= sizeof labels_path)
    return error_format(err, err_size, dir, "path too long");
  if (idx_load(images_path, IDX_MAGIC_UBYTE_3D, &out->images_file, err, err_size) != 0) return -1;
  if (idx_load(labels_path, IDX_MAGIC_UBYTE_1D, &out->labels_file, err, err_size) != 0 ||
      dataset_check(out, images_path, labels_path, err, err_size) != 0) {
    dataset_free(out);
    return -1;
  }
  out->count = out->images_file.dims[0];
  out->height = out->images_file.dims[1];
  out->width = out->images_file.dims[2];
  out->pixels = out->images_file.data;
  out->labels = out->labels_file.data;
  return 0;
}

void dataset_free(dataset_t *set) {
  idx_free(&set->images_file);
  idx_free(&set->labels_file);
  set->pixels = set->labels = NULL;
}
