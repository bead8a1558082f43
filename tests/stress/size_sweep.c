/* size_sweep.c: every request size from 0 to 20000 bytes (all small size
 * classes), every 97th up to 300000, then powers of two and their
 * neighbours up to 64 MiB, through malloc and a realloc chain. Deterministic where the random
 * stress test is not: a size class too small for its sizes, or a realloc that loses bytes, shows up
 * here at the first size that breaks, named in the message.
 *
 * Each block is filled over its whole usable size with a pattern and kept
 * alive in a ring of 64, so a block that overlaps a neighbour is caught
 * when the ring comes back to it. Exits 1 at the first failure. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress_util.h"

enum { RING = 64, DENSE_MAX = 20000, SPARSE_MAX = 300000, SPARSE_STEP = 97 };

typedef struct ring_slot_s {
  void *ptr;
  size_t usable;
} ring_slot_t;

static ring_slot_t ring[RING];
static unsigned long checked;

static int ring_put(size_t index, void *p, size_t request) {
  ring_slot_t *slot = &ring[index % RING];
  if (slot->ptr) {
    if (!stress_block_ok(slot->ptr, slot->usable, 1, "ring")) return 0;
    free(slot->ptr);
    checked++;
  }
  slot->ptr = p;
  slot->usable = malloc_usable_size(p);
  if (slot->usable < request) {
    fprintf(stderr, "malloc(%zu) returned a block of usable size %zu\n", request, slot->usable);
    return 0;
  }
  stress_block_fill(p, slot->usable, 1);
  return 1;
}

static int sweep_malloc(size_t size, size_t index) {
  void *p = malloc(size);
  if (!p) {
    fprintf(stderr, "malloc(%zu) returned NULL\n", size);
    return 0;
  }
  return ring_put(index, p, size);
}

/* Grows one block a byte at a time through the dense range. */
static int sweep_realloc(void) {
  unsigned char *p = NULL;
  size_t size = 0;
  for (size_t next = 1; next <= DENSE_MAX; next++) {
    uintptr_t before = (uintptr_t)p;
    unsigned char *grown = realloc(p, next);
    if (!grown) {
      fprintf(stderr, "realloc(%zu -> %zu) returned NULL\n", size, next);
      return 0;
    }
    p = grown;
    /* byte i always holds (i * 31) & 0xff: the old bytes must survive; in
     * place only the newest byte can have been touched */
    for (size_t i = (uintptr_t)p == before && size > 0 ? size - 1 : 0; i < size; i++)
      if (p[i] != (unsigned char)(i * 31)) {
        fprintf(stderr, "realloc(%zu -> %zu) lost byte %zu\n", size, next, i);
        return 0;
      }
    p[size] = (unsigned char)(size * 31);
    size = next;
  }
  free(p);
  return 1;
}

int main(void) {
  size_t index = 0;
  for (size_t size = 0; size <= DENSE_MAX; size++)
    if (!sweep_malloc(size, index++)) return 1;
  for (size_t size = DENSE_MAX; size <= SPARSE_MAX; size += SPARSE_STEP)
    if (!sweep_malloc(size, index++)) return 1;
  for (int shift = 17; shift <= 26; shift++)
    for (int delta = -1; delta <= 1; delta++)
      if (!sweep_malloc(((size_t)1 << shift) + (size_t)delta, index++)) return 1;
  for (size_t i = 0; i < RING; i++)
    if (!ring_put(index++, malloc(1), 1)) return 1;
  if (!sweep_realloc()) return 1;
  printf("sizes 0..%d, to %d by %d, 2^17..2^26 +-1: %lu blocks checked; realloc chain to %d "
         "intact\n",
         DENSE_MAX, SPARSE_MAX, SPARSE_STEP, checked, DENSE_MAX);
  return 0;
}
