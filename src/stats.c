/* stats.c: statistics on demand.
 *
 * Small-block counters live in each thread heap (plain stores, no atomic
 * read-modify-write on the fast path) and are summed over all heaps here;
 * page-level figures come from the pool under its lock. The peak of
 * allocated bytes is sampled whenever memory is taken from the page pool
 * (a new slab; a large or huge block, or growth in place, that takes what
 * the pool has handed out past its latest high) and on every pm_stats()
 * call. Blocks carved from slabs already held, or taken from a thread's
 * cache of large blocks, are seen at the next sample, so the peak can lag
 * the true one by the room those hold: less than a slab per size class
 * and thread, and the large_cache bound per thread. */
#include <string.h>

#include "emitter.h"
#include "internal.h"

static _Atomic uint64_t peak_allocated;

/* A program that dies by abort() skips the destructor, but its statistics
 * matter most then. The abort may come from inside the allocator (a bad
 * free found under the pages lock), so the report is skipped, with a note,
 * when that lock cannot be had soon: waiting on it would hang the abort. */
PM_COLD static void stats_print_at_abort(void) {
  if (_pm_lock_within(&_pm_pages_lock, 100) != 0) {
    static const char note[] = "poolmalloc: statistics skipped: abort inside the allocator\n";
    _pm_prim_write(_pm_stderr_fd(), note, sizeof note - 1);
    return;
  }
  _pm_unlock(&_pm_pages_lock);
  _pm_stats_print_at_exit();
}

void _pm_stats_init(void) {
  if (_pm_options.stats == PM_STATS_OFF) return;
  _pm_prim_on_abort(stats_print_at_abort);
  /* Also with a stats_file: when it cannot be opened at exit, the warning
   * and the statistics fall back to this copy of stderr. */
  _pm_stderr_keep();
}

typedef struct small_totals_s {
  uint64_t allocations[PM_CLASS_COUNT];
  uint64_t frees[PM_CLASS_COUNT];
  uint64_t fresh[PM_CLASS_COUNT];
  uint64_t large_cache_hits, large_cache_puts; /* large blocks, through thread caches */
} small_totals_t;

static void small_totals(small_totals_t *t) {
  memset(t, 0, sizeof *t);
  for (pm_heap_t *heap = atomic_load_explicit(&_pm_heaps_all, memory_order_acquire); heap != NULL;
       heap = heap->next_all) {
    for (size_t c = 0; c < PM_CLASS_COUNT; c++) {
      t->allocations[c] += atomic_load_explicit(&heap->stats.allocations[c], memory_order_relaxed);
      t->frees[c] += atomic_load_explicit(&heap->stats.frees[c], memory_order_relaxed);
      t->fresh[c] += atomic_load_explicit(&heap->stats.fresh[c], memory_order_relaxed);
    }
    t->large_cache_hits += atomic_load_explicit(&heap->large_cache_hits, memory_order_relaxed);
    t->large_cache_puts += atomic_load_explicit(&heap->large_cache_puts, memory_order_relaxed);
  }
  for (size_t c = 0; c < PM_CLASS_COUNT; c++)
    t->frees[c] += atomic_load_explicit(&_pm_pool.orphan_frees[c], memory_order_relaxed);
}

static uint64_t live_blocks(const small_totals_t *t, size_t c) {
  /* Counters of different threads are read at slightly different moments. */
  return t->allocations[c] > t->frees[c] ? t->allocations[c] - t->frees[c] : 0;
}

