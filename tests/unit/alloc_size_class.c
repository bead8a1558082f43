/* alloc_size_class.c: the size classes map every small size to the smallest
 * block that holds it, grow monotonically, and waste at most 1/9 of a block
 * above 128 bytes, 25% above 64 bytes and 15 bytes below. */
#include "alloc_test.h"

TestSuite(size_class, .init = _pm_size_class_init, .timeout = 30);

Test(size_class, every_small_size_fits_its_class) {
  for (size_t size = 0; size <= PM_SMALL_MAX; size++) {
    size_t c = _pm_class_of(size);
    cr_assert_lt(c, PM_CLASS_COUNT, "size %zu maps past the last class", size);
    cr_assert_geq(_pm_class_size[c], size, "size %zu does not fit class %zu", size, c);
    if (c > 0) cr_assert_lt(_pm_class_size[c - 1], size, "size %zu fits a smaller class", size);
  }
}

Test(size_class, waste_is_bounded) {
  for (size_t size = 1; size <= PM_SMALL_MAX; size++) {
    size_t block = _pm_class_size[_pm_class_of(size)];
    if (size > 128)
      cr_assert_leq((block - size) * 9, block, "size %zu wastes %zu of %zu", size, block - size,
                    block);
    else if (size > 64)
      cr_assert_leq((block - size) * 4, block, "size %zu wastes %zu of %zu", size, block - size,
                    block);
    else
      cr_assert_lt(block - size, PM_ALIGNMENT, "size %zu wastes too much", size);
  }
}

Test(size_class, classes_grow_and_stay_aligned) {
  cr_assert_eq(_pm_class_size[0], 16);
  cr_assert_eq(_pm_class_size[PM_CLASS_COUNT - 1], PM_SMALL_MAX);
  for (size_t c = 1; c < PM_CLASS_COUNT; c++) {
    cr_assert_gt(_pm_class_size[c], _pm_class_size[c - 1], "class %zu does not grow", c);
    cr_assert_eq(_pm_class_size[c] % PM_ALIGNMENT, 0, "class %zu is misaligned", c);
  }
}

Test(size_class, direct_table_matches_computation) {
  for (size_t size = 0; size <= PM_DIRECT_MAX; size++) {
    size_t c = _pm_class_table[(size + PM_ALIGNMENT - 1) / PM_ALIGNMENT];
    cr_assert_geq(_pm_class_size[c], size, "table entry for %zu too small", size);
    cr_assert(c == 0 || _pm_class_size[c - 1] < size, "table entry for %zu too large", size);
  }
  cr_assert_eq(_pm_class_size[_pm_class_of(129)], 144);
  cr_assert_eq(_pm_class_size[_pm_class_of(1025)], 1152);
  cr_assert_eq(_pm_class_size[_pm_class_of(4095)], 4096);
  cr_assert_eq(_pm_class_size[_pm_class_of(16384)], 16384);
}
