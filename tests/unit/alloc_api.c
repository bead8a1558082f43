/* alloc_api.c: the pm_* entry points: alignment, sizes, overflow, realloc
 * semantics, aligned allocation, the thread cache and the large and huge
 * paths. */
#include <malloc.h>
#include <sys/resource.h>

#include "alloc_test.h"

TestSuite(alloc_api, .timeout = 60);

Test(alloc_api, results_are_aligned_and_usable) {
  static const size_t sizes[] = {0,
                                 1,
                                 15,
                                 16,
                                 17,
                                 100,
                                 1000,
                                 4096,
                                 16384,
                                 16385,
                                 100000,
                                 (size_t)1 << 20,
                                 ((size_t)1 << 20) + 1,
                                 (size_t)5 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    uint8_t *p = pm_malloc(sizes[i]);
    cr_assert_not_null(p, "malloc(%zu) failed", sizes[i]);
    cr_assert_eq((uintptr_t)p % 16, 0, "malloc(%zu) misaligned", sizes[i]);
    size_t usable = pm_usable_size(p);
    cr_assert_geq(usable, sizes[i], "usable %zu < %zu", usable, sizes[i]);
    memset(p, 0xab, usable);
    pm_free(p);
  }
}

Test(alloc_api, calloc_zeroes_and_checks_overflow) {
  for (int round = 0; round < 2; round++) { /* the second round reuses dirty memory */
    uint8_t *small = pm_calloc(10, 100);
    uint8_t *large = pm_calloc(1, 200000);
    uint8_t *huge = pm_calloc(1, PM_TEST_HUGE_SIZE);
    for (size_t i = 0; i < 1000; i++)
      cr_assert_eq(small[i], 0);
    for (size_t i = 0; i < 200000; i++)
      cr_assert_eq(large[i], 0);
    for (size_t i = 0; i < PM_TEST_HUGE_SIZE; i += 4093)
      cr_assert_eq(huge[i], 0);
    memset(small, 1, 1000);
    memset(large, 1, 200000);
    memset(huge, 1, PM_TEST_HUGE_SIZE);
    pm_free(small);
    pm_free(large);
    pm_free(huge);
  }
  errno = 0;
  cr_assert_null(pm_calloc(SIZE_MAX / 2, 3));
  cr_assert_eq(errno, ENOMEM);
  errno = 0;
  cr_assert_null(pm_reallocarray(NULL, SIZE_MAX / 2, 3));
  cr_assert_eq(errno, ENOMEM);
  errno = 0;
  cr_assert_null(pm_malloc(SIZE_MAX - 100));
  cr_assert_eq(errno, ENOMEM);
}

Test(alloc_api, realloc_follows_glibc) {
  char *p = pm_realloc(NULL, 10);
  cr_assert_not_null(p);
  strcpy(p, "poolmalloc");
  p = pm_realloc(p, 100000); /* small to large keeps the contents */
  cr_assert_str_eq(p, "poolmalloc");
  p = pm_realloc(p, 5u << 20); /* large to huge */
  cr_assert_str_eq(p, "poolmalloc");
  p = pm_realloc(p, 20);
  cr_assert_str_eq(p, "poolmalloc");
  cr_assert_geq(pm_usable_size(p), 20);
  cr_assert_null(pm_realloc(p, 0), "realloc(p, 0) frees and returns NULL");
}

Test(alloc_api, large_realloc_grows_in_place_when_room) {
  uint8_t *p = pm_malloc(40000);
  uint8_t *q = pm_realloc(p, 30000); /* shrink: same address */
  cr_assert_eq(q, p);
  cr_assert_geq(pm_usable_size(q), 30000);
  cr_assert_lt(pm_usable_size(q), 40000);
  pm_free(q);
}

