/* internal.h: declarations shared between the allocator's files (the _pm_
 * prefix), plus the small inline helpers every path needs. */
#ifndef PM_INTERNAL_H
#define PM_INTERNAL_H

#include "config.h" /* PM_DEBUG (configure --enable-debug) turns pm_assert on */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "poolmalloc.h"
#include "prim.h"
#include "types.h"

#define pm_likely(x)   __builtin_expect(!!(x), 1)
#define pm_unlikely(x) __builtin_expect(!!(x), 0)
#define PM_HIDDEN      __attribute__((visibility("hidden")))
#define PM_NOINLINE    __attribute__((noinline))
#define PM_TLS         __thread __attribute__((tls_model("initial-exec")))
/* A hidden second name, _pm_NAME, for an exported entry point that the
 * library itself calls (interpose.c forwards the malloc family to them).
 * Such a call binds directly rather than through the PLT: one indirect
 * jump and one lazy-binding relocation fewer, while the exported name stays
 * interposable. PM_HIDDEN_ALIAS declares it (here, below); the file that
 * defines NAME adds PM_DEFINE_HIDDEN_ALIAS(NAME) after it. */
#define PM_HIDDEN_ALIAS(name) extern __typeof(name) _##name PM_HIDDEN
/* copy (GCC 9+): the alias keeps the target's malloc and alloc_size
 * attributes; GCC warns on an alias without them, clang neither has the
 * attribute nor warns. */
#ifdef __has_attribute
#if __has_attribute(copy)
#define PM_COPY_ATTRIBUTES(name) __attribute__((copy(name)))
#endif
#endif
#ifndef PM_COPY_ATTRIBUTES
#define PM_COPY_ATTRIBUTES(name)
#endif
#define PM_DEFINE_HIDDEN_ALIAS(name)                                                               \
  extern __typeof(name) _##name __attribute__((alias(#name))) PM_COPY_ATTRIBUTES(name)

#ifdef PM_DEBUG
#define pm_assert(cond, msg) ((cond) ? (void)0 : _pm_fatal("assertion failed: " msg))
#else
#define pm_assert(cond, msg) ((void)0)
#endif

