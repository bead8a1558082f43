/* stress_threads.c: multi-threaded allocator stress with content checks.
 *
 * 2 * nproc threads (STRESS_THREADS overrides) run for STRESS_SECONDS
 * (default 3) doing random malloc, calloc, realloc, aligned_alloc,
 * posix_memalign, memalign and free. Every block carries a pattern derived
 * from its address, size and owner and is checked before it is freed or
 * reallocated, so overlapping blocks or stray writes are caught; calloc
 * memory must be zero, aligned blocks aligned, malloc_usable_size at least
 * the request. The pattern covers the whole usable size, which a program
 * may use (glibc's manual allows it), and realloc must keep all of it that
 * fits in the new request. A share of the blocks goes through a mutex-protected
 * exchange to another thread, which checks and frees them (remote frees).
 * Prints the operation counts; exits 1 on any corruption or failure. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress_util.h"

enum { SLOTS = 256, EXCHANGE_CAPACITY = 4096 };

typedef struct block_s {
  unsigned char *ptr;
  size_t size;
  uint32_t owner;
} block_t;

enum op_e { OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_ALIGNED, OP_FREE, OP_REMOTE_FREE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"malloc",  "calloc", "realloc",
                                               "aligned", "free",   "remote_free"};

static struct {
  pthread_mutex_t lock;
  block_t blocks[EXCHANGE_CAPACITY];
  size_t count;
} exchange = {.lock = PTHREAD_MUTEX_INITIALIZER};

static atomic_ullong op_counts[OP_COUNT];
static atomic_int failures;
static double deadline;

static void fail(const char *what, const void *p, size_t size) {
  fprintf(stderr, "FAILURE: %s (pointer %p, size %zu)\n", what, p, size);
  atomic_fetch_add(&failures, 1);
}

static void block_release(block_t *b, enum op_e op) {
  if (!stress_block_ok(b->ptr, b->size, b->owner, op_names[op])) atomic_fetch_add(&failures, 1);
  free(b->ptr);
  b->ptr = NULL;
  atomic_fetch_add_explicit(&op_counts[op], 1, memory_order_relaxed);
}

/* Gives the block away; returns 0 when the exchange is full. */
static int exchange_put(const block_t *b) {
  pthread_mutex_lock(&exchange.lock);
  int stored = exchange.count < EXCHANGE_CAPACITY;
  if (stored) exchange.blocks[exchange.count++] = *b;
  pthread_mutex_unlock(&exchange.lock);
  return stored;
}

/* Takes a block some thread gave away; 0 when there is none. */
static int exchange_take(block_t *out, stress_rng_t *rng) {
  pthread_mutex_lock(&exchange.lock);
  int found = exchange.count > 0;
  if (found) {
    size_t i = stress_rng_below(rng, exchange.count);
    *out = exchange.blocks[i];
    exchange.blocks[i] = exchange.blocks[--exchange.count];
  }
  pthread_mutex_unlock(&exchange.lock);
  return found;
}

static void *allocate_aligned(stress_rng_t *rng, size_t size) {
  /* 16 .. 4096 mostly; 1 in 64 from 64 KiB to 4 MiB (page-run alignments) */
  size_t alignment = stress_rng_below(rng, 64) == 0 ? (size_t)1 << (16 + stress_rng_below(rng, 7))
                                                    : (size_t)16 << stress_rng_below(rng, 9);
  void *p = NULL;
  switch (stress_rng_below(rng, 3)) {
  case 0:
    /* C11 requires size to be a multiple of the alignment */
    p = aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    break;
  case 1:
    if (posix_memalign(&p, alignment, size) != 0) p = NULL;
    break;
  default:
    p = memalign(alignment, size);
  }
  if (p && (uintptr_t)p % alignment != 0) fail("misaligned block", p, alignment);
  return p;
}

