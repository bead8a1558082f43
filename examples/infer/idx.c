/* idx.c: reads gzip'd IDX files with zlib and validates every field: magic
 * number (data type 0x08 = unsigned byte, dimension count), dimensions, and
 * the exact byte count (truncated or trailing data are both errors, inside
 * the IDX data or after the gzip data).
 *
 * IDX layout (LeCun's MNIST page): big-endian uint32 magic 0x000008NN where
 * NN is the number of dimensions, NN big-endian uint32 sizes, then the data.
 *
 * The header is untrusted: the shape is checked before any data is read, and
 * the data buffer grows as bytes arrive rather than being sized by the
 * header's claim, so a lying header costs an error, not a huge allocation. */
#include "idx.h"

#include "error.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FASHION_SIDE    28
#define IDX_FIRST_CHUNK ((size_t)1 << 20) /* first data buffer; doubles from there */

/* inflate is driven directly rather than through gzread: gzread silently
 * skips whatever follows the last gzip member, which must be an error here. */
typedef struct idx_stream_s {
  FILE *file;
  const char *path;
  int gzip;           /* 0: a plain IDX file, copied as is */
  int end;            /* no more data: end of file, or a gzip stream cut short */
  long long consumed; /* file bytes read so far, for messages */
  z_stream z;
  uint8_t in[1 << 16];
} idx_stream_t;

static uint32_t read_be32(const uint8_t *bytes) {
  return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
         (uint32_t)bytes[3];
}

/* The noun for one entry of dims[0], for messages. */
static const char *idx_entries(uint32_t magic) {
  return magic == IDX_MAGIC_UBYTE_3D ? "images" : magic == IDX_MAGIC_UBYTE_1D ? "labels" : "items";
}

/* Refills s->in when it is empty. Returns 1 with input available, 0 at the
 * end of the file, -1 on a read error (message in err). */
static int stream_fill(idx_stream_t *s, char *err, size_t err_size) {
  if (s->z.avail_in > 0) return 1;
  size_t got = fread(s->in, 1, sizeof s->in, s->file);
  if (got == 0) {
    if (ferror(s->file)) return error_format(err, err_size, s->path, "%s", strerror(errno));
    return 0;
  }
  s->z.next_in = s->in;
  s->z.avail_in = (uInt)got;
  s->consumed += (long long)got;
  return 1;
}

/* Opens path and tells gzip from plain IDX by gzip's magic bytes 1f 8b. */
static int stream_open(idx_stream_t *s, const char *path, char *err, size_t err_size) {
  memset(s, 0, sizeof *s);
  s->path = path;
  s->file = fopen(path, "rb");
  if (!s->file) return error_format(err, err_size, path, "%s", strerror(errno));
  int status = stream_fill(s, err, err_size);
  if (status < 0) return -1;
  s->gzip = s->z.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
  if (s->gzip && inflateInit2(&s->z, 15 + 16) != Z_OK) /* 15 + 16: gzip wrapper only */
    return error_format(err, err_size, path, "cannot start zlib");
  return 0;
}

static void stream_close(idx_stream_t *s) {
  if (s->gzip) inflateEnd(&s->z);
  if (s->file) fclose(s->file);
}

/* After a gzip member: the end of the file, or another member (gzip allows
 * several, concatenated), or trailing garbage. */
static int stream_member_end(idx_stream_t *s, char *err, size_t err_size) {
  int status = stream_fill(s, err, err_size);
  if (status <= 0) {
    s->end = 1;
    return status;
  }
  if (s->z.next_in[0] != 0x1f)
    return error_format(err, err_size, s->path, "trailing garbage after the gzip data at byte %lld",
                        s->consumed - (long long)s->z.avail_in);
  inflateReset(&s->z);
  return 0;
}

/* Reads up to size bytes; fewer only at the end of the data. A gzip stream
 * that ends early is not an error here: the caller reports the truncation.
 * Returns the bytes read, or -1 with a message in err. */
static long long stream_read(idx_stream_t *s, void *buffer, size_t size, char *err,
                             size_t err_size) {
  uint8_t *out = buffer;
  size_t done = 0;
  if (!s->gzip) { /* the bytes sniffed by stream_open come first */
    size_t take = s->z.avail_in < size ? s->z.avail_in : size;
    if (take > 0) {
      memcpy(out, s->z.next_in, take);
      s->z.next_in += take;
      s->z.avail_in -= (uInt)take;
    }
    done = take + fread(out + take, 1, size - take, s->file);
    if (done < size && ferror(s->file))
      return error_format(err, err_size, s->path, "%s", strerror(errno));
    return (long long)done;
  }
  while (done < size && !s->end) {
    int status = stream_fill(s, err, err_size);
    if (status < 0) return -1;
    if (status == 0) { /* the file ends inside a gzip member */
      s->end = 1;
      break;
    }
    size_t chunk = size - done > UINT_MAX ? UINT_MAX : size - done;
    s->z.next_out = out + done;
    s->z.avail_out = (uInt)chunk;
    int code = inflate(&s->z, Z_NO_FLUSH);
    done += chunk - s->z.avail_out;
    if (code == Z_STREAM_END) {
      if (stream_member_end(s, err, err_size) != 0) return -1;
      continue;
    }
    if (code == Z_MEM_ERROR) return error_format(err, err_size, s->path, "out of memory in zlib");
    if (code != Z_OK && code != Z_BUF_ERROR)
      return error_format(err, err_size, s->path, "corrupt gzip data (%s)",
                          s->z.msg ? s->z.msg : zError(code));
  }
  return (long long)done;
}

/* Reads and checks the header; item_dims, when not NULL, is the expected
 * shape of one entry (dims[1..]), checked before any data is read. */