static inline size_t pm_align_up(size_t n, size_t alignment) {
  return (n + alignment - 1) & ~(alignment - 1);
}
static inline bool pm_is_power_of_two(size_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

/* ---- error.c: one-line fatal messages written with write(2) ---- */
/* Keeps a copy of stderr, for a program that closes it before the report
 * at exit (stats.c asks, when statistics are on). */
void _pm_stderr_keep(void);
/* Where messages and exit statistics go: that copy while it still refers
 * to the file it was taken of, else fd 2; -1 (nowhere) when the program
 * started without stderr. */
int _pm_stderr_fd(void);
/* Fork child handler: closes the copy, so the child reports to its fd 2. */
void _pm_stderr_fork_child(void);
_Noreturn void _pm_fatal(const char *message);
/* "poolmalloc: FUNC(): PROBLEM 0xADDR", then abort(). */
_Noreturn void _pm_fatal_pointer(const char *func, const char *problem, const void *ptr);
/* "poolmalloc: PART1PART2PART3" as one line on stderr. */
void _pm_warn(const char *part1, const char *part2, const char *part3);
/* Hexadecimal / decimal rendering without stdio; returns the length. */
size_t _pm_format_hex(char *out, uintptr_t value);
size_t _pm_format_u64(char *out, uint64_t value);

/* ---- options.c: the single option table ---- */
/* In the order of the stats option's choices (options.c). */
typedef enum pm_stats_mode_e {
  PM_STATS_OFF = 0,
  PM_STATS_MODE_TEXT,
  PM_STATS_MODE_JSON
} pm_stats_mode_t;
typedef struct pm_options_s {
  uint64_t decay_ms;          /* free memory idle this long goes back to the OS */
  uint64_t retain_max;        /* retained free memory above this is released at once */
  uint64_t limit;             /* 0, or the most bytes the allocator may map */
  uint64_t stats;             /* pm_stats_mode_t: print statistics at exit */
  uint64_t background_thread; /* 1: a thread releases idle memory on time */
  uint64_t fail_map_after;    /* test hook: OS mappings after this many fail (0 = off) */
  uint64_t thp;               /* pm_prim_thp_t: transparent huge pages for our mappings */
  uint64_t validate_plans;    /* 1: check every plan for overlaps before it is used */
  uint64_t large_cache;       /* bytes of freed large blocks each thread keeps */
  char stats_file[256];       /* where to print them ("" = stderr); %p = pid */
} pm_options_t;
extern pm_options_t _pm_options PM_HIDDEN;
void _pm_options_init(void);
/* Applies a POOLMALLOC_CONF-style string ("name:value,..."). */
void _pm_options_apply_conf(const char *conf);
/* Parses "123", "64K", "2M", "1G"; returns 0 or -1. */
int _pm_options_parse_size(const char *text, size_t len, uint64_t *out);

/* ---- size_class.c ---- */
extern uint8_t _pm_class_table[PM_DIRECT_MAX / PM_ALIGNMENT + 1] PM_HIDDEN;
extern uint32_t _pm_class_size[PM_CLASS_COUNT] PM_HIDDEN;
void _pm_size_class_init(void);
/* Class of a size in (128, PM_SMALL_MAX]: eight classes per doubling. */
static inline size_t _pm_class_of_spaced(size_t size) {
  size_t s = size - 1;
  size_t bit = 63 - (size_t)__builtin_clzl(s);
  return 8 + (bit - 7) * 8 + ((s >> (bit - 3)) & 7);
}
/* Class of a size in [0, PM_SMALL_MAX] (see size_class.c). */
static inline size_t _pm_class_of(size_t size) {
  if (size <= PM_DIRECT_MAX) return _pm_class_table[(size + PM_ALIGNMENT - 1) / PM_ALIGNMENT];
  return _pm_class_of_spaced(size);
}

/* ---- hardening: on unless built with -DPM_HARDENING=0, which only the
 * benchmark does, to state what the checks cost (bench/README.md). ---- */
#ifndef PM_HARDENING
#define PM_HARDENING 1
#endif

/* Secret encoding of free-list links (mimalloc's secure mode idea): a link
 * is stored XORed with a per-process random key, so a stray or hostile
 * write cannot plant a usable free-list pointer. */
extern uintptr_t _pm_free_key PM_HIDDEN;
static inline uintptr_t _pm_block_encode(const pm_block_t *next) {
  return PM_HARDENING ? (uintptr_t)next ^ _pm_free_key : (uintptr_t)next;
}
static inline pm_block_t *_pm_block_decode(uintptr_t link) {
  return (pm_block_t *)(PM_HARDENING ? link ^ _pm_free_key : link);
}

/* The freed mark (glibc's tcache key, since 2.29): a free, and the carving
 * of fresh blocks, write a second per-process random value, XORed with the
 * block's address, into the block's second word and malloc clears it, so a
 * block that carries its mark when it is freed was almost certainly not
 * handed out: freed already. That catches a repeated free wherever the
 * first one put the block (any place on a slab's lists, on either thread),
 * at the price of a read of a line the free writes anyway. The owner
 * confirms a mark by finding the block on the slab's lists, since a program
 * may have written those 8 bytes itself; another thread cannot walk them
 * and trusts the mark (63 random bits). The address is in the mark because
 * programs copy stale marks without writing them: pages of an emptied slab
 * go on to serve a large block with the marks of its freed blocks still in
 * them, and a realloc that shrinks that block, or a memcpy from it, carries
 * one into a live small block; with the value alone, that block's free on
 * another thread was called a double free. A mark copied to any other
 * address no longer matches. A write after free can erase the mark, so the
 * repeat of the latest free on the slab, which costs one compare with a
 * value loaded anyway, is still tested; without hardening it is all that
 * is seen. */
extern uintptr_t _pm_freed_mark PM_HIDDEN;
static inline uintptr_t _pm_block_mark_value(const pm_block_t *block) {
  return _pm_freed_mark ^ (uintptr_t)block; /* odd, so never a cleared word */
}
static inline bool _pm_block_carries_mark(const pm_block_t *block) {
  return PM_HARDENING && block->freed_mark == _pm_block_mark_value(block);
}
/* The owner's cheap test: the mark, or the latest free on the slab. */
static inline bool _pm_block_marked_freed(const pm_block_t *block, const pm_span_t *span) {
  return block == span->free || _pm_block_carries_mark(block);
}
static inline void _pm_block_mark_freed(pm_block_t *block) {
  if (PM_HARDENING) block->freed_mark = _pm_block_mark_value(block);
}
static inline void _pm_block_clear_mark(pm_block_t *block) {
  if (PM_HARDENING) block->freed_mark = 0;
}

/* ---- registry.c: which segment-sized regions hold our segments ---- */
#define PM_REGION_BITS        (48 - PM_SEGMENT_SHIFT) /* regions of a 48-bit address space */
#define PM_REGION_COUNT       ((size_t)1 << PM_REGION_BITS)
#define PM_REGISTRY_LEAF_BITS (PM_REGION_BITS / 2)
#define PM_REGISTRY_ROOT_BITS (PM_REGION_BITS - PM_REGISTRY_LEAF_BITS)
extern _Atomic(pm_segment_t **) _pm_registry[1u << PM_REGISTRY_ROOT_BITS] PM_HIDDEN;
/* One bit per region that holds a segment of spans (whose header is then
 * the region's start): the free fast path's single-load test. */
extern uint64_t _pm_span_regions[PM_REGION_COUNT / 64] PM_HIDDEN;
/* Start of the 32 MiB region holding p. A segment of spans begins its
 * region, so for any pointer into one (a block or a descriptor) this is
 * the segment's header. */
static inline pm_segment_t *_pm_region_start(const void *p) {
  return (pm_segment_t *)((uintptr_t)p & ~(uintptr_t)PM_SEGMENT_MASK);
}
static inline bool _pm_span_region_bit(uintptr_t index, int order) {
  return (__atomic_load_n(&_pm_span_regions[index / 64], order) >> (index % 64)) & 1;
}
static inline pm_segment_t *_pm_span_segment_lookup(const void *ptr) {
  uintptr_t index = (uintptr_t)ptr >> PM_SEGMENT_SHIFT;
  if (pm_unlikely(index >= PM_REGION_COUNT)) return NULL;
  if (!_pm_span_region_bit(index, __ATOMIC_RELAXED)) return NULL;
  return _pm_region_start(ptr);
}
/* Header of the segment whose region holds ptr, or NULL: the only test for
 * "ours", and it never reads the pointed-to memory. */
static inline pm_segment_t *_pm_registry_lookup(const void *ptr) {
  uintptr_t index = (uintptr_t)ptr >> PM_SEGMENT_SHIFT;
  if (pm_unlikely(index >= PM_REGION_COUNT)) return NULL;
  if (_pm_span_region_bit(index, __ATOMIC_ACQUIRE)) return _pm_region_start(ptr);
  pm_segment_t **leaf =
      atomic_load_explicit(&_pm_registry[index >> PM_REGISTRY_LEAF_BITS], memory_order_acquire);
  if (pm_unlikely(leaf == NULL)) return NULL;
  return leaf[index & ((1u << PM_REGISTRY_LEAF_BITS) - 1)];
}
bool _pm_registry_set(const void *region, pm_segment_t *segment);
void _pm_registry_clear(const void *region);

/* ---- lock.c: futex locks (see init.c for the order they are taken in) ---- */
PM_NOINLINE void _pm_lock_wait(pm_lock_t *lock);
PM_NOINLINE void _pm_lock_wake(pm_lock_t *lock);
static inline bool _pm_lock_try(pm_lock_t *lock) {
  uint32_t expected = 0;
  return atomic_compare_exchange_strong_explicit(&lock->state, &expected, 1, memory_order_acquire,
                                                 memory_order_relaxed);
}
/* True in the forking thread between the fork handlers (init.c), which
 * hold every lock: the thread passes through them, so other libraries'
 * fork handlers may allocate. */
extern PM_TLS bool _pm_forking PM_HIDDEN;
/* The process's id as the allocator last saw it: set at start-up and by
 * the fork child handler, so a child made by _Fork, which runs no fork
 * handlers, still holds its parent's (compared on slow paths only: a
 * getpid is a system call). */
extern pid_t _pm_process_pid PM_HIDDEN;
static inline bool _pm_in_unhandled_fork_child(void) {
  return _pm_prim_getpid() != _pm_process_pid;
}
/* Uncontended: one compare-and-swap (and a thread-local load). Always
 * inlined, as _pm_unlock: a cold caller would otherwise get a copy in its
 * own file's code, and the statistics' walk of the arenas mapped the
 * planner's code pages for one (tests/integration/code_pages.sh). */
static inline __attribute__((always_inline)) void _pm_lock(pm_lock_t *lock) {
  if (pm_unlikely(_pm_forking)) return;
  if (pm_unlikely(!_pm_lock_try(lock))) _pm_lock_wait(lock);
}
/* Uncontended: one exchange; wakes a sleeper when one may wait. */
static inline __attribute__((always_inline)) void _pm_unlock(pm_lock_t *lock) {
  if (pm_unlikely(_pm_forking)) return;
  if (pm_unlikely(atomic_exchange_explicit(&lock->state, 0, memory_order_release) == 2))
    _pm_lock_wake(lock);
}
/* Tries for up to about ms milliseconds; 0 if the lock was taken. */
int _pm_lock_within(pm_lock_t *lock, unsigned ms);
/* In a forked child: locks other threads held at the fork are freed. A
 * thread that a child fork handler started before ours may sleep on one
 * already: it is woken, or no unlock ever would. */
static inline void _pm_lock_reset(pm_lock_t *lock) {
  atomic_store_explicit(&lock->state, 0, memory_order_relaxed);
  _pm_lock_wake(lock);
}

/* ---- segment.c: page runs inside segments, under _pm_pages_lock ---- */
#define PM_SEGMENT_HEADER_PAGES                                                                    \
  ((sizeof(pm_segment_t) + PM_SEGMENT_SPAN_SLOTS * sizeof(pm_span_t) + PM_PAGE_SIZE - 1) /         \
   PM_PAGE_SIZE)
#define PM_SEGMENT_USABLE_PAGES (PM_SEGMENT_PAGES - PM_SEGMENT_HEADER_PAGES)
_Static_assert(PM_SEGMENT_PAGES <= UINT16_MAX, "page counts and head offsets fit 16 bits");
_Static_assert(PM_LARGE_MAX <= PM_SEGMENT_USABLE_PAGES * PM_PAGE_SIZE,
               "a large block must fit in a segment");
extern pm_lock_t _pm_pages_lock PM_HIDDEN;
typedef struct pm_pool_stats_s {
  uint64_t mapped_bytes;   /* segments and huge mappings */
  uint64_t released_bytes; /* purged or unmapped while free, cumulative */
  uint64_t dirty_bytes;    /* free runs still resident */
  uint64_t huge_cached_bytes;
  uint64_t large_live_bytes;
  uint64_t handed_out_sampled; /* most bytes handed out when a big block took a peak sample */
  uint64_t huge_live_bytes;
  uint64_t large_allocations, large_frees, large_reuse;
  uint64_t huge_allocations, huge_frees, huge_reuse;
  uint64_t idle_slabs; /* bins with an idle slab registered (idle.c) */
  size_t slabs[PM_CLASS_COUNT];
  size_t slab_total;                             /* the sum of slabs[] */
  _Atomic uint64_t orphan_frees[PM_CLASS_COUNT]; /* small frees by threads without a heap */
} pm_pool_stats_t;
extern pm_pool_stats_t _pm_pool PM_HIDDEN;
/* A span of page_count pages whose start is aligned to align_pages pages,
 * marked kind; its first *resident_pages pages may hold old contents, the
 * rest read as zero. NULL when out of memory. */
pm_span_t *_pm_span_alloc(size_t page_count, size_t align_pages, pm_span_kind_t kind,
                          size_t *resident_pages);
/* Returns a span to the free runs, free since freed_at (ms; decay counts
 * from there). Its first resident_pages pages may be resident (retained
 * until decay); the rest are clean (never touched, or purged) and become a
 * clean run. */
void _pm_span_free(pm_span_t *span, size_t resident_pages, uint64_t freed_at);
/* Pages lock held. The span whose pages hold ptr (NULL for a header page),
 * found by walking the segment's spans head to head: exact where
 * head_offsets may be stale (inner pages of a large block), but O(spans),
 * so for error reports only. */
pm_span_t *_pm_span_containing(pm_segment_t *segment, const void *ptr);
/* Grows a large span in place to page_count pages; false if the next run
 * is taken, too short, or (resident_only) has too few resident pages. */
bool _pm_span_grow(pm_span_t *span, size_t page_count, bool resident_only);
/* Gives back the pages past page_count of a span, free since freed_at. */
void _pm_span_shrink(pm_span_t *span, size_t page_count, uint64_t freed_at);
/* The descriptor of page (a span's, if page heads one). Slabs start
 * PM_SLAB_PAGES pages (64 KiB) apart, so one slot per page would put their
 * descriptors 1 KiB apart, all in 4 of the 64 sets of a 32 KiB 8-way L1
 * data cache (address bits 6-11): at most 32 of them cached at once. A
 * spare slot after every PM_SLAB_PAGES makes the step 1088 B, which visits
 * every set. bench/wl-churn (about 80 slabs live) had 1.1 L1 misses per
 * malloc and free on descriptors, against glibc's chunk headers next to
 * the block. One shift and one add. */
static inline pm_span_t *_pm_segment_span(pm_segment_t *segment, size_t page) {
  return &segment->span_slots[page + page / PM_SLAB_PAGES];
}
/* The page whose descriptor span is: the inverse of _pm_segment_span. */
static inline size_t _pm_span_page(const pm_segment_t *segment, const pm_span_t *span) {
  /* 32 bits: the compiler divides by a multiply and a shift. */
  uint32_t slot = (uint32_t)(span - segment->span_slots);
  return slot - slot / (PM_SLAB_PAGES + 1);
}
/* The span holding ptr, which lies in segment (a PM_SEGMENT_SPANS one). */
static inline pm_span_t *_pm_span_of(pm_segment_t *segment, const void *ptr) {
  size_t page = ((uintptr_t)ptr & PM_SEGMENT_MASK) >> PM_PAGE_SHIFT;
  return _pm_segment_span(segment, page - segment->head_offsets[page]);
}
/* Slabs start on a multiple of PM_SLAB_PAGES pages, so the descriptor there
 * is the slab holding ptr if any is: it is a live slab head (non-NULL heap)
 * only then, since freeing a span clears its heap. */
static inline pm_span_t *_pm_slab_candidate(pm_segment_t *segment, const void *ptr) {
  size_t page = ((uintptr_t)ptr & PM_SEGMENT_MASK) >> PM_PAGE_SHIFT;
  return _pm_segment_span(segment, page & ~(size_t)(PM_SLAB_PAGES - 1));
}
/* Descriptors live in their segment's header, one per page. */
static inline pm_segment_t *_pm_segment_of_span(const pm_span_t *span) {
  return _pm_region_start(span);
}
static inline uint8_t *_pm_span_start(const pm_span_t *span) {
  pm_segment_t *segment = _pm_segment_of_span(span);
  return (uint8_t *)segment + (_pm_span_page(segment, span) << PM_PAGE_SHIFT);
}
/* Purges dirty runs freed before cutoff_ms (all when cutoff_ms is UINT64_MAX),
 * largest first, until at least budget bytes are released, and unmaps
 * segments left wholly free; returns bytes released. */
uint64_t _pm_segments_purge(uint64_t cutoff_ms, uint64_t budget);
/* The same with no budget, dropping the pages lock (held on entry and on
 * return) around the system calls: for the background thread only. */
uint64_t _pm_segments_purge_dropping_lock(uint64_t cutoff_ms);
/* Whether mapping size more bytes stays within the limit option. */
bool _pm_within_limit(size_t size);
/* A new mapping counted in mapped_bytes; NULL past the limit or when the
 * OS refuses it. The pages lock, held on entry and on return, is dropped
 * around the system calls: mmap waits for the process's mmap lock, which
 * another thread's munmap or madvise of tens of resident megabytes holds
 * for milliseconds, and no thread need wait for the pages lock meanwhile.
 * Counted before the drop, so threads mapping at once stay within the
 * limit. */
void *_pm_pool_map(size_t size, size_t alignment);
/* Its two halves, around another call that maps size more bytes: the
 * first counts them and drops the lock (false, lock kept, past the
 * limit), the second takes the lock back and uncounts them unless they
 * were mapped. */
bool _pm_pool_unlock_to_map(size_t size);
void _pm_pool_relock_after_mapping(size_t size, bool mapped);
/* Unmaps a list of forgotten segments (spans or huge) linked through
 * next; nothing else refers to them, so the pages lock need not be held. */
void _pm_segments_unmap(pm_segment_t *list);
void _pm_segments_after_fork_child(void);

/* ---- slab.c: blocks of one class inside a span ---- */
void _pm_slab_init(pm_span_t *span, size_t size_class, pm_heap_t *heap);
/* Moves locally and remotely freed blocks to the free list. */
void _pm_slab_collect(pm_span_t *span);
/* Fresh blocks are carved a page's worth at a time (at least one block),
 * so a slab's memory is touched only as it is needed. */
static inline uint32_t _pm_slab_extend_count(const pm_span_t *span) {
  uint32_t count = (uint32_t)(PM_PAGE_SIZE / span->block_size);
  return count > 0 ? count : 1;
}
/* Moves the carving frontier (reserved) past up to _pm_slab_extend_count
 * never-used blocks; returns how many (0: the slab is wholly carved). */
uint32_t _pm_slab_reserve(pm_span_t *span);
/* Offset of the first page past the carving frontier (no block there). */
size_t _pm_slab_frontier(const pm_span_t *span);
/* Pages lock held. Pages of a slab that may be resident: up to its
 * frontier, or its dirty count of first pages when that is more. */
size_t _pm_slab_resident_pages(const pm_span_t *span);
/* Puts the count blocks just below the frontier on the empty free list. */
void _pm_slab_carve(pm_span_t *span, uint32_t count, pm_heap_t *heap);
void _pm_slab_free_remote(pm_span_t *span, pm_block_t *block, const char *func);
/* Owner only. Aborts with a message when block is already on one of span's
 * free lists (a marked block's remote list is collected first). */
void _pm_slab_check_double_free(pm_span_t *span, const pm_block_t *block, const char *func);
/* For a slab whose count of blocks in use reached zero: aborts naming a
 * block that sits on its free lists twice (a double free the fast path let
 * through, which would otherwise retire a slab with live blocks). */
void _pm_slab_check_empty(const pm_span_t *span);
/* Whether ptr is the start of a block of span; aborts naming func otherwise. */
void _pm_slab_check_pointer(const pm_span_t *span, const void *ptr, const char *func);

/* ---- heap.c: per-thread heaps ---- */
extern PM_TLS pm_heap_t *_pm_heap_default PM_HIDDEN;
extern pm_heap_t _pm_heap_empty PM_HIDDEN;
extern pm_span_t _pm_span_empty PM_HIDDEN;
extern pm_lock_t _pm_heaps_lock PM_HIDDEN;
extern _Atomic(pm_heap_t *) _pm_heaps_all PM_HIDDEN;
PM_NOINLINE void *_pm_heap_malloc_slow(pm_heap_t *heap, size_t size);
/* Called by the local free path when a slab became empty or left its full list. */
PM_NOINLINE void _pm_heap_slab_freed(pm_heap_t *heap, pm_span_t *span);
void *_pm_heap_malloc_small(pm_heap_t *heap, size_t size_class);
/* The calling thread's heap, made on its first call; NULL when out of
 * memory, and also once the thread's exit hook has run (_pm_thread_exited). */
pm_heap_t *_pm_heap_for_thread(void);
/* Set by the thread's exit hook: a thread-specific destructor that runs
 * after it and allocates must not make a heap (heap.c). */
extern PM_TLS bool _pm_thread_exited PM_HIDDEN;
void _pm_heap_thread_exit(void *heap);
/* Returns empty slabs of the calling thread's heap to the page pool. */
void _pm_heap_trim_current(void);
/* Frees abandoned slabs that have become empty; pages lock held. */
void _pm_heap_reap_abandoned(void);

/* ---- idle.c: unused pages of thread heaps' current slabs ---- */
/* Empties inside the first extension after which a class counts as hot
 * and keeps its emptied slab as it is, unpurged (idle.c). A ping-pong
 * reaches it at once;
 * setup and teardown code does not: the inference-arena benchmark plans
 * two graphs, so every class the planner used emptied twice, and with a
 * limit of 2 the slabs of seven such classes kept a resident page each
 * after the program went quiet (28 KiB). */
#define PM_COLD_EMPTIES 8
/* Registers the current slab of bin as idle past its frontier; pages lock
 * held. */
void _pm_idle_register(pm_bin_t *bin, pm_span_t *span);
/* Forgets span if it is bin's idle slab (before the slab leaves the heap);
 * pages lock held. */
void _pm_idle_forget(pm_bin_t *bin, pm_span_t *span);
/* For the owner: the current slab emptied, and stays current: as it is for
 * a hot class, otherwise started over from its first block and registered
 * idle. Returns true when it emptied inside its first extension (a cold
 * class, which the heap keeps only for a while). The caller calls
 * _pm_background_check once its own bookkeeping is done. */
bool _pm_idle_keep_emptied(pm_bin_t *bin, pm_span_t *span);
/* For the owner: carves more blocks of span, moving the frontier under the
 * pages lock while the slab is registered; false if wholly carved. */
bool _pm_idle_extend(pm_heap_t *heap, pm_bin_t *bin, pm_span_t *span);
/* Purges the idle pages of slabs registered before cutoff_ms; pages lock
 * held; returns the bytes purged. */
uint64_t _pm_idle_purge(uint64_t cutoff_ms);

/* ---- large.c / huge.c ---- */
/* Whether a run of size bytes at alignment fits in one segment. */
bool _pm_large_fits_segment(size_t size, size_t alignment);
void *_pm_large_alloc(size_t size, size_t alignment, bool zero);
void _pm_large_free(pm_span_t *span, const void *ptr, const char *func);
/* Pages lock held: a large span's pages back to the free runs, free since
 * freed_at, for a block freed or a cached one given up. */
void _pm_large_release(pm_span_t *span, uint64_t freed_at);
/* Claims a live large span for its free, moving it from PM_SPAN_LARGE to
 * kind in one step: false when another free (a double free, perhaps from
 * another thread) got there first. */
static inline bool _pm_large_claim(pm_span_t *span, pm_span_kind_t kind) {
  uint8_t expected = PM_SPAN_LARGE;
  return __atomic_compare_exchange_n(&span->kind, &expected, (uint8_t)kind, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED);
}

/* ---- large_cache.c: freed large blocks each thread keeps ---- */
bool _pm_large_cache_enabled(void);
/* Owner: a cached span of at least pages pages (an eighth more at most)
 * whose start is aligned to alignment, now PM_SPAN_LARGE; NULL if none. */
pm_span_t *_pm_large_cache_take(pm_heap_t *heap, size_t pages, size_t alignment);
/* Owner: keeps the large block ptr heads in the heap's cache, giving the
 * oldest cached ones back to the pool to make room; false when the block
 * is too big for the cache (or caching is off) and the caller frees it.
 * Reports a double free. */
bool _pm_large_cache_put(pm_heap_t *heap, pm_span_t *span, const void *ptr, const char *func);
/* Owner, pages lock held, for a large request the cache has no hit for:
 * every cached span goes back to the pool but one, resized in place to
 * pages pages (its tail given back, or pages taken from the free run
 * after it) and returned as PM_SPAN_LARGE when it can be; NULL otherwise.
 * gave_back tells whether the pool got memory back. */
pm_span_t *_pm_large_cache_miss(pm_heap_t *heap, size_t pages, size_t alignment, bool *gave_back);
/* Owner: every span the heap caches back to the pool (thread exit). */
void _pm_large_cache_flush(pm_heap_t *heap);
/* Pages lock held: spans of any heap cached at or before cutoff_ms back to
 * the pool; returns whether any stay cached. */
bool _pm_large_cache_sweep(uint64_t cutoff_ms);
/* Pages lock held: bytes of the spans all heaps cache. */
uint64_t _pm_large_cache_bytes(void);
void *_pm_large_realloc_in_place(pm_span_t *span, size_t size);
void *_pm_huge_alloc(size_t size, size_t alignment, bool zero);
/* The huge-block calls look ptr up, and read its header, under the pages
 * lock, under which a racing free unmaps it: a free, size query or
 * realloc racing a free of the same block aborts with a message instead
 * of faulting on an unmapped header. */
void _pm_huge_free(void *ptr, const char *func);
size_t _pm_huge_usable_size(const void *ptr, const char *func);
/* What the pool has handed out: slabs, and large and huge blocks (those in
 * threads' caches of large blocks included). Pages lock held. */
static inline uint64_t _pm_pool_handed_out(void) {
  return (uint64_t)_pm_pool.slab_total * PM_SLAB_SIZE + _pm_pool.large_live_bytes +
         _pm_pool.huge_live_bytes;
}
/* Whether what the pool has handed out reached a new high since a large
 * or huge allocation or growth last took a peak sample, which makes this
 * one worth a sample: summing every heap's counters cost 15% of the
 * inference workload when done on each. The slabs count too: with only the
 * big blocks' own high, big blocks taken again after small ones had grown
 * were never sampled. Pages lock held. */
static inline bool _pm_handed_out_new_high(void) {
  uint64_t handed_out = _pm_pool_handed_out();
  if (handed_out <= _pm_pool.handed_out_sampled) return false;
  _pm_pool.handed_out_sampled = handed_out;
  return true;
}
/* Resizes a huge block without copying (its pages move if need be);
 * returns the block's address, or NULL when the caller must move it. */
void *_pm_huge_realloc(void *ptr, size_t size, const char *func);
/* Unmaps cached huge mappings idle since before cutoff_ms, oldest first,
 * until at least budget bytes are released; returns bytes. */
uint64_t _pm_huge_purge(uint64_t cutoff_ms, uint64_t budget);
/* The same with no budget, dropping the pages lock (held on entry and on
 * return) around the unmaps: for the background thread only. */
uint64_t _pm_huge_purge_dropping_lock(uint64_t cutoff_ms);

/* ---- planner/arena.c: the arena registry's lock, which the fork handlers
 * (init.c) take first and release in both processes ---- */
void _pm_arena_fork_prepare(void);
void _pm_arena_fork_release(void);

/* ---- decay.c ---- */
/* Cheap check on the program's slow paths: runs a purge once decay is
 * due. Skipped while a background thread runs (that thread wakes at the
 * deadline anyway, and the check would read the clock on every large
 * allocation), but for one look in 256 at whether the thread is overdue
 * (decay.c). */
void _pm_decay_tick_lazy(void);
/* Called with the pages lock held after memory became free. */
void _pm_decay_after_free(void);
/* Releases every retained byte now; returns bytes released. */
uint64_t _pm_decay_release_all(void);
/* After a thread cached a large block (large_cache.c, a full barrier
 * before): makes sure a decay deadline will sweep it. One load while the
 * flag is set, which it stays while any cache holds a span. */
extern _Atomic bool _pm_decay_caches_used PM_HIDDEN;
PM_NOINLINE void _pm_decay_note_cached_slow(void);
static inline void _pm_decay_note_cached(void) {
  if (pm_unlikely(!atomic_load(&_pm_decay_caches_used))) _pm_decay_note_cached_slow();
}
/* After a free that may empty a slab no thread owns (its thread exited,
 * perhaps while the block was being freed): makes sure a decay pass will
 * reap the slabs that emptied. Only that pass walks the abandoned lists. */
PM_NOINLINE void _pm_decay_note_abandoned_free(void);
/* Background release thread: set when memory became retained; whoever sees
 * it with no allocator lock held calls one of the two checks below. */
extern _Atomic bool _pm_background_pending PM_HIDDEN;
void _pm_background_kick(bool may_start);
/* From allocation slow paths, malloc_trim and a thread's exit hook: starts
 * the thread (once) or wakes it. */
static inline void _pm_background_check(void) {
  if (pm_unlikely(atomic_load_explicit(&_pm_background_pending, memory_order_relaxed)))
    _pm_background_kick(true);
}
/* From free paths: wakes a running thread but never starts one. glibc
 * frees a joined thread's TLS under its stack-cache lock, which
 * pthread_create takes as well: a start from there deadlocked, with every
 * signal blocked. The flag stays set for the next allocation slow path. */
static inline void _pm_background_check_freed(void) {
  if (pm_unlikely(atomic_load_explicit(&_pm_background_pending, memory_order_relaxed)))
    _pm_background_kick(false);
}
/* After the pool grew (a new slab, a new high of large and huge blocks),
 * from the allocation slow path, no allocator lock held, with what
 * _pm_stats_sample_peak read the pool has handed out: once that is enough
 * that a later free will retain memory worth giving back, the thread
 * starts now, since that free cannot start it. */
void _pm_background_note_growth(uint64_t handed_out);
/* From a thread's exit hook, no allocator lock held. The main thread's
 * (it leaves through pthread_exit), and every later one's, wake an idle
 * background thread to look soon whether it is the last thread left. */
void _pm_background_thread_exited(bool main_thread);
/* At exit: joins the background thread if it has ended (one still waiting
 * is left to exit), so that no ended thread is left unjoined, and lets no
 * new one start. */
void _pm_background_join_ended(void);
/* Fork handlers: the background lock is taken after the pages lock. */
void _pm_background_fork_prepare(void);
void _pm_background_fork_parent(void);
/* thread_exiting: the forking thread's exit hook had run. */
void _pm_background_fork_child(bool thread_exiting);

/* ---- alloc.c: shared slow paths of the pm_* entry points ---- */
PM_NOINLINE void _pm_free_generic(void *ptr, const char *func);
size_t _pm_usable_size_checked(const void *ptr, const char *func);
void *_pm_alloc_aligned(size_t alignment, size_t size, bool zero);
void *_pm_alloc_zeroed(size_t size);

/* ---- stats.c ---- */
/* Samples the peak after the pool grew; returns what the pool has handed
 * out (slabs, and large and huge blocks, thread-cached ones included),
 * read under the same lock. */
uint64_t _pm_stats_sample_peak(void);
/* Keeps a copy of stderr for the exit report when one is asked for. */
void _pm_stats_init(void);
void _pm_stats_print_at_exit(void);
/* pm_stats, also handing back the copy of the pool's figures (all fields
 * before orphan_frees) it was computed from, taken under one lock. */
void _pm_stats_with_pool(pm_stats_t *out, pm_pool_stats_t *pool);

/* ---- init.c ---- */
extern bool _pm_initialized PM_HIDDEN;
void _pm_init(void);

/* alloc.c and stats.c */
PM_HIDDEN_ALIAS(pm_calloc);
PM_HIDDEN_ALIAS(pm_realloc);
PM_HIDDEN_ALIAS(pm_aligned_alloc);
PM_HIDDEN_ALIAS(pm_posix_memalign);
PM_HIDDEN_ALIAS(pm_memalign);
PM_HIDDEN_ALIAS(pm_usable_size);
PM_HIDDEN_ALIAS(pm_trim);
PM_HIDDEN_ALIAS(pm_stats_print);

static inline void pm_stat_add(_Atomic uint64_t *counter, uint64_t n) {
  atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                        memory_order_relaxed);
}

#endif /* PM_INTERNAL_H */
