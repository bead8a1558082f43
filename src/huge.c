/* huge.c: blocks above PM_LARGE_MAX, each in a mapping of its own whose
 * first page holds a segment header (kind PM_SEGMENT_HUGE), aligned to the
 * segment size so the registry finds it like any segment. Freed mappings
 * wait in a small cache for reuse and are unmapped by decay or trim. The
 * cache lives under _pm_pages_lock. */
#include <string.h>

#include "internal.h"

#define HUGE_CACHE_MAX 8

static pm_segment_t *huge_cache; /* most recently freed first */
static size_t huge_cache_count;

/* Registers the 4 MiB regions of the header and of the block start. */
static bool huge_register(pm_segment_t *segment) {
  if (!_pm_registry_set(segment, segment)) return false;
  return _pm_registry_set(segment->block, segment);
}

static void huge_unregister(pm_segment_t *segment) {
  _pm_registry_clear(segment->block);
  _pm_registry_clear(segment);
}

static void huge_unmap(pm_segment_t *segment) {
  huge_unregister(segment);
  _pm_pool.mapped_bytes -= segment->mapping_size;
  _pm_prim_unmap(segment, segment->mapping_size);
}

static void cache_unlink(pm_segment_t *segment) {
  if (segment->prev)
    segment->prev->next = segment->next;
  else
    huge_cache = segment->next;
  if (segment->next) segment->next->prev = segment->prev;
  huge_cache_count--;
  _pm_pool.huge_cached_bytes -= segment->mapping_size;
}

/* A cached mapping fits if the block lands aligned and wastes under 1/4. */
static pm_segment_t *cache_take(size_t mapping, size_t alignment) {
  for (pm_segment_t *segment = huge_cache; segment != NULL; segment = segment->next) {
    if (segment->mapping_size < mapping || segment->mapping_size - mapping > mapping / 4) continue;
    if (((uintptr_t)segment & (alignment - 1)) != 0) continue;
    cache_unlink(segment);
    return segment;
  }
  return NULL;
}

uint64_t _pm_huge_purge(uint64_t cutoff_ms) {
  uint64_t released = 0;
  for (pm_segment_t *segment = huge_cache, *next; segment != NULL; segment = next) {
    next = segment->next;
    if (segment->freed_at > cutoff_ms) continue;
    cache_unlink(segment);
    released += segment->mapping_size;
    huge_unmap(segment);
  }
  _pm_pool.released_bytes += released;
  return released;
}

void *_pm_huge_alloc(size_t size, size_t alignment, bool zero) {
  if (alignment < PM_PAGE_SIZE) alignment = PM_PAGE_SIZE;
  size_t offset = alignment > PM_HUGE_OFFSET ? alignment : PM_HUGE_OFFSET;
  size_t map_alignment = alignment > PM_SEGMENT_SIZE ? alignment : PM_SEGMENT_SIZE;
  if (size > (size_t)PTRDIFF_MAX - offset - map_alignment) {
    errno = ENOMEM;
    return NULL;
  }
  size_t mapping = pm_align_up(offset + size, PM_PAGE_SIZE);
  _pm_lock(&_pm_pages_lock);
  pm_segment_t *segment = cache_take(mapping, map_alignment);
  bool reused = segment != NULL;
  if (reused) {
    _pm_registry_clear(segment->block);
  } else {
    if (!_pm_within_limit(mapping)) _pm_decay_release_all();
    if (_pm_within_limit(mapping)) segment = _pm_prim_map_aligned(mapping, map_alignment);
    if (segment != NULL) {
      segment->kind = PM_SEGMENT_HUGE;
      segment->mapping_size = mapping;
      _pm_pool.mapped_bytes += mapping;
    }
  }
  if (segment != NULL) {
    segment->block = (uint8_t *)segment + offset;
    segment->block_size = segment->mapping_size - offset;
    if (!huge_register(segment)) {
      huge_unmap(segment);
      segment = NULL;
    }
  }
  if (segment != NULL) {
    _pm_pool.huge_live_bytes += segment->block_size;
    _pm_pool.huge_allocations++;
    _pm_pool.huge_reuse += reused;
  }
  _pm_unlock(&_pm_pages_lock);
  if (segment == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  _pm_stats_sample_peak();
  if (zero && reused) memset(segment->block, 0, size);
  return segment->block;
}

void _pm_huge_free(pm_segment_t *segment) {
  _pm_lock(&_pm_pages_lock);
  _pm_pool.huge_live_bytes -= segment->block_size;
  _pm_pool.huge_frees++;
  if (huge_cache_count < HUGE_CACHE_MAX &&
      _pm_pool.huge_cached_bytes + segment->mapping_size <= _pm_options.retain_max) {
    segment->freed_at = _pm_prim_clock_ms();
    segment->block_size = 0; /* cached; still registered, so a second free is recognised */
    segment->prev = NULL;
    segment->next = huge_cache;
    if (huge_cache) huge_cache->prev = segment;
    huge_cache = segment;
    huge_cache_count++;
    _pm_pool.huge_cached_bytes += segment->mapping_size;
    _pm_decay_after_free();
  } else {
    _pm_pool.released_bytes += segment->mapping_size;
    huge_unmap(segment);
  }
  _pm_unlock(&_pm_pages_lock);
}

void *_pm_huge_realloc_in_place(pm_segment_t *segment, size_t size) {
  /* Keep the mapping while the new size still uses most of it. */
  if (size > PM_LARGE_MAX && size <= segment->block_size && size >= segment->block_size / 2)
    return segment->block;
  return NULL;
}
