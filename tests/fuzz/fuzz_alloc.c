/* fuzz_alloc.c: libFuzzer target driving the pm_* allocator API.
 *
 * The input bytes are a program: each step picks an operation, a slot of a
 * small table of live blocks and a size or alignment. Every block is filled
 * with a pattern unique to its allocation and checked before it is freed,
 * reallocated or trimmed around, so two blocks sharing memory, a realloc
 * that loses bytes or a trim that unmaps live memory shows up as a
 * mismatch. The allocator maps its memory itself, where AddressSanitizer
 * sees nothing, hence these checks; any failure traps so libFuzzer keeps
 * the input. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "poolmalloc.h"

#define SLOT_COUNT 32
/* Largest request: past the 8 MiB limit of page runs (PM_LARGE_MAX) so
 * huge mappings are covered, small enough that an exec stays in the
 * millisecond range. */
#define SIZE_MAX_FUZZ ((size_t)10 << 20)

typedef struct slot_s {
  unsigned char *ptr;
  size_t size;      /* requested bytes: what realloc must preserve */
  size_t usable;    /* pm_usable_size at allocation time */
  size_t alignment; /* what the caller asked for (16 = plain malloc) */
  uint32_t seed;    /* pattern of this allocation */
} slot_t;

typedef struct cursor_s {
  const uint8_t *data;
  size_t left;
} cursor_t;

static slot_t slots[SLOT_COUNT];
static uint32_t next_seed = 1;

static uint8_t cursor_byte(cursor_t *in) {
  if (in->left == 0) return 0;
  in->left--;
  return *in->data++;
}

static uint16_t cursor_u16(cursor_t *in) {
  uint16_t high = cursor_byte(in);
  return (uint16_t)(high << 8 | cursor_byte(in));
}

/* Sizes worth hitting exactly: the class, small, large and huge limits
 * (PM_DIRECT_MAX, PM_SMALL_MAX, the 64 KiB slab, PM_LARGE_MAX). */
static const size_t edge_sizes[] = {0,
                                    1,
                                    16,
                                    17,
                                    128,
                                    129,
                                    1024,
                                    1025,
                                    4096,
                                    16384,
                                    16385,
                                    65536,
                                    65537,
                                    (size_t)1 << 20,
                                    ((size_t)1 << 20) + 1,
                                    (size_t)8 << 20,
                                    ((size_t)8 << 20) + 1,
                                    ((size_t)8 << 20) + 4096};

static size_t cursor_size(cursor_t *in) {
  uint8_t kind = cursor_byte(in);
  switch (kind % 8) {
  case 0:
    return edge_sizes[cursor_byte(in) % (sizeof edge_sizes / sizeof edge_sizes[0])];
  case 1:
  case 2:
  case 3:
    return cursor_byte(in); /* tiny: the direct class table */
  case 4:
    return cursor_u16(in) % 16400; /* small classes */
  case 5:
    return 16384 + (size_t)cursor_u16(in) * 16 % (1u << 20); /* large spans */
  case 6:
    return (size_t)cursor_u16(in) * 16 % (256u << 10);
  default:
    return (1u << 20) + (size_t)cursor_u16(in) * 160 % (SIZE_MAX_FUZZ - (1u << 20));
  }
}

/* Powers of two from 1 byte to 4 MiB. */
static size_t cursor_alignment(cursor_t *in) {
  return (size_t)1 << (cursor_byte(in) % 23);
}

/* A block's pattern is a periodic byte sequence started at an offset
 * given by its seed, so filling and checking are memcpy and memcmp (fast
 * even for megabyte blocks) while two live blocks still disagree almost
 * everywhere they could overlap. The table holds two periods so any start
 * has PATTERN_PERIOD bytes after it. */
#define PATTERN_PERIOD 4093 /* prime: not a multiple of any block size */
static uint8_t pattern_table[2 * PATTERN_PERIOD];

