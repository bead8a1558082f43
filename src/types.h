/* types.h: the allocator's internal data types and its geometry.
 *
 * Memory comes from the OS in segments of PM_SEGMENT_SIZE bytes aligned to
 * their size, so any pointer finds its segment by masking (as in mimalloc).
 * A segment is cut into 4 KiB pages; runs of pages ("spans") are either
 * slabs of equal small blocks owned by one thread heap, large blocks, or free
 * runs kept for reuse. Every page has a descriptor in the segment header; the
 * descriptor of a span's first page describes the whole span. Requests above
 * PM_LARGE_MAX get a mapping of their own (a "huge" segment), or free pages
 * of a segment when no mapping can be had (huge.c). */
#ifndef PM_TYPES_H
#define PM_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PM_SEGMENT_SHIFT 25
#define PM_SEGMENT_SIZE  ((size_t)1 << PM_SEGMENT_SHIFT) /* 32 MiB, as mimalloc 2 */
#define PM_SEGMENT_MASK  (PM_SEGMENT_SIZE - 1)
#define PM_PAGE_SHIFT    12
#define PM_PAGE_SIZE     ((size_t)1 << PM_PAGE_SHIFT)
#define PM_SEGMENT_PAGES (PM_SEGMENT_SIZE / PM_PAGE_SIZE)
#define PM_SLAB_PAGES    16 /* 64 KiB slabs, aligned to their size within the segment */
#define PM_SLAB_SIZE     (PM_SLAB_PAGES * PM_PAGE_SIZE)

#define PM_ALIGNMENT   16 /* every block is aligned to this */
#define PM_CLASS_COUNT 64 /* 16..128 step 16, then 8 classes per doubling */
#define PM_SMALL_MAX   16384
#define PM_DIRECT_MAX  1024 /* sizes served through the class lookup table */
/* Page runs share segments up to here, a quarter of a segment. Free runs
 * coalesce only within a segment and huge mappings are a separate pool, so
 * the larger both are, the more freed memory can serve any later request:
 * bench/wl-large (blocks of 64 KiB-8 MiB) peaked at 93.5 MB with 4 MiB
 * segments and a 3 MiB limit, 87 MB with 16 MiB segments, 77 MB with these
 * (jemalloc, whose extents all share one pool: 83 MB). */
#define PM_LARGE_MAX   ((size_t)8 << 20)
#define PM_HUGE_OFFSET PM_PAGE_SIZE /* huge block starts after its header page */
/* Freed large blocks a thread keeps (large_cache.c). */
#define PM_LARGE_CACHE_SLOTS 8

/* A free block; its link is encoded with the process secret (see
 * _pm_block_encode) so a stray write cannot forge a free-list pointer, and
 * its second word holds the freed mark (_pm_block_mark_freed), which
 * malloc clears. Every block has room for both: the smallest is 16 bytes. */
typedef struct pm_block_s {
  uintptr_t next;
  uintptr_t freed_mark;
} pm_block_t;
_Static_assert(sizeof(pm_block_t) <= PM_ALIGNMENT, "the smallest block holds a pm_block_t");

typedef enum pm_span_kind_e {
  PM_SPAN_HEADER = 0, /* segment metadata: never handed out */
  PM_SPAN_FREE,       /* a free run of pages */
  PM_SPAN_SLAB,       /* small blocks of one size class */
  PM_SPAN_LARGE,      /* one large block */
  PM_SPAN_CACHED      /* a freed large block its thread keeps (large_cache.c) */
} pm_span_kind_t;

struct pm_heap_s;

/* Page descriptor, valid in a span's first page (the segment's
 * head_offsets[] lead from any page to it). One cache line: a span's start
 * follows from the descriptor's place in the header (_pm_span_start), a
 * free run's age shares the word of a slab's free list, and its count of
 * resident pages that of a slab's blocks in use. */
/* Span descriptors are read without the pages lock on the free paths, to
 * learn cheaply whether a pointer heads a live slab, while a thread that
 * holds the lock may be rewriting the same descriptor (a neighbouring run
 * being carved) or its owner extending the slab. The readers check what
 * they read (owning heap, kind, exact block index), so a stale value is
 * harmless, but C11 calls it a data race: the fields read that way (kind,
 * block_size, magic, reserved, capacity, started_over) are written and
 * raced on only through these relaxed accessors, which compile to plain
 * moves on x86-64 and AArch64 and keep ThreadSanitizer precise. */