static int idx_read_header(idx_stream_t *s, uint32_t magic, const uint32_t *item_dims,
                           idx_array_t *out, size_t *data_bytes, char *err, size_t err_size) {
  uint8_t header[4 + 4 * IDX_MAX_DIMS];
  size_t ndims = magic & 0xffu;
  size_t header_bytes = 4 + 4 * ndims;
  long long got = stream_read(s, header, 4, err, err_size);
  if (got < 0) return -1;
  if (got < 4)
    return error_format(err, err_size, s->path, "truncated IDX file (no header, %lld bytes)", got);
  uint32_t file_magic = read_be32(header);
  if (file_magic != magic)
    return error_format(err, err_size, s->path, "wrong magic number 0x%08x (expected 0x%08x)",
                        file_magic, magic);
  got = stream_read(s, header + 4, header_bytes - 4, err, err_size);
  if (got < 0) return -1;
  if ((size_t)got < header_bytes - 4)
    return error_format(err, err_size, s->path,
                        "truncated IDX header (expected %zu bytes, got %lld)", header_bytes,
                        got + 4);
  size_t total = 1;
  out->ndims = ndims;
  for (size_t d = 0; d < ndims; d++)
    out->dims[d] = read_be32(header + 4 + 4 * d);
  if (item_dims && ndims > 1 &&
      memcmp(out->dims + 1, item_dims, (ndims - 1) * sizeof *item_dims) != 0) {
    char got_shape[48] = "", want_shape[48] = "";
    for (size_t d = 1; d < ndims; d++) {
      size_t g = strlen(got_shape), w = strlen(want_shape);
      snprintf(got_shape + g, sizeof got_shape - g, d > 1 ? "x%u" : "%u", out->dims[d]);
      snprintf(want_shape + w, sizeof want_shape - w, d > 1 ? "x%u" : "%u", item_dims[d - 1]);
    }
    return error_format(err, err_size, s->path, "%s are %s, expected %s", idx_entries(magic),
                        got_shape, want_shape);
  }
  for (size_t d = 0; d < ndims; d++) {
    if (out->dims[d] == 0) return error_format(err, err_size, s->path, "dimension %zu is zero", d);
    if (total > SIZE_MAX / 2 / out->dims[d])
      return error_format(err, err_size, s->path, "dimensions too large");
    total *= out->dims[d];
  }
  *data_bytes = total;
  return 0;
}

/* Reads the data into out->data, growing it as bytes arrive up to the
 * header's claim plus one byte (the probe for trailing data). */
static int idx_read_data(idx_stream_t *s, size_t limit, idx_array_t *out, size_t *have, char *err,
                         size_t err_size) {
  size_t capacity = 0;
  *have = 0;
  for (;;) {
    if (*have == capacity) {
      if (capacity == limit) return 0;
      size_t next = capacity == 0 ? IDX_FIRST_CHUNK : capacity > limit / 2 ? limit : 2 * capacity;
      if (next > limit) next = limit;
      uint8_t *grown = realloc(out->data, next);
      if (!grown) return error_format(err, err_size, s->path, "out of memory for %zu bytes", next);
      out->data = grown;
      capacity = next;
    }
    long long got = stream_read(s, out->data + *have, capacity - *have, err, err_size);
    if (got < 0) return -1;
    *have += (size_t)got;
    if (*have < capacity) return 0; /* the end of the data */
  }
}

int idx_load(const char *path, uint32_t magic, const uint32_t *item_dims, idx_array_t *out,
             char *err, size_t err_size) {
  memset(out, 0, sizeof *out);
  if ((magic & 0xffu) == 0 || (magic & 0xffu) > IDX_MAX_DIMS)
    return error_format(err, err_size, path, "unsupported IDX rank %u", magic & 0xffu);
  idx_stream_t *s = malloc(sizeof *s);
  if (!s) return error_format(err, err_size, path, "out of memory");
  size_t data_bytes = 0, have = 0;
  int status = stream_open(s, path, err, err_size);
  if (status == 0) status = idx_read_header(s, magic, item_dims, out, &data_bytes, err, err_size);
  if (status == 0) status = idx_read_data(s, data_bytes + 1, out, &have, err, err_size);
  stream_close(s);
  free(s);
  size_t header_bytes = 4 + 4 * out->ndims;
  if (status == 0 && have < data_bytes)
    status = error_format(err, err_size, path,
                          "truncated IDX file: the header claims %u %s (%zu bytes); the file ends "
                          "after %zu bytes",
                          out->dims[0], idx_entries(magic), header_bytes + data_bytes,
                          header_bytes + have);
  else if (status == 0 && have > data_bytes)
    status = error_format(err, err_size, path, "trailing data after %zu bytes of IDX file",
                          header_bytes + data_bytes);
  if (status != 0) idx_free(out);
  return status;
}

void idx_free(idx_array_t *array) {
  free(array->data);
  array->data = NULL;
}

/* The image shape was checked by idx_load, right after the header. */
static int dataset_check(const dataset_t *set, const char *labels_path, char *err,
                         size_t err_size) {
  const idx_array_t *images = &set->images_file, *labels = &set->labels_file;
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
  static const uint32_t image_dims[] = {FASHION_SIDE, FASHION_SIDE};
  if (idx_load(images_path, IDX_MAGIC_UBYTE_3D, image_dims, &out->images_file, err, err_size) != 0)
    return -1;
  if (idx_load(labels_path, IDX_MAGIC_UBYTE_1D, NULL, &out->labels_file, err, err_size) != 0 ||
      dataset_check(out, labels_path, err, err_size) != 0) {
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