static void block_allocate(block_t *b, stress_rng_t *rng, uint32_t owner) {
  size_t size = stress_rng_size(rng);
  enum op_e op = (enum op_e)stress_rng_below(rng, 3);
  op = op == OP_REALLOC ? OP_ALIGNED : op;
  unsigned char *p;
  if (op == OP_MALLOC) {
    p = malloc(size);
  } else if (op == OP_CALLOC) {
    p = calloc(1, size);
    for (size_t i = 0; p && i < size; i++)
      if (p[i] != 0) {
        fail("calloc memory not zeroed", p, size);
        break;
      }
  } else {
    p = allocate_aligned(rng, size);
  }
  if (!p) {
    fail("allocation returned NULL", NULL, size);
    return;
  }
  size_t usable = malloc_usable_size(p);
  if (usable < size) fail("malloc_usable_size below the request", p, size);
  stress_block_fill(p, usable, owner);
  *b = (block_t){.ptr = p, .size = usable, .owner = owner};
  atomic_fetch_add_explicit(&op_counts[op], 1, memory_order_relaxed);
}

static void block_reallocate(block_t *b, stress_rng_t *rng) {
  size_t new_size = stress_rng_size(rng);
  uint64_t old_seed = stress_pattern_seed(b->ptr, b->size, b->owner);
  if (!stress_pattern_ok(b->ptr, b->size, old_seed, "before realloc"))
    atomic_fetch_add(&failures, 1);
  unsigned char *p = realloc(b->ptr, new_size);
  if (!p) {
    fail("realloc returned NULL", NULL, new_size);
    return;
  }
  size_t kept = new_size < b->size ? new_size : b->size;
  if (!stress_pattern_ok(p, kept, old_seed, "prefix after realloc")) atomic_fetch_add(&failures, 1);
  size_t usable = malloc_usable_size(p);
  if (usable < new_size) fail("malloc_usable_size below the request", p, new_size);
  stress_block_fill(p, usable, b->owner);
  b->ptr = p;
  b->size = usable;
  atomic_fetch_add_explicit(&op_counts[OP_REALLOC], 1, memory_order_relaxed);
}

static void *worker(void *arg) {
  uint32_t id = (uint32_t)(uintptr_t)arg;
  stress_rng_t rng;
  stress_rng_seed(&rng, id + 1);
  block_t slots[SLOTS] = {{0}};
  for (unsigned long step = 0; atomic_load(&failures) == 0; step++) {
    if (step % 128 == 0 && stress_now() >= deadline) break;
    block_t *b = &slots[stress_rng_below(&rng, SLOTS)];
    size_t action = stress_rng_below(&rng, 16);
    if (!b->ptr) {
      block_allocate(b, &rng, id);
    } else if (action < 3) {
      block_reallocate(b, &rng);
    } else if (action < 6 && exchange_put(b)) {
      b->ptr = NULL; /* another thread frees it now */
    } else {
      block_release(b, OP_FREE);
    }
    block_t remote;
    if (action == 15 && exchange_take(&remote, &rng)) block_release(&remote, OP_REMOTE_FREE);
  }
  for (size_t i = 0; i < SLOTS; i++)
    if (slots[i].ptr) block_release(&slots[i], OP_FREE);
  return NULL;
}

int main(void) {
  long threads = stress_env_long("STRESS_THREADS", 2 * sysconf(_SC_NPROCESSORS_ONLN));
  double seconds = stress_seconds(3.0);
  deadline = stress_now() + seconds;
  pthread_t *ids = calloc((size_t)threads, sizeof *ids);
  if (!ids) return 1;
  for (long i = 0; i < threads; i++)
    if (pthread_create(&ids[i], NULL, worker, (void *)(uintptr_t)i) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  for (long i = 0; i < threads; i++)
    pthread_join(ids[i], NULL);
  free(ids);
  stress_rng_t rng;
  stress_rng_seed(&rng, 0);
  block_t left;
  while (exchange_take(&left, &rng))
    block_release(&left, OP_REMOTE_FREE);

  unsigned long long total = 0;
  printf("threads %ld seconds %.1f\n", threads, seconds);
  for (int op = 0; op < OP_COUNT; op++) {
    unsigned long long n = atomic_load(&op_counts[op]);
    printf("%s %llu\n", op_names[op], n);
    total += n;
  }
  printf("allocations %llu\n", atomic_load(&op_counts[OP_MALLOC]) +
                                   atomic_load(&op_counts[OP_CALLOC]) +
                                   atomic_load(&op_counts[OP_ALIGNED]));
  printf("operations %llu (%.0f per second) failures %d\n", total, (double)total / seconds,
         atomic_load(&failures));
  return atomic_load(&failures) == 0 && op_counts[OP_REMOTE_FREE] > 0 ? 0 : 1;
}