Test(alloc_api, the_block_freed_last_is_reused_first) {
  void *warm[4];
  for (int i = 0; i < 4; i++)
    warm[i] = pm_malloc(40);
  void *spare = pm_malloc(40); /* the slab still has blocks after it */
  for (int i = 0; i < 4; i++)
    pm_free(warm[i]);
  for (int i = 3; i >= 0; i--)
    cr_assert_eq(pm_malloc(40), warm[i], "LIFO: block %d, still in the cache, comes back", i);
  for (int i = 0; i < 4; i++)
    pm_free(warm[i]);
  pm_free(spare);
}

static bool in_own_mapping(const void *p) {
  return _pm_registry_lookup(p)->kind == PM_SEGMENT_HUGE;
}

/* Whether the page after a large block is in use (or past its segment),
 * so that the block cannot grow in place. */
static bool page_after_is_taken(uint8_t *block, size_t usable) {
  pm_segment_t *segment = _pm_registry_lookup(block);
  uint8_t *after = block + usable;
  if (after >= (uint8_t *)segment + PM_SEGMENT_SIZE) return true;
  return pm_span_get(_pm_span_of(segment, after), kind) != PM_SPAN_FREE;
}

Test(alloc_api, growing_realloc_moves_a_run_to_a_mapping_once) {
  /* p fills a free run between two live blocks exactly (300000 bytes are
   * 74 pages), so it cannot grow in place. */
  void *fences[2];
  uint8_t *room = pm_test_free_run_between(74, 8, fences);
  uint8_t *p = pm_malloc(300000);
  cr_assert_eq(p, room, "the block takes the free run");
  size_t usable = pm_usable_size(p);
  cr_assert(page_after_is_taken(p, usable), "a run right after the block");
  for (size_t i = 0; i < usable; i++)
    p[i] = (uint8_t)(i * 7);
  size_t length = usable;
  uint64_t mappings_before = _pm_pool.huge_allocations;
  p = pm_realloc(p, length + 1000);
  cr_assert(in_own_mapping(p), "a run that must move past 256 KiB gets a mapping");
  /* Growing on by appends resizes that mapping: one below PM_LARGE_MAX
   * was once replaced (and copied) at every step. */
  for (length += 1000; length < ((size_t)2 << 20); length += 3000) {
    p = pm_realloc(p, length + 3000);
    cr_assert(in_own_mapping(p), "still a mapping at %zu bytes", length + 3000);
  }
  cr_assert_eq(_pm_pool.huge_allocations - mappings_before, 1,
               "one mapping made, then resized (mremap) rather than replaced");
  for (size_t i = 0; i < usable; i++)
    cr_assert_eq(p[i], (uint8_t)(i * 7), "byte %zu kept", i);
  pm_free(p);
  pm_free(fences[0]);
  pm_free(fences[1]);
}

/* A huge block of size bytes, filled with 0x6b, that cannot grow where it
 * is, between two inaccessible pages taken here: the one after its
 * mapping, which ends where the block does, and the one before it. A page
 * another mapping (a thread's stack) holds already is as good a fence.
 * The fences are unmapped by huge_block_unfence. */