#define pm_span_get(span, field)        __atomic_load_n(&(span)->field, __ATOMIC_RELAXED)
#define pm_span_set(span, field, value) __atomic_store_n(&(span)->field, (value), __ATOMIC_RELAXED)

typedef struct pm_span_s {
  union {
    pm_block_t *free;  /* slab: blocks ready for allocation; the owner's frees go here */
    uint64_t freed_at; /* free run: when it became free (ms) */
  };
  _Atomic(struct pm_heap_s *) heap;  /* owning heap; NULL when abandoned or not a slab */
  _Atomic(pm_block_t *) thread_free; /* blocks freed by other threads */
  struct pm_span_s *next, *prev;     /* bin list, free-run list or abandoned list */
  uint32_t block_size;               /* slab block size, or large block bytes / pages */
  uint32_t magic;                    /* ceil(2^32 / block_size): offset -> index */
  union {
    uint16_t used;           /* slab: blocks handed out and not yet seen freed */
    uint16_t resident_pages; /* free run: its first pages that may be resident */
  };
  uint16_t reserved;    /* blocks carved so far (fresh memory past this) */
  uint16_t capacity;    /* blocks that fit in the slab */
  uint16_t page_count;  /* pages in the span */
  uint8_t kind;         /* pm_span_kind_t */
  uint8_t size_class;   /* slab class */
  uint8_t in_full;      /* slab sits on its bin's full list */
  uint8_t dirty;        /* free run: resident_pages > 0; slab: how many of its
                         * first pages may be resident, frontier or not */
  uint8_t started_over; /* slab: emptied and started over (idle.c) */
  uint8_t adopted;      /* slab: taken over from an exited thread (heap.c) */
  uint16_t carved_most; /* slab: most blocks ever carved in it, across start-overs */
} pm_span_t;
_Static_assert(sizeof(pm_span_t) == 64, "a span descriptor fills one cache line");
_Static_assert(PM_SLAB_SIZE / PM_ALIGNMENT <= UINT16_MAX, "slab block counts fit in 16 bits");
_Static_assert(PM_SLAB_PAGES <= UINT8_MAX, "a slab's dirty count of pages fits 8 bits");

typedef enum pm_segment_kind_e { PM_SEGMENT_SPANS = 1, PM_SEGMENT_HUGE = 2 } pm_segment_kind_t;

/* Header at the start of every mapping the allocator makes. */
typedef struct pm_segment_s {
  uint32_t kind;                    /* pm_segment_kind_t */
  uint32_t free_pages;              /* spans: pages in free runs */
  size_t mapping_size;              /* bytes mapped at this address */
  uint8_t *block;                   /* huge: the block handed out (NULL while cached) */
  size_t block_size;                /* huge: usable bytes of the block; 0 while cached */
  uint64_t freed_at;                /* huge: when it entered the cache (ms) */
  struct pm_segment_s *next, *prev; /* huge cache list */
  /* spans: each page's distance from the first page of its span, packed
   * apart from the descriptors so that a lookup touches few cache lines. */
  uint16_t head_offsets[PM_SEGMENT_PAGES];
  /* spans: one descriptor per page, each one cache line, in slots laid
   * out by _pm_segment_span (internal.h): after every PM_SLAB_PAGES
   * descriptors comes one unused slot. */
  pm_span_t span_slots[] __attribute__((aligned(64)));
} pm_segment_t;
/* Slots for a segment's descriptors: one per page and the spare ones. */
#define PM_SEGMENT_SPAN_SLOTS (PM_SEGMENT_PAGES + PM_SEGMENT_PAGES / PM_SLAB_PAGES)

/* A doubly linked list of spans through their next/prev links. */
typedef struct pm_span_list_s {
  pm_span_t *first, *last;
} pm_span_list_t;

