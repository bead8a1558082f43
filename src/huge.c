/* huge.c: blocks above PM_LARGE_MAX, each in a mapping of its own whose
 * first page holds a segment header (kind PM_SEGMENT_HUGE), aligned to the
 * segment size so the registry finds it like any segment. Only the fields
 * before head_offsets are used there: the rest of pm_segment_t would lie in
 * the block. Freed mappings wait in a small cache for reuse and are
 * unmapped by decay or trim. The cache lives under _pm_pages_lock. When no
 * new mapping can be had, a block that fits in a segment is served from
 * free pages there instead. */
#include <string.h>

#include "internal.h"

#define HUGE_CACHE_MAX 16
_Static_assert(offsetof(pm_segment_t, head_offsets) <= PM_HUGE_OFFSET,
               "a huge mapping's header fields fit before its block");

static pm_segment_t *huge_cache; /* most recently freed first */
static size_t huge_cache_count;

/* Registers the regions of the header and of the block start. */
static bool huge_register(pm_segment_t *segment) {
  if (!_pm_registry_set(segment, segment)) return false;
  return _pm_registry_set(segment->block, segment);
}

static void huge_unregister(pm_segment_t *segment) {
  _pm_registry_clear(segment->block);
  _pm_registry_clear(segment);
}

/* The blocks of the latest mappings unmapped or moved away. A second free
 * of one finds nothing in the registry, as a pointer that was never ours
 * does; this tells the two apart in the message. Pages lock held. */
#define HUGE_GONE_MAX 16
static const void *huge_gone[HUGE_GONE_MAX];
static size_t huge_gone_next;

static void huge_gone_note(const void *block) {
  huge_gone[huge_gone_next++ % HUGE_GONE_MAX] = block;
}

static bool huge_gone_recently(const void *block) {
  for (size_t i = 0; i < HUGE_GONE_MAX; i++)
    if (huge_gone[i] == block) return true;
  return false;
}

/* Everything of an unmap but the system call. Pages lock held. */
static void huge_forget(pm_segment_t *segment) {
  huge_gone_note(segment->block);
  huge_unregister(segment);
  _pm_pool.mapped_bytes -= segment->mapping_size;
}

