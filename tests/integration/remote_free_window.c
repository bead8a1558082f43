/* remote_free_window.c: a free of another thread's block, held by the
 * debugger at the compare-and-swap that publishes the block on the slab's
 * remote list, while the owner thread changes the slab under it
 * (remote_free_window.sh):
 *
 *   remote_free_window trim   stopped just after publishing; the owner
 *                             collects the block, gives the emptied slab
 *                             back and has its segment unmapped (malloc_trim
 *                             under decay_ms:0): the freer must not read
 *                             the slab again.
 *   remote_free_window exit   stopped just before publishing; the owner's
 *                             thread exits and abandons the slab, which the
 *                             freed block then empties: the freer must see
 *                             that and have the slab reaped.
 *   remote_free_window huge   a double free of a huge block: the main
 *                             thread's free is stopped on its way into
 *                             huge.c while the other thread frees the block
 *                             first and, under retain_max:0, unmaps it: the
 *                             late free must report the bad pointer and
 *                             abort, not fault on the unmapped header.
 *
 * The main thread first fills a segment with 5-page blocks, so that the
 * owner's first slab starts a segment of its own, which goes back to the
 * OS once the slab does. Exit status: 0 when the segment went (the window
 * was tested and handled), 2 when the set-up did not give the slab a
 * segment of its own, 3 when the abandoned slab stayed; in huge mode,
 * SIGABRT. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { FILL_BLOCK = 5 * 4096, OWNER_BLOCK = 2000, HUGE_BLOCK = 16 << 20 };

/* Read and written by the debugger. */
atomic_int owner_may_go;
volatile long owner_tid;

static bool exit_mode, huge_mode;
static void *volatile owner_block;
static atomic_int owner_stage; /* 1: segment filled, 2: owner allocated */
static size_t mapped_with_slab, mapped_after_trim;
static pthread_key_t exit_key;

/* Where the debugger stops each side. */
__attribute__((noinline)) void before_remote_free(void) {
  __asm__ volatile("");
}
__attribute__((noinline)) void owner_done(void) {
  __asm__ volatile("");
}

/* libpoolmalloc's mallinfo2: arena holds the mapped bytes but those of
 * huge blocks in use, which hblkhd holds. */
static size_t mapped_bytes(void) {
  struct mallinfo2 info = mallinfo2();
  return info.arena + info.hblkhd;
}

/* This key is made after the allocator's, so its destructor runs after
 * the allocator's exit hook has abandoned the thread's slabs. */
static void owner_exited(void *value) {
  (void)value;
  owner_done();
}

static void *owner_main(void *arg) {
  (void)arg;
  owner_tid = syscall(SYS_gettid);
  if (huge_mode) { /* frees the main thread's huge block first */
    while (atomic_load(&owner_may_go) == 0) {
    }
    free(owner_block);
    owner_done();
    return NULL;
  }
  while (atomic_load(&owner_stage) < 1) {
  }
  owner_block = malloc(OWNER_BLOCK); /* this thread's first slab */
  mapped_with_slab = mapped_bytes();
  atomic_store(&owner_stage, 2);
  while (atomic_load(&owner_may_go) == 0) {
  }
  if (exit_mode) {
    pthread_setspecific(exit_key, &exit_key);
    return NULL;
  }
  malloc_trim(0); /* collects the remote free, releases the slab, unmaps its segment */
  mapped_after_trim = mapped_bytes();
  owner_done();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2 || (strcmp(argv[1], "trim") != 0 && strcmp(argv[1], "exit") != 0 &&
                    strcmp(argv[1], "huge") != 0)) {
    fprintf(stderr, "usage: remote_free_window trim|exit|huge\n");
    return 64;
  }
  exit_mode = strcmp(argv[1], "exit") == 0;
  huge_mode = strcmp(argv[1], "huge") == 0;
  if (pthread_key_create(&exit_key, owner_exited) != 0) return 1;
  pthread_t owner;
  if (huge_mode) {
    owner_block = malloc(HUGE_BLOCK);
    if (owner_block == NULL || pthread_create(&owner, NULL, owner_main, NULL) != 0) return 1;
    while (owner_tid == 0) { /* the debugger looks the owner up by it */
    }
    before_remote_free();
    free(owner_block); /* the second free, held by the debugger: must abort */
    atomic_store(&owner_may_go, 1);
    pthread_join(owner, NULL);
    return 0;
  }
  if (pthread_create(&owner, NULL, owner_main, NULL) != 0) return 1;
  /* Page runs until a second segment is needed; that one goes back. */
  size_t base = mapped_bytes();
  for (;;) {
    void *block = malloc(FILL_BLOCK);
    if (block == NULL) return 1;
    if (mapped_bytes() != base) {
      free(block);
      break;
    }
  }
  atomic_store(&owner_stage, 1);
  while (atomic_load(&owner_stage) < 2) {
  }
  before_remote_free();
  free(owner_block);
  atomic_store(&owner_may_go, 1); /* no-op under the debugger, which set it */
  pthread_join(owner, NULL);
  if (exit_mode) {
    /* The decay pass (decay_ms:50) reaps the emptied slab, and the empty
     * segment goes after it; 5 s is ample. */
    struct timespec pause = {0, 50 * 1000000L};
    for (int i = 0; i < 100 && mapped_bytes() >= mapped_with_slab; i++)
      nanosleep(&pause, NULL);
    if (mapped_bytes() >= mapped_with_slab) {
      fprintf(stderr, "the slab its freed block emptied stayed after its thread exited\n");
      return 3;
    }
    printf("the abandoned slab went back\n");
    return 0;
  }
  if (mapped_after_trim >= mapped_with_slab) {
    fprintf(stderr, "set-up failed: the owner's slab did not have a segment of its own\n");
    return 2;
  }
  printf("freer resumed after its slab's segment was unmapped\n");
  return 0;
}