static void pattern_init(void) {
  uint32_t x = 0x9e3779b9u;
  for (size_t i = 0; i < PATTERN_PERIOD; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
    pattern_table[i] = pattern_table[i + PATTERN_PERIOD] = (uint8_t)x;
  }
}

static const uint8_t *pattern_at(uint32_t seed, size_t i) {
  return &pattern_table[((size_t)seed * 977u + i) % PATTERN_PERIOD];
}

/* Blocks above PATTERN_FULL_MAX (huge mappings of their own) are patterned
 * only over their first PATTERN_FULL_MAX bytes and their last
 * PATTERN_TAIL: page faults on megabytes of fresh memory would otherwise
 * cost most of the run, and a neighbour overlapping such a block meets one
 * of its ends. Returns the next patterned offset at or after i in a block
 * patterned over `filled` bytes. */
#define PATTERN_FULL_MAX ((size_t)1 << 20)
#define PATTERN_TAIL     ((size_t)64 << 10)
static size_t pattern_next(size_t i, size_t filled) {
  if (filled > PATTERN_FULL_MAX && i >= PATTERN_FULL_MAX && i < filled - PATTERN_TAIL)
    return filled - PATTERN_TAIL;
  return i;
}

static void pattern_fill(unsigned char *ptr, size_t bytes, uint32_t seed) {
  for (size_t i = pattern_next(0, bytes); i < bytes; i = pattern_next(i + PATTERN_PERIOD, bytes)) {
    size_t chunk = bytes - i < PATTERN_PERIOD ? bytes - i : PATTERN_PERIOD;
    memcpy(ptr + i, pattern_at(seed, i), chunk);
  }
}

/* Checks the first `bytes` of a block patterned over `filled` bytes. */
static void pattern_check(const unsigned char *ptr, size_t bytes, size_t filled, uint32_t seed) {
  for (size_t i = 0; i < bytes; i = pattern_next(i + PATTERN_PERIOD, filled)) {
    size_t chunk = bytes - i < PATTERN_PERIOD ? bytes - i : PATTERN_PERIOD;
    if (memcmp(ptr + i, pattern_at(seed, i), chunk) != 0) __builtin_trap();
  }
}

static void slot_check(const slot_t *slot) {
  if (slot->ptr != NULL) pattern_check(slot->ptr, slot->usable, slot->usable, slot->seed);
}

static void check_all(void) {
  for (size_t s = 0; s < SLOT_COUNT; s++)
    slot_check(&slots[s]);
}

/* Records a fresh block after checking what every allocation promises. */
static void slot_take(slot_t *slot, void *ptr, size_t size, size_t alignment) {
  if (ptr == NULL) {
    if (size != 0) __builtin_trap(); /* no limit is set: nothing may fail */
    return;
  }
  size_t need = alignment > 16 ? alignment : 16;
  if ((uintptr_t)ptr % need != 0) __builtin_trap();
  size_t usable = pm_usable_size(ptr);
  if (usable < size) __builtin_trap();
  slot->ptr = ptr;
  slot->size = size;
  slot->usable = usable;
  slot->alignment = alignment;
  slot->seed = next_seed++;
  pattern_fill(slot->ptr, usable, slot->seed);
}

static void slot_release(slot_t *slot, bool sized) {
  slot_check(slot);
  if (sized)
    pm_free_sized(slot->ptr, slot->size);
  else
    pm_free(slot->ptr);
  slot->ptr = NULL;
}

static void op_calloc(slot_t *slot, cursor_t *in) {
  size_t count = cursor_byte(in) % 16 + 1;
  size_t size = cursor_size(in) / count;
  static const unsigned char zeros[4096];
  unsigned char *ptr = pm_calloc(count, size);
  for (size_t i = 0; ptr != NULL && i < count * size; i += sizeof zeros) {
    size_t chunk = count * size - i < sizeof zeros ? count * size - i : sizeof zeros;
    if (memcmp(ptr + i, zeros, chunk) != 0) __builtin_trap();
  }
  slot_take(slot, ptr, count * size, 16);
}

