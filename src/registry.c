/* registry.c: the map from segment-sized address regions to segment headers.
 *
 * A segment of spans starts its own 32 MiB region, so one bit per region
 * (_pm_span_regions, 1 MiB of BSS touched sparsely) finds it: the free fast
 * path's single load. Huge mappings need not start their region, and their
 * blocks may lie in another one, so they are found through two levels (2^12
 * roots, leaves of 2^11 entries) covering the 48-bit address space; a
 * program that maps no huge block never touches them. free() consults the
 * registry before touching anything, so a pointer the library never handed
 * out is recognised without reading its memory. Leaves are mapped on first
 * use and never freed (16 KiB each, one per 64 GiB of address space in
 * use). When the OS refuses that mapping, a leaf comes from a small reserve
 * in BSS (never resident until used): registering a huge block that mremap
 * has just moved must not fail, since the block's contents now live only
 * there. */
#include "internal.h"

_Atomic(pm_segment_t **) _pm_registry[1u << PM_REGISTRY_ROOT_BITS];
uint64_t _pm_span_regions[PM_REGION_COUNT / 64]; /* 1 MiB of BSS, touched sparsely */

#define LEAF_BYTES (sizeof(pm_segment_t *) << PM_REGISTRY_LEAF_BITS)
/* Four leaves cover 256 GiB, more than the huge mappings of a process short
 * of memory are likely to spread over. */
#define RESERVE_LEAVES 4
static pm_segment_t *reserve_leaves[RESERVE_LEAVES][1u << PM_REGISTRY_LEAF_BITS];
static _Atomic unsigned reserve_leaves_taken;

static pm_segment_t **registry_leaf(uintptr_t index, bool create) {
  _Atomic(pm_segment_t **) *slot = &_pm_registry[index >> PM_REGISTRY_LEAF_BITS];
  pm_segment_t **leaf = atomic_load_explicit(slot, memory_order_acquire);
  if (leaf != NULL || !create) return leaf;
  pm_segment_t **fresh = _pm_prim_map_aligned(LEAF_BYTES, _pm_prim_page_size());
  bool mapped = fresh != NULL;
  if (!mapped) {
    /* Counted only while leaves remain, so the count never wraps around to
     * hand a leaf out twice. */
    unsigned taken = atomic_load(&reserve_leaves_taken);
    do {
      if (taken >= RESERVE_LEAVES) return NULL;
    } while (!atomic_compare_exchange_weak(&reserve_leaves_taken, &taken, taken + 1));
    fresh = reserve_leaves[taken];
  }
  pm_segment_t **expected = NULL;
  if (!atomic_compare_exchange_strong(slot, &expected, fresh)) {
    /* Another thread installed one first; a reserve leaf stays unused. */
    if (mapped) _pm_prim_unmap(fresh, LEAF_BYTES);
    return expected;
  }
  return fresh;
}

bool _pm_registry_set(const void *region, pm_segment_t *segment) {
  uintptr_t index = (uintptr_t)region >> PM_SEGMENT_SHIFT;
  if (index >= PM_REGION_COUNT) return false;
  uint64_t bit = (uint64_t)1 << (index % 64);
  if (segment->kind == PM_SEGMENT_SPANS) {
    pm_assert((void *)segment == region, "a segment of spans starts its region");
    __atomic_fetch_or(&_pm_span_regions[index / 64], bit, __ATOMIC_RELEASE);
    return true;
  }
  pm_segment_t **leaf = registry_leaf(index, true);
  if (leaf == NULL) return false;
  leaf[index & ((1u << PM_REGISTRY_LEAF_BITS) - 1)] = segment;
  return true;
}

void _pm_registry_clear(const void *region) {
  uintptr_t index = (uintptr_t)region >> PM_SEGMENT_SHIFT;
  if (index >= PM_REGION_COUNT) return; /* never registered: _pm_registry_set refused it */
  uint64_t bit = (uint64_t)1 << (index % 64);
  if (__atomic_fetch_and(&_pm_span_regions[index / 64], ~bit, __ATOMIC_RELEASE) & bit) return;
  pm_segment_t **leaf = registry_leaf(index, false);
  if (leaf != NULL) leaf[index & ((1u << PM_REGISTRY_LEAF_BITS) - 1)] = NULL;
}