/* Per-class state of a thread heap. */
typedef struct pm_bin_s {
  pm_span_t *current;    /* the fast path allocates from here; NULL when none */
  pm_span_list_t active; /* slabs that may have free blocks; back from full at the end */
  pm_span_list_t full;   /* slabs that had none at the last look */
  /* The current slab while its pages past the carving frontier may be
   * resident and unused, waiting for decay to purge them (idle.c); written
   * under the pages lock, read by the owner without it. */
  _Atomic(struct pm_span_s *) idle;
  uint64_t idle_since;          /* when idle was set (ms); pages lock */
  _Atomic uint32_t remote_hint; /* bumped when another thread frees into a full slab */
  uint32_t remote_seen;         /* remote_hint at the last scan of the full list */
  uint32_t adopted;             /* adopted slabs the bin holds: its full list is rescanned */
  /* times a slab of this class emptied inside its first extension, over the
   * heap's life; stops at PM_COLD_EMPTIES (internal.h) */
  uint32_t early_empties;
} pm_bin_t;
/* The words first, then the counters: no padding, so more bins share the
 * heap's first page. */
_Static_assert(sizeof(pm_bin_t) == 72, "a bin is 72 bytes");

/* Counters written only by the owning thread with relaxed atomics (plain
 * moves on x86-64), summed over all heaps on demand. */
typedef struct pm_heap_stats_s {
  _Atomic uint64_t allocations[PM_CLASS_COUNT];
  _Atomic uint64_t frees[PM_CLASS_COUNT];
  _Atomic uint64_t fresh[PM_CLASS_COUNT]; /* blocks carved for the first time in their slab */
} pm_heap_stats_t;

/* A heap touches memory only for the classes a thread uses: a new heap is
 * zeroed memory in which only the direct table is written, and the fields
 * every malloc and free write (the direct table, the counters) come first,
 * then the cache of large blocks, then the bins from the smallest class
 * up. A heap starts on a page, so a thread whose small blocks are at most
 * 640 bytes (the first 26 classes), with large blocks or without, keeps
 * its heap in one resident page of the two (heap.c checks this). */
typedef struct pm_heap_s {
  /* The current slab for each size up to PM_DIRECT_MAX in 16-byte steps:
   * the malloc fast path's one lookup (mimalloc's pages_free_direct). An
   * entry of a class without a current slab points to _pm_span_empty. */
  pm_span_t *direct[PM_DIRECT_MAX / PM_ALIGNMENT + 1];
  pm_heap_stats_t stats;
  struct pm_heap_s *next_all;  /* every heap ever made; heaps are recycled, never unmapped */
  struct pm_heap_s *next_free; /* heaps of exited threads, ready for reuse */
  /* Bumped when the owning thread's exit hook starts and again when it
   * ends (odd while it runs), never reset: a remote free compares it
   * before and after publishing its block to learn whether the slab may
   * have lost its owner meanwhile, without reading the slab again
   * (slab.c). */
  _Atomic uint32_t exits;
  /* The latest slabs that emptied inside their first extension and were
   * kept, newest first (heap.c); NULL where none. */
  struct pm_span_s *cold_kept[2];
  /* Large blocks the thread freed, kept for its next requests of about
   * their size (large_cache.c): on the first page, which every thread
   * writes anyway, ahead of the bins of the larger classes. The slots are
   * the shared part: the decay sweep may empty one; the rest only the
   * owner writes. */
  _Atomic(struct pm_span_s *) large_cached[PM_LARGE_CACHE_SLOTS];
  uint16_t large_cached_pages[PM_LARGE_CACHE_SLOTS]; /* each used slot's span size */
  uint32_t large_cache_next;                         /* the slot to empty next when full */
  /* Bit i: slot i got a span the owner has not taken out since (the sweep
   * may have), so that the owner's paths look at those slots only. */
  uint32_t large_cache_used;
  _Atomic uint64_t large_cache_hits; /* large blocks handed out from the slots */
  _Atomic uint64_t large_cache_puts; /* large blocks freed into them */
  pm_bin_t bins[PM_CLASS_COUNT];
} pm_heap_t;

/* 0 free, 1 held, 2 held with sleepers possible (lock.c). */
typedef struct pm_lock_s {
  _Atomic uint32_t state;
} pm_lock_t;
#define PM_LOCK_INIT                                                                               \
  { 0 }

#endif /* PM_TYPES_H */