static void huge_unmap(pm_segment_t *segment) {
  huge_forget(segment);
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

/* Resizes a mapping, moving its pages if need be (never copying them), and
 * keeps the registry and the accounting in step. Pages lock held, and
 * dropped around the system calls (as for a new mapping, segment.c): the
 * mapping is out of the registry meanwhile, and out of the cache or live
 * in the caller's hands, so no other thread reaches it. */
static pm_segment_t *huge_resize(pm_segment_t *segment, size_t mapping, size_t map_alignment) {
  size_t old_mapping = segment->mapping_size;
  size_t growth = mapping > old_mapping ? mapping - old_mapping : 0;
  /* The release cannot take this mapping: it is live, not cached. */
  if (growth > 0 && !_pm_within_limit(growth)) _pm_decay_release_all();
  if (growth > 0 && !_pm_within_limit(growth)) return NULL;
  size_t offset = (size_t)(segment->block - (uint8_t *)segment);
  huge_unregister(segment);
  pm_segment_t *moved = NULL;
  if (_pm_pool_unlock_to_map(growth)) {
    moved = _pm_prim_remap_aligned(segment, old_mapping, mapping, map_alignment);
    _pm_pool_relock_after_mapping(growth, moved != NULL);
  }
  if (moved == NULL)
    moved = segment;
  else {
    if (moved != segment) huge_gone_note((uint8_t *)segment + offset); /* unmapped now */
    moved->mapping_size = mapping;
    moved->block = (uint8_t *)moved + offset;
    if (mapping < old_mapping) {
      _pm_pool.mapped_bytes -= old_mapping - mapping;
      _pm_pool.released_bytes += old_mapping - mapping;
    }
  }
  if (!huge_register(moved)) _pm_fatal("no memory for the segment registry");
  return moved->mapping_size == mapping ? moved : NULL;
}

/* Best fit among cached mappings whose start suits the alignment: the
 * smallest that is large enough, trimmed if it is much too large, or else
 * the largest, grown (its resident pages are kept either way). */
static pm_segment_t *cache_take(size_t mapping, size_t map_alignment) {
  pm_segment_t *best = NULL;
  for (pm_segment_t *segment = huge_cache; segment != NULL; segment = segment->next) {
    if (((uintptr_t)segment & (map_alignment - 1)) != 0) continue;
    bool fits = segment->mapping_size >= mapping;
    if (best == NULL)
      best = segment;
    else if (fits && (best->mapping_size < mapping || segment->mapping_size < best->mapping_size))
      best = segment;
    else if (!fits && best->mapping_size < mapping && segment->mapping_size > best->mapping_size)
      best = segment;
  }
  if (best == NULL) return NULL;
  cache_unlink(best);
  /* Up to twice the size is used as is: trimming and regrowing would cost
   * page faults, and the retained bytes are resident either way. */
  if (best->mapping_size >= mapping && best->mapping_size - mapping <= mapping) return best;
  /* The old block may start past the new end (an aligned one, far in):
   * resized as a block at the usual offset, the registry never names a
   * region the mapping left. The caller places the new block. */
  _pm_registry_clear(best->block);
  best->block = (uint8_t *)best + PM_HUGE_OFFSET;
  pm_segment_t *resized = huge_resize(best, mapping, map_alignment);
  if (resized == NULL) { /* could not grow it: give it back to the OS */
    _pm_pool.released_bytes += best->mapping_size;
    huge_unmap(best);
  }
  return resized;
}

/* Takes the cached mappings freed before cutoff_ms out of the cache and
 * the registry, oldest first, until budget bytes; then unmaps them, with
 * the pages lock dropped when drop_lock says so (the background thread:
 * unmapping tens of resident megabytes takes milliseconds, which no
 * allocating thread need wait for). A child forked meanwhile keeps the
 * ones not yet unmapped as mappings nobody refers to. */
static uint64_t huge_purge(uint64_t cutoff_ms, uint64_t budget, bool drop_lock) {
  uint64_t released = 0;
  pm_segment_t *oldest = huge_cache, *taken = NULL;
  while (oldest != NULL && oldest->next != NULL)
    oldest = oldest->next;
  for (pm_segment_t *segment = oldest, *prev; segment != NULL && released < budget;
       segment = prev) {
    prev = segment->prev;
    if (segment->freed_at > cutoff_ms) continue;
    cache_unlink(segment);
    released += segment->mapping_size;
    huge_forget(segment);
    segment->next = taken;
    taken = segment;
  }
  _pm_pool.released_bytes += released;
  if (taken == NULL) return 0;
  if (drop_lock) _pm_unlock(&_pm_pages_lock);
  _pm_segments_unmap(taken);
  if (drop_lock) _pm_lock(&_pm_pages_lock);
  return released;
}

uint64_t _pm_huge_purge(uint64_t cutoff_ms, uint64_t budget) {
  return huge_purge(cutoff_ms, budget, false);
}

uint64_t _pm_huge_purge_dropping_lock(uint64_t cutoff_ms) {
  return huge_purge(cutoff_ms, UINT64_MAX, true);
}

/* A new mapping for a huge block, releasing retained memory first when the
 * limit option leaves no room; pages lock held. NULL when the OS refuses
 * the mapping: the caller decides what to release before trying again. */
static pm_segment_t *huge_map(size_t mapping, size_t map_alignment) {
  if (!_pm_within_limit(mapping)) _pm_decay_release_all();
  pm_segment_t *segment = _pm_pool_map(mapping, map_alignment);
  if (segment != NULL) {
    segment->kind = PM_SEGMENT_HUGE;
    segment->mapping_size = mapping;
  }
  return segment;
}

void *_pm_huge_alloc(size_t size, size_t alignment, bool zero) {
  if (alignment < PM_PAGE_SIZE) alignment = PM_PAGE_SIZE;
  size_t offset = alignment > PM_HUGE_OFFSET ? alignment : PM_HUGE_OFFSET;
  size_t map_alignment = alignment > PM_SEGMENT_SIZE ? alignment : PM_SEGMENT_SIZE;
  /* offset <= map_alignment, so with the first test the sum cannot wrap. */
  if (map_alignment > (size_t)PTRDIFF_MAX / 2 ||
      size > (size_t)PTRDIFF_MAX - offset - map_alignment) {
    errno = ENOMEM;
    return NULL;
  }
  size_t mapping = pm_align_up(offset + size, PM_PAGE_SIZE);
  /* When no new mapping can be had (the limit option, or the OS refusing
   * one), the free pages of the segments may still hold the block. */
  bool fits_pages = _pm_large_fits_segment(size, alignment), pages_tried = false;
  /* As the caller left it: a refused mapping, or a failed try at the
   * pages, must not show when the other way succeeds. */
  int saved = errno;
  _pm_lock(&_pm_pages_lock);
  pm_segment_t *segment = cache_take(mapping, map_alignment);
  bool reused = segment != NULL, new_high = false;
  if (!reused && fits_pages && !_pm_within_limit(mapping)) {
    /* At the limit: those pages first, rather than release every retained
     * byte on each such request. */
    _pm_unlock(&_pm_pages_lock);
    void *block = _pm_large_alloc(size, alignment, zero);
    if (block != NULL) return block;
    pages_tried = true; /* errno: set below, whichever way it ends */
    _pm_lock(&_pm_pages_lock);
  }
  if (reused)
    _pm_registry_clear(segment->block); /* the block may start elsewhere now */
  else
    segment = huge_map(mapping, map_alignment);
  /* Refused by the OS (an address-space limit, strict overcommit): when
   * the segments' free pages are still to be tried, they go first, as
   * releasing every retained byte would unmap them; otherwise what the
   * release unmaps may leave room for the mapping. */
  if (segment == NULL && (!fits_pages || pages_tried) && _pm_decay_release_all() > 0)
    segment = huge_map(mapping, map_alignment);
  if (segment != NULL) {
    segment->block = (uint8_t *)segment + offset;
    segment->block_size = segment->mapping_size - offset;
    if (!huge_register(segment)) {
      huge_unmap(segment);
      segment = NULL;
    }
  }
  if (segment != NULL) {
    errno = saved;
    _pm_pool.huge_live_bytes += segment->block_size;
    _pm_pool.huge_allocations++;
    _pm_pool.huge_reuse += reused;
    new_high = _pm_handed_out_new_high();
  }
  _pm_unlock(&_pm_pages_lock);
  if (segment == NULL) {
    if (fits_pages && !pages_tried) {
      errno = saved;
      return _pm_large_alloc(size, alignment, zero);
    }
    errno = ENOMEM;
    return NULL;
  }
  if (new_high) _pm_background_note_growth(_pm_stats_sample_peak());
  if (zero && reused) memset(segment->block, 0, size);
  return segment->block;
}

/* Pages lock held. The live huge block at ptr; otherwise the lock is
 * dropped and the call aborts naming the problem. Looked up under the
 * lock, under which a mapping also leaves the registry before it is
 * unmapped: a call racing a free of the pointer finds it unregistered, or
 * cached, never half gone. */
static pm_segment_t *huge_of_locked(const void *ptr, const char *func) {
  pm_segment_t *segment = _pm_registry_lookup(ptr);
  const char *problem = NULL;
  if (segment == NULL && huge_gone_recently(ptr))
    problem = "double free"; /* the first free unmapped it, or a realloc moved it */
  else if (segment == NULL || segment->kind != PM_SEGMENT_HUGE || segment->block != ptr)
    problem = "invalid pointer";
  else if (segment->block_size == 0) /* another thread freed it first and cached it */
    problem = "double free";
  if (problem != NULL) {
    _pm_unlock(&_pm_pages_lock);
    _pm_fatal_pointer(func, problem, ptr);
  }
  return segment;
}

size_t _pm_huge_usable_size(const void *ptr, const char *func) {
  _pm_lock(&_pm_pages_lock);
  size_t usable = huge_of_locked(ptr, func)->block_size;
  _pm_unlock(&_pm_pages_lock);
  return usable;
}

void _pm_huge_free(void *ptr, const char *func) {
  pm_segment_t *unmapped = NULL;
  _pm_lock(&_pm_pages_lock);
  pm_segment_t *segment = huge_of_locked(ptr, func);
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
    /* Gone for every other thread once forgotten; unmapped after the
     * unlock, as the background thread's purges are. */
    _pm_pool.released_bytes += segment->mapping_size;
    huge_forget(segment);
    unmapped = segment;
  }
  _pm_unlock(&_pm_pages_lock);
  if (unmapped != NULL) _pm_prim_unmap(unmapped, unmapped->mapping_size);
  _pm_background_check_freed();
}