static uint8_t *huge_block_fenced(size_t size, void *fences[2]) {
  uint8_t *p = pm_malloc(size);
  cr_assert_not_null(p);
  memset(p, 0x6b, size);
  uint8_t *at[2] = {p + size, p - PM_HUGE_OFFSET - PM_PAGE_SIZE};
  for (int i = 0; i < 2; i++) {
    fences[i] = mmap(at[i], PM_PAGE_SIZE, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    cr_assert(fences[i] == (void *)at[i] || (fences[i] == MAP_FAILED && errno == EEXIST),
              "the page at %p is ours or taken (%p)", (void *)at[i], fences[i]);
  }
  return p;
}

static void huge_block_unfence(void *fences[2]) {
  for (int i = 0; i < 2; i++)
    if (fences[i] != MAP_FAILED) munmap(fences[i], PM_PAGE_SIZE);
}

/* A huge block that cannot grow where it is moves (mremap): the failed try
 * in place is the library's business, not errno's. */
Test(alloc_api, a_huge_realloc_that_moves_leaves_errno_alone) {
  size_t size = (size_t)16 << 20;
  void *fences[2];
  uint8_t *p = huge_block_fenced(size, fences);
  errno = 0;
  uint8_t *moved = pm_realloc(p, 2 * size);
  cr_assert_not_null(moved);
  cr_assert_neq(moved, p, "it had to move");
  cr_assert_eq(errno, 0, "errno untouched by a realloc that succeeded (%d)", errno);
  cr_assert_eq(moved[size - 1], 0x6b, "contents kept");
  pm_free(moved);
  huge_block_unfence(fences);
}

/* The pages a move added to a huge block are written through here. Under
 * memcheck (make check-valgrind) each of those writes was reported invalid
 * until the OS layer declared the pages: valgrind 3.19 gave them the
 * permissions of the hole the move left (src/prim_linux.c), which the
 * fences keep from merging with a neighbour. Natively: the whole block is
 * writable and the old part kept. */
Test(alloc_api, a_huge_block_that_realloc_moved_is_writable_past_its_old_size) {
  size_t size = (size_t)12 << 20;
  void *fences[2];
  uint8_t *p = huge_block_fenced(size, fences);
  uint8_t *moved = pm_realloc(p, 3 * size);
  cr_assert_not_null(moved);
  cr_assert_neq(moved, p, "it had to move");
  memset(moved + size, 0x2c, 2 * size);
  for (size_t i = 0; i < 3 * size; i += PM_PAGE_SIZE / 2)
    cr_assert_eq(moved[i], i < size ? 0x6b : 0x2c, "byte %zu", i);
  pm_free(moved);
  huge_block_unfence(fences);
}

/* A huge request the OS refuses a mapping for, served from a segment's
 * free pages instead: the refusal's ENOMEM does not show. */
Test(alloc_api, a_huge_block_from_free_pages_leaves_errno_alone) {
  size_t half = (size_t)5 << 20; /* two large blocks side by side, freed: 10 MiB free */
  void *first = pm_malloc(half), *second = pm_malloc(half);
  cr_assert(first != NULL && second != NULL);
  pm_free(first);
  pm_free(second);
  _pm_prim_fail_maps_after(1); /* this one mapping succeeds, every later one fails */
  void *spent = _pm_prim_map_aligned(PM_PAGE_SIZE, PM_PAGE_SIZE);
  errno = 0;
  void *huge = pm_malloc((size_t)9 << 20);
  int error = errno;
  _pm_prim_fail_maps_after(0);
  _pm_prim_unmap(spent, PM_PAGE_SIZE);
  cr_assert_not_null(huge, "served from the free pages");
  cr_assert_eq(_pm_span_segment_lookup(huge), _pm_span_segment_lookup(first),
               "in the segment that held the large blocks");
  cr_assert_eq(error, 0, "errno untouched by a malloc that succeeded (%d)", error);
  pm_free(huge);
}

Test(alloc_api, aligned_allocations) {
  for (size_t alignment = 16; alignment <= ((size_t)4 << 20); alignment <<= 1) {
    size_t sizes[] = {1, 100, alignment, 3 * alignment + 5};
    for (size_t i = 0; i < 4; i++) {
      uint8_t *p = pm_aligned_alloc(alignment, sizes[i]);
      cr_assert_not_null(p, "aligned_alloc(%zu, %zu)", alignment, sizes[i]);
      cr_assert_eq((uintptr_t)p % alignment, 0, "aligned_alloc(%zu, %zu) = %p", alignment, sizes[i],
                   (void *)p);
      cr_assert_geq(pm_usable_size(p), sizes[i]);
      memset(p, 1, sizes[i]);
      pm_free(p);
    }
  }
  void *p = pm_aligned_alloc(4096, 100);
  cr_assert_geq(pm_usable_size(p), 100);
  pm_free_aligned_sized(p, 4096, 100);
}

/* Found by fuzz_alloc: a zero-byte request with a large alignment made a
 * zero-page run, whose free crashed or reported a double free. */
Test(alloc_api, zero_bytes_at_large_alignments) {
  static const size_t alignments[] = {8192, 65536, (size_t)1 << 20, (size_t)4 << 20};
  for (int round = 0; round < 2; round++)
    for (size_t i = 0; i < sizeof alignments / sizeof *alignments; i++) {
      void *p = pm_aligned_alloc(alignments[i], 0);
      cr_assert_not_null(p, "aligned_alloc(%zu, 0)", alignments[i]);
      cr_assert_eq((uintptr_t)p % alignments[i], 0);
      cr_assert_gt(pm_usable_size(p), 0, "aligned_alloc(%zu, 0) has no usable byte", alignments[i]);
      pm_free(p);
    }
}

Test(alloc_api, alignment_errors) {
  void *out = (void *)1;
  cr_assert_eq(pm_posix_memalign(&out, 24, 10), EINVAL);
  cr_assert_eq(pm_posix_memalign(&out, 4, 10), EINVAL, "less than sizeof(void *)");
  cr_assert_eq(out, (void *)1, "out untouched on error");
  cr_assert_eq(pm_posix_memalign(&out, 64, 10), 0);
  cr_assert_eq((uintptr_t)out % 64, 0);
  pm_free(out);
  errno = 0;
  cr_assert_null(pm_aligned_alloc(48, 96));
  cr_assert_eq(errno, EINVAL);
  void *rounded = pm_memalign(48, 10); /* glibc rounds up to 64 */
  cr_assert_eq((uintptr_t)rounded % 64, 0);
  pm_free(rounded);
  void *page = pm_valloc(10);
  cr_assert_eq((uintptr_t)page % 4096, 0);
  pm_free(page);
  void *whole = pm_pvalloc(5000);
  cr_assert_eq((uintptr_t)whole % 4096, 0);
  cr_assert_geq(pm_usable_size(whole), 8192);
  pm_free(whole);
  /* Alignments near the top of the address space: no size sum may wrap. */
  size_t top = (size_t)1 << 62;
  cr_assert_eq(pm_posix_memalign(&out, top, 4096), ENOMEM);
  errno = 0;
  cr_assert_null(pm_memalign(top, SIZE_MAX - top + 1));
  cr_assert_eq(errno, ENOMEM);
  errno = 0;
  cr_assert_null(pm_aligned_alloc(top, top));
  cr_assert_eq(errno, ENOMEM);
  /* memalign as glibc: up to 2^63 rounds up and fails for want of memory,
   * past it the alignment is invalid. */
  errno = 0;
  cr_assert_null(pm_memalign(top + 1, 16));
  cr_assert_eq(errno, ENOMEM);
  errno = 0;
  cr_assert_null(pm_memalign(SIZE_MAX / 2 + 2, 16));
  cr_assert_eq(errno, EINVAL);
}

Test(alloc_api, thread_cache_reuses_freed_blocks) {
  void *first = pm_malloc(48);
  pm_free(first);
  /* Local frees wait on the slab's local list; the fast path's list runs
   * dry within one slab's worth of blocks, then the freed ones come back. */
  enum { LIMIT = PM_SLAB_SIZE / 48 + 1 };
  static void *seen[LIMIT];
  int count = 0;
  bool found = false;
  while (count < LIMIT && !found) {
    seen[count] = pm_malloc(48);
    found = seen[count++] == first;
  }
  for (int i = 0; i < count; i++)
    pm_free(seen[i]);
  cr_assert(found, "a freed block is reused within one slab's worth of allocations");
}

/* A slab that gets a block back after it went full waits behind the slabs
 * that got theirs earlier: those have had longer to gather freed blocks, so
 * a refill yields more than one malloc's worth. */
Test(alloc_api, slabs_back_from_full_queue_in_order) {
  enum { SIZE = 4000, PER_SLAB = PM_SLAB_SIZE / 4096, COUNT = 4 * PER_SLAB };
  static void *blocks[COUNT];
  for (int i = 0; i < COUNT; i++)
    cr_assert_not_null(blocks[i] = pm_malloc(SIZE));
  pm_span_t *current = _pm_heap_default->bins[_pm_class_of(SIZE)].current;
  /* Two slabs wholly ours, other than the current one. */
  pm_span_t *first = NULL, *second = NULL;
  int first_at = -1, second_at = -1;
  for (int i = 0; i + PER_SLAB <= COUNT && second == NULL; i++) {
    pm_span_t *slab = pm_test_slab_of(blocks[i]);
    if (slab == current || slab == first || slab->used != PER_SLAB) continue;
    if (first == NULL)
      first = slab, first_at = i;
    else
      second = slab, second_at = i;
  }
  cr_assert_not_null(second, "two full slabs of this test's blocks");
  pm_free(blocks[first_at]);
  blocks[first_at] = NULL;
  for (int i = second_at; i < COUNT && second->used > PER_SLAB - 3; i++)
    if (pm_test_slab_of(blocks[i]) == second) {
      pm_free(blocks[i]);
      blocks[i] = NULL;
    }
  /* Drain the current slab; the next block comes from the first slab. */
  enum { EXTRA = PER_SLAB + 1 };
  void *extra[EXTRA];
  pm_span_t *next = NULL;
  int taken = 0;
  while (taken < EXTRA && next == NULL) {
    extra[taken] = pm_malloc(SIZE);
    pm_span_t *slab = pm_test_slab_of(extra[taken++]);
    if (slab != current) next = slab;
  }
  cr_expect_eq(next, first, "the slab that went back first is refilled first");
  for (int i = 0; i < taken; i++)
    pm_free(extra[i]);
  for (int i = 0; i < COUNT; i++)
    pm_free(blocks[i]);
}

Test(alloc_api, slab_counts_follow_blocks) {
  size_t c = _pm_class_of(4000);
  pm_stats_t before = pm_test_stats();
  enum { COUNT = 200 }; /* 16 blocks of 4096 per slab: 13 slabs */
  void *blocks[COUNT];
  for (int i = 0; i < COUNT; i++)
    blocks[i] = pm_malloc(4000);
  pm_stats_t during = pm_test_stats();
  cr_assert_eq(during.classes[c].allocations - before.classes[c].allocations, COUNT);
  cr_assert_eq(during.classes[c].live_blocks - before.classes[c].live_blocks, COUNT);
  cr_assert_geq(during.classes[c].slabs - before.classes[c].slabs, COUNT / 16 - 1);
  cr_assert_eq(during.classes[c].slab_bytes, during.classes[c].slabs * PM_SLAB_SIZE);
  for (int i = 0; i < COUNT; i++)
    pm_free(blocks[i]);
  pm_stats_t after = pm_test_stats();
  cr_assert_eq(after.classes[c].frees - before.classes[c].frees, COUNT);
  cr_assert_eq(after.classes[c].live_blocks, before.classes[c].live_blocks);
  cr_assert_leq(after.classes[c].slabs, before.classes[c].slabs + 1,
                "empty slabs go back to the pool (one stays cached)");
}

Test(alloc_api, large_blocks_are_reused) {
  uint8_t *a = pm_malloc(300000);
  pm_stats_t before = pm_test_stats();
  pm_free(a);
  uint8_t *b = pm_malloc(300000);
  pm_stats_t after = pm_test_stats();
  cr_assert_eq(after.reuse_count - before.reuse_count, 1);
  cr_assert_eq(pm_usable_size(b), pm_align_up(300000, 4096));
  pm_free(b);
}

/* Among free runs of 63 pages or more, the smallest that fits and then the
 * lowest address wins: the most recently freed one, which first fit took,
 * would be split and leave the exact fit unused. */
Test(alloc_api, big_runs_are_reused_best_fit_first) {
  enum { PAGE = 4096 };
  pm_test_no_free_runs();
  uint8_t *fence[3], *exact, *bigger;
  fence[0] = pm_malloc(70 * PAGE);
  exact = pm_malloc(70 * PAGE);
  fence[1] = pm_malloc(70 * PAGE);
  bigger = pm_malloc(80 * PAGE);
  fence[2] = pm_malloc(70 * PAGE); /* live neighbours: the freed runs cannot merge */
  pm_free(exact);
  pm_free(bigger); /* the most recent free run */
  uint8_t *again = pm_malloc(70 * PAGE);
  cr_assert_eq(again, exact, "the exact fit %p comes back, not a piece of %p", (void *)exact,
               (void *)bigger);
  pm_free(again);
  for (int i = 0; i < 3; i++)
    pm_free(fence[i]);
}

/* Requests take the start of a big free run, so a segment fills from the
 * bottom and a large block has the rest of its run to grow into. */
Test(alloc_api, big_runs_are_carved_from_their_start) {
  enum { PAGE = 4096 };
  void *fences[2];
  uint8_t *big = pm_test_free_run_between(200, 70, fences);
  uint8_t *first = pm_malloc(70 * PAGE), *second = pm_malloc(70 * PAGE);
  cr_assert_eq(first, big, "the first 70 pages of the run");
  cr_assert_eq(second, big + 70 * PAGE, "then the first 70 of what is left");
  pm_free(second);
  uint8_t *grown = pm_realloc(first, 130 * PAGE);
  cr_assert_eq(grown, first, "the block grows into the free pages after it");
  pm_free(grown);
  pm_free(fences[0]);
  pm_free(fences[1]);
}

Test(alloc_api, huge_mappings_are_cached) {
  size_t size = (size_t)24 << 20;
  uint8_t *a = pm_malloc(size);
  cr_assert_geq(pm_usable_size(a), size);
  a[size - 1] = 1;
  pm_free(a);
  pm_stats_t cached = pm_test_stats();
  cr_assert_geq(cached.retained_bytes, size, "the mapping waits in the cache");
  uint8_t *b = pm_malloc(size - 4096);
  pm_stats_t after = pm_test_stats();
  cr_assert_eq(after.mapped_bytes, cached.mapped_bytes, "the cached mapping is reused");
  cr_assert_eq(after.reuse_count - cached.reuse_count, 1);
  pm_free(b);
}

/* A segment of spans is found by its region's bit; only huge mappings go
 * through the two-level map, so a program that makes none never touches
 * it (nor maps a leaf). */
Test(alloc_api, only_huge_mappings_use_the_two_level_registry) {
  uint8_t *small = pm_malloc(100), *large = pm_malloc(100000);
  cr_assert_eq(_pm_registry_lookup(small),
               (pm_segment_t *)((uintptr_t)small & ~(uintptr_t)PM_SEGMENT_MASK));
  cr_assert_eq(_pm_registry_lookup(large),
               (pm_segment_t *)((uintptr_t)large & ~(uintptr_t)PM_SEGMENT_MASK));
  for (size_t root = 0; root < ((size_t)1 << PM_REGISTRY_ROOT_BITS); root++)
    cr_assert_null(atomic_load(&_pm_registry[root]), "no leaf before a huge mapping (root %zu)",
                   root);
  uint8_t *huge = pm_malloc(PM_TEST_HUGE_SIZE);
  cr_assert_eq(_pm_registry_lookup(huge)->kind, PM_SEGMENT_HUGE);
  uintptr_t index = (uintptr_t)huge >> PM_SEGMENT_SHIFT;
  cr_assert_not_null(atomic_load(&_pm_registry[index >> PM_REGISTRY_LEAF_BITS]));
  cr_assert_eq(_pm_span_segment_lookup(huge), NULL, "a mapping's region has no span bit");
  pm_free(huge);
  pm_free(large);
  pm_free(small);
}

/* A huge block that mremap moved into address space no leaf covers yet must
 * still be registered when the OS refuses the leaf's mapping: a reserve
 * leaf takes it. */
Test(alloc_api, the_registry_takes_a_reserve_leaf_when_maps_fail) {
  pm_free(pm_malloc(1));
  /* Regions 64 GiB apart from the top of the range: one leaf each, and
   * nothing of this process lives there. */
  static pm_segment_t fake = {.kind = PM_SEGMENT_HUGE};
  uintptr_t leaf_span = (uintptr_t)PM_SEGMENT_SIZE << PM_REGISTRY_LEAF_BITS;
  uintptr_t top = ((uintptr_t)PM_REGION_COUNT << PM_SEGMENT_SHIFT) - leaf_span;
  _pm_prim_fail_maps_after(1); /* this one mapping succeeds, every later one fails */
  void *spent = _pm_prim_map_aligned(PM_PAGE_SIZE, PM_PAGE_SIZE);
  for (int i = 0; i < 4; i++) {
    const void *region = (const void *)(top - (uintptr_t)i * leaf_span);
    cr_assert_null(_pm_registry_lookup(region), "region %d unused", i);
    cr_assert(_pm_registry_set(region, &fake), "region %d registered without a mapping", i);
    cr_assert_eq(_pm_registry_lookup(region), &fake);
    _pm_registry_clear(region);
  }
  const void *fifth = (const void *)(top - 4 * leaf_span);
  cr_assert_not(_pm_registry_set(fifth, &fake), "the reserve is four leaves");
  _pm_prim_fail_maps_after(0);
  _pm_prim_unmap(spent, PM_PAGE_SIZE);
}

Test(alloc_api, trim_reports_release) {
  void *p = pm_malloc((size_t)8 << 20);
  pm_free(p);
  pm_stats_t before = pm_test_stats();
  cr_assert_eq(pm_trim(0), 1, "a cached huge mapping is released");
  pm_stats_t after = pm_test_stats();
  cr_assert_lt(after.retained_bytes, (size_t)1 << 20, "retained memory is gone");
  cr_assert_geq(after.released_bytes - before.released_bytes, (size_t)8 << 20);
}

/* The private writable memory this process has mapped (VmData), bytes. */
static size_t data_bytes(void) {
  FILE *status = fopen("/proc/self/status", "r");
  cr_assert_not_null(status);
  char line[128];
  size_t kb = 0;
  while (fgets(line, sizeof line, status))
    if (sscanf(line, "VmData: %zu kB", &kb) == 1) break;
  fclose(status);
  cr_assert_gt(kb, 0, "VmData read");
  return kb << 10;
}

/* An aligned mapping over-reserves by its alignment, but only what it keeps
 * is ever writable: the kernel charges writable private memory against the
 * commit limit under strict overcommit, and against RLIMIT_DATA, which
 * stands in for that limit here. With room for 1.5 times the size, a
 * mapping aligned to its own size fits. */
Test(alloc_api, an_aligned_mapping_is_charged_only_for_what_it_keeps) {
  const size_t size = (size_t)256 << 20;
  struct rlimit saved;
  cr_assert_eq(getrlimit(RLIMIT_DATA, &saved), 0);
  struct rlimit tight = {data_bytes() + size + size / 2, saved.rlim_max};
  cr_assert_eq(setrlimit(RLIMIT_DATA, &tight), 0);
  void *block = _pm_prim_map_aligned(size, size);
  setrlimit(RLIMIT_DATA, &saved);
  cr_assert_not_null(block, "mapped under the limit");
  cr_assert_eq((uintptr_t)block & (size - 1), 0, "aligned");
  memset((char *)block + size - PM_PAGE_SIZE, 1, PM_PAGE_SIZE);
  _pm_prim_unmap(block, size);
}
