/* size_class.c: the small size classes.
 *
 * 16-byte steps up to 128 bytes, then eight classes per doubling up to
 * PM_SMALL_MAX: a request above 128 bytes wastes at most 1/9 of its block,
 * one of 65 to 128 bytes at most 15/80, a smaller one at most 15 bytes.
 * Every power of two is a class, which aligned allocation relies on. Sizes
 * up to PM_DIRECT_MAX map to their class through a table the fast path
 * indexes. */
#include "internal.h"

uint8_t _pm_class_table[PM_DIRECT_MAX / PM_ALIGNMENT + 1];
uint32_t _pm_class_size[PM_CLASS_COUNT];

static size_t class_of_computed(size_t size) {
  if (size <= 128) return size == 0 ? 0 : (size - 1) / PM_ALIGNMENT;
  return _pm_class_of_spaced(size);
}

/* One loop with the formula inside: split in two, the first loop compiles
 * to stores of vector constants, and reading those at init would page in
 * the library's read-only data segment (see options.c) for nothing. */
static uint32_t class_block_size(size_t c) {
  if (c < 8) return (uint32_t)((c + 1) * PM_ALIGNMENT);
  size_t doubling = (c - 8) / 8, step = (c - 8) % 8;
  return (uint32_t)((9 + step) << (doubling + 4));
}

void _pm_size_class_init(void) {
  for (size_t c = 0; c < PM_CLASS_COUNT; c++)
    _pm_class_size[c] = class_block_size(c);
  for (size_t i = 0; i <= PM_DIRECT_MAX / PM_ALIGNMENT; i++)
    _pm_class_table[i] = (uint8_t)class_of_computed(i * PM_ALIGNMENT);
}