/* Pages lock held. */
static void *huge_realloc_locked(pm_segment_t *segment, size_t size) {
  size_t old_usable = segment->block_size;
  if (size <= old_usable && size >= old_usable / 2) return segment->block;
  /* Shrunk to a page run's size: the caller moves it to the smaller kind.
   * Growing stays here (realloc moves growing runs to a mapping on purpose). */
  if (size <= PM_LARGE_MAX && size < old_usable) return NULL;
  size_t offset = (size_t)(segment->block - (uint8_t *)segment);
  if (offset > (size_t)PTRDIFF_MAX / 2 || size > (size_t)PTRDIFF_MAX / 2 - offset) return NULL;
  /* Grow by at least half again so a buffer growing by appends is
   * remapped a logarithmic number of times. */
  size_t target = size;
  if (size > old_usable && size < old_usable + old_usable / 2) target = old_usable + old_usable / 2;
  size_t mapping = pm_align_up(offset + target, PM_PAGE_SIZE);
  size_t map_alignment = offset > PM_SEGMENT_SIZE ? offset : PM_SEGMENT_SIZE;
  pm_segment_t *resized = huge_resize(segment, mapping, map_alignment);
  /* Under a limit the extra half may not fit where the size asked for does. */
  if (resized == NULL && target != size)
    resized = huge_resize(segment, pm_align_up(offset + size, PM_PAGE_SIZE), map_alignment);
  if (resized == NULL) return NULL;
  resized->block_size = resized->mapping_size - offset;
  _pm_pool.huge_live_bytes += resized->block_size;
  _pm_pool.huge_live_bytes -= old_usable;
  return resized->block;
}

PM_WARM void *_pm_huge_realloc(void *ptr, size_t size, const char *func) {
  _pm_lock(&_pm_pages_lock);
  void *block = huge_realloc_locked(huge_of_locked(ptr, func), size);
  bool new_high = block != NULL && _pm_handed_out_new_high();
  _pm_unlock(&_pm_pages_lock);
  if (new_high) _pm_background_note_growth(_pm_stats_sample_peak());
  return block;
}
