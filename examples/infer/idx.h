/* idx.h: reader for gzip'd IDX files (the MNIST / Fashion-MNIST format) and
 * the Fashion-MNIST test set built on it.
 *
 * Errors come back as one line "PATH: problem" in a caller's buffer; the
 * caller prefixes the program name and exits. */
#ifndef INFER_IDX_H
#define INFER_IDX_H

#include <stddef.h>
#include <stdint.h>

#define IDX_MAGIC_UBYTE_1D 0x00000801u /* labels */
#define IDX_MAGIC_UBYTE_3D 0x00000803u /* images */
#define IDX_MAX_DIMS       3

typedef struct idx_array_s {
  uint8_t *data; /* malloc'd, dims[0] * ... * dims[ndims-1] bytes */
  size_t ndims;
  uint32_t dims[IDX_MAX_DIMS];
} idx_array_t;

/* Reads a whole IDX file (gzip'd or plain) whose magic must equal magic.
 * item_dims, unless NULL, is the shape every entry must have (dims[1] on),
 * checked as soon as the header is read. Returns 0, or -1 with a message in
 * err. */
int idx_load(const char *path, uint32_t magic, const uint32_t *item_dims, idx_array_t *out,
             char *err, size_t err_size);
void idx_free(idx_array_t *array);

typedef struct dataset_s {
  size_t count; /* images */
  size_t height, width;
  uint8_t *pixels; /* count x height x width, row-major */
  uint8_t *labels; /* count, each < DATASET_CLASSES */
  idx_array_t images_file, labels_file;
} dataset_t;

#define DATASET_CLASSES 10

/* Loads DIR/t10k-images-idx3-ubyte.gz and DIR/t10k-labels-idx1-ubyte.gz and
 * checks they agree: 28x28 images, one label per image, labels 0..9. */
int dataset_load_test(const char *dir, dataset_t *out, char *err, size_t err_size);
void dataset_free(dataset_t *set);

#endif /* INFER_IDX_H */