static void peak_raise(uint64_t allocated) {
  uint64_t peak = atomic_load_explicit(&peak_allocated, memory_order_relaxed);
  while (allocated > peak &&
         !atomic_compare_exchange_weak_explicit(&peak_allocated, &peak, allocated,
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

static uint64_t small_allocated(const small_totals_t *t) {
  uint64_t bytes = 0;
  for (size_t c = 0; c < PM_CLASS_COUNT; c++)
    bytes += live_blocks(t, c) * _pm_class_size[c];
  return bytes;
}

/* Pages lock held: the pool's large bytes in use, less the cached bytes
 * threads keep. Under the lock no cached span leaves the pool's count, but the
 * owners take and put spans without it, so the walk of the slots may count
 * a span twice (moved from a slot not yet read to one read already): the
 * difference is clamped rather than allowed to wrap. */
static uint64_t large_uncached_bytes(uint64_t cached) {
  return _pm_pool.large_live_bytes > cached ? _pm_pool.large_live_bytes - cached : 0;
}

uint64_t _pm_stats_sample_peak(void) {
  _pm_lock(&_pm_pages_lock);
  uint64_t big = large_uncached_bytes(_pm_large_cache_bytes()) + _pm_pool.huge_live_bytes;
  uint64_t slab_bytes = (uint64_t)_pm_pool.slab_total * PM_SLAB_SIZE;
  uint64_t handed_out = _pm_pool_handed_out();
  _pm_unlock(&_pm_pages_lock);
  /* Small blocks never take more than their slabs: when even that bound
   * cannot raise the peak, skip summing the counters of every heap, which
   * a program that cycles slabs would otherwise pay on each new slab. */
  if (slab_bytes + big <= atomic_load_explicit(&peak_allocated, memory_order_relaxed))
    return handed_out;
  small_totals_t t;
  small_totals(&t);
  peak_raise(small_allocated(&t) + big);
  return handed_out;
}

PM_COLD void _pm_stats_with_pool(pm_stats_t *out, pm_pool_stats_t *pool) {
  _pm_init();
  small_totals_t t;
  small_totals(&t);
  _pm_lock(&_pm_pages_lock);
  memcpy(pool, &_pm_pool, offsetof(pm_pool_stats_t, orphan_frees));
  /* Thread-cached large blocks are free memory kept resident, though the
   * pool still counts them as handed out. */
  uint64_t cached = _pm_large_cache_bytes();
  pool->large_live_bytes = large_uncached_bytes(cached);
  _pm_unlock(&_pm_pages_lock);

  memset(out, 0, sizeof *out);
  uint64_t small_fresh = 0;
  for (size_t c = 0; c < PM_CLASS_COUNT; c++) {
    pm_size_class_stats_t *row = &out->classes[c];
    row->block_size = _pm_class_size[c];
    row->allocations = t.allocations[c];
    row->frees = t.frees[c];
    row->live_blocks = live_blocks(&t, c);
    row->slabs = pool->slabs[c];
    row->slab_bytes = pool->slabs[c] * PM_SLAB_SIZE;
    out->total_allocations += t.allocations[c];
    out->total_frees += t.frees[c];
    small_fresh += t.fresh[c] < t.allocations[c] ? t.fresh[c] : t.allocations[c];
  }
  out->class_count = PM_CLASS_COUNT;
  out->allocated_bytes = small_allocated(&t) + pool->large_live_bytes + pool->huge_live_bytes;
  peak_raise(out->allocated_bytes);
  out->peak_allocated_bytes = atomic_load_explicit(&peak_allocated, memory_order_relaxed);
  out->mapped_bytes = pool->mapped_bytes;
  out->released_bytes = pool->released_bytes;
  out->retained_bytes = pool->dirty_bytes + pool->huge_cached_bytes + cached;
  out->total_allocations += pool->large_allocations + t.large_cache_hits + pool->huge_allocations;
  out->total_frees += pool->large_frees + t.large_cache_puts + pool->huge_frees;
  /* Small blocks not carved fresh, and large ones from a thread's cache,
   * were freed before: reuse. */
  out->reuse_count = out->total_allocations - pool->large_allocations - pool->huge_allocations -
                     small_fresh + pool->large_reuse + pool->huge_reuse;
  out->reuse_rate =
      out->total_allocations ? (double)out->reuse_count / (double)out->total_allocations : 0.0;
  out->fragmentation =
      out->mapped_bytes ? 1.0 - (double)out->allocated_bytes / (double)out->mapped_bytes : 0.0;
}

PM_COLD PM_EXPORT int pm_stats(pm_stats_t *out) {
  if (out == NULL) return -1;
  pm_pool_stats_t pool;
  _pm_stats_with_pool(out, &pool);
  return 0;
}

PM_COLD PM_EXPORT int pm_stats_print(int fd, pm_stats_format_t format) {
  if (format != PM_STATS_TEXT && format != PM_STATS_JSON) {
    errno = EINVAL;
    return -1;
  }
  pm_stats_t s;
  pm_stats(&s);
  pm_emitter_t e;
  _pm_emitter_init(&e, fd, format);
  _pm_emitter_object_begin(&e, NULL);
  _pm_emitter_kv_u64(&e, "allocated_bytes", s.allocated_bytes);
  _pm_emitter_kv_u64(&e, "peak_allocated_bytes", s.peak_allocated_bytes);
  _pm_emitter_kv_u64(&e, "mapped_bytes", s.mapped_bytes);
  _pm_emitter_kv_u64(&e, "released_bytes", s.released_bytes);
  _pm_emitter_kv_u64(&e, "retained_bytes", s.retained_bytes);
  _pm_emitter_kv_u64(&e, "total_allocations", s.total_allocations);
  _pm_emitter_kv_u64(&e, "total_frees", s.total_frees);
  _pm_emitter_kv_u64(&e, "reuse_count", s.reuse_count);
  _pm_emitter_kv_double(&e, "reuse_rate", s.reuse_rate);
  _pm_emitter_kv_double(&e, "fragmentation", s.fragmentation);
  /* Rows only for the classes in use: a program touches a handful. */
  _pm_emitter_array_begin(&e, "classes");
  for (size_t c = 0; c < s.class_count; c++) {
    const pm_size_class_stats_t *row = &s.classes[c];
    if (row->allocations == 0 && row->slabs == 0) continue;
    _pm_emitter_object_begin(&e, NULL);
    _pm_emitter_kv_u64(&e, "block_size", row->block_size);
    _pm_emitter_kv_u64(&e, "allocations", row->allocations);
    _pm_emitter_kv_u64(&e, "frees", row->frees);
    _pm_emitter_kv_u64(&e, "live_blocks", row->live_blocks);
    _pm_emitter_kv_u64(&e, "slabs", row->slabs);
    _pm_emitter_kv_u64(&e, "slab_bytes", row->slab_bytes);
    _pm_emitter_object_end(&e);
  }
  _pm_emitter_array_end(&e);
  _pm_arena_emit_stats(&e);
  _pm_emitter_object_end(&e);
  return _pm_emitter_finish(&e);
}

/* Opens the stats_file option with %p replaced by the pid; -1 if unusable.
 * The expanded name has the option's own limit (255 bytes): a longer one
 * is refused, not cut short, which would send the statistics to a file of
 * another name. */
PM_COLD static int stats_open_file(const char *pattern) {
  char path[sizeof _pm_options.stats_file];
  char pid[24];
  size_t pid_len = _pm_format_u64(pid, (uint64_t)_pm_prim_getpid());
  size_t len = 0;
  for (const char *c = pattern; *c; c++) {
    bool is_pid = c[0] == '%' && c[1] == 'p';
    size_t n = is_pid ? pid_len : 1;
    if (len + n >= sizeof path) {
      _pm_warn("the stats file path is too long once %p is replaced: ", pattern,
               "; writing to stderr");
      return -1;
    }
    memcpy(path + len, is_pid ? pid : c, n);
    len += n;
    c += is_pid;
  }
  path[len] = '\0';
  int fd = _pm_prim_open_for_write(path);
  if (fd < 0) _pm_warn("cannot open the stats file ", path, "; writing to stderr");
  return fd;
}

/* The report the stats option asks for, to fd. */
PM_COLD static int stats_report(int fd) {
  return _pm_stats_print(fd,
                         _pm_options.stats == PM_STATS_MODE_JSON ? PM_STATS_JSON : PM_STATS_TEXT);
}

void _pm_stats_print_at_exit(void) {
  if (_pm_options.stats == PM_STATS_OFF) return;
  int fd = _pm_stderr_fd();
  int opened = -1;
  if (_pm_options.stats_file[0] != '\0') opened = stats_open_file(_pm_options.stats_file);
  if (opened >= 0) fd = opened;
  /* A reader that left the pipe (stats to stderr | head) must not turn the
   * program's exit status into a SIGPIPE death. */
  int written = _pm_prim_write_without_sigpipe(stats_report, fd);
  if (opened < 0) return;
  _pm_prim_close(opened);
  /* A file that opened but took no report (a full disk, /dev/full): the
   * report goes to stderr, as when the file cannot be opened. */
  if (written != 0) {
    _pm_warn("cannot write the stats file ", _pm_options.stats_file, "; writing to stderr");
    _pm_prim_write_without_sigpipe(stats_report, _pm_stderr_fd());
  }
}

PM_DEFINE_HIDDEN_ALIAS(pm_stats_print);