static void op_realloc(slot_t *slot, cursor_t *in) {
  size_t size = cursor_size(in);
  slot_check(slot);
  unsigned char *moved = pm_realloc(slot->ptr, size);
  if (slot->ptr != NULL && size == 0) { /* glibc semantics: freed, NULL back */
    if (moved != NULL) __builtin_trap();
    slot->ptr = NULL;
    return;
  }
  if (moved == NULL) __builtin_trap();
  if (slot->ptr != NULL) {
    size_t kept = slot->size < size ? slot->size : size;
    pattern_check(moved, kept, slot->usable, slot->seed);
  }
  slot->ptr = NULL;
  slot_take(slot, moved, size, 16);
}

static void op_aligned(slot_t *slot, cursor_t *in, uint8_t variant) {
  size_t alignment = cursor_alignment(in);
  size_t size = cursor_size(in);
  void *ptr = NULL;
  switch (variant) {
  case 0:
    ptr = pm_aligned_alloc(alignment, size);
    break;
  case 1: {
    int status = pm_posix_memalign(&ptr, alignment, size);
    bool valid = alignment % sizeof(void *) == 0;
    if (status != (valid ? 0 : EINVAL)) __builtin_trap();
    if (!valid) return;
    break;
  }
  default: {
    /* memalign takes any alignment and rounds it up to a power of two. */
    size_t odd = alignment + (alignment > 2 ? cursor_byte(in) % (alignment / 2) : 0);
    ptr = pm_memalign(odd, size);
    while (alignment < odd)
      alignment <<= 1;
    break;
  }
  }
  slot_take(slot, ptr, size, alignment);
}

static void op_usable_size(const slot_t *slot) {
  if (slot->ptr != NULL && pm_usable_size(slot->ptr) != slot->usable) __builtin_trap();
  if (pm_usable_size(NULL) != 0) __builtin_trap();
}

static void op_calloc_overflow(void) {
  errno = 0;
  if (pm_calloc(SIZE_MAX / 2, 3) != NULL || errno != ENOMEM) __builtin_trap();
}

/* Allocated bytes seen by pm_stats, which must come back to where they
 * started once every block of a run is freed. */
static size_t allocated_bytes(void) {
  pm_stats_t stats;
  if (pm_stats(&stats) != 0) __builtin_trap();
  return stats.allocated_bytes;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  pattern_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cursor_t in = {data, size};
  size_t baseline = allocated_bytes();
  while (in.left > 0) {
    uint8_t op = cursor_byte(&in);
    slot_t *slot = &slots[cursor_byte(&in) % SLOT_COUNT];
    /* Allocating into a taken slot frees its block first. */
    if (op % 12 < 6 && slot->ptr != NULL) slot_release(slot, false);
    switch (op % 12) {
    case 0:
    case 1: {
      size_t bytes = cursor_size(&in);
      slot_take(slot, pm_malloc(bytes), bytes, 16);
      break;
    }
    case 2:
      op_calloc(slot, &in);
      break;
    case 3:
      op_aligned(slot, &in, 0);
      break;
    case 4:
      op_aligned(slot, &in, 1);
      break;
    case 5:
      op_aligned(slot, &in, 2);
      break;
    case 6:
    case 7:
      op_realloc(slot, &in);
      break;
    case 8:
      if (slot->ptr != NULL) slot_release(slot, op & 0x80);
      break;
    case 9:
      op_usable_size(slot);
      break;
    case 10:
      pm_trim(cursor_byte(&in));
      check_all();
      break;
    default:
      op_calloc_overflow();
      break;
    }
  }
  for (size_t s = 0; s < SLOT_COUNT; s++)
    if (slots[s].ptr != NULL) slot_release(&slots[s], false);
  if (allocated_bytes() != baseline) __builtin_trap();
  return 0;
}
