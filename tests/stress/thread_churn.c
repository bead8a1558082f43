/* thread_churn.c: thousands of short-lived threads against the allocator's
 * per-thread state.
 *
 * Waves of threads (STRESS_CHURN_THREADS in total, default 3000) each allocate a
 * few dozen blocks, free half of them, and exit handing the rest to the
 * main thread. The main thread keeps those blocks alive for a few more
 * waves, so they outlive the thread (and the thread cache) that allocated
 * them, then checks their patterns and frees them. Exits 1 on corruption. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress_util.h"

enum { WAVE = 16, BLOCKS_PER_THREAD = 48, KEPT_WAVES = 4 };

typedef struct kept_s {
  void *ptr[BLOCKS_PER_THREAD / 2];
  size_t size[BLOCKS_PER_THREAD / 2];
  uint32_t owner;
} kept_t;

static int failed;

/* Returns a malloc'd kept_t: its own allocation also outlives the thread. */
static void *short_lived(void *arg) {
  uint32_t owner = (uint32_t)(uintptr_t)arg;
  stress_rng_t rng;
  stress_rng_seed(&rng, owner);
  void *blocks[BLOCKS_PER_THREAD];
  size_t sizes[BLOCKS_PER_THREAD];
  for (int i = 0; i < BLOCKS_PER_THREAD; i++) {
    sizes[i] = 1 + stress_rng_below(&rng, i % 8 == 0 ? 65536 : 600);
    blocks[i] = malloc(sizes[i]);
    if (!blocks[i]) return NULL;
    stress_block_fill(blocks[i], sizes[i], owner);
  }
  kept_t *kept = malloc(sizeof *kept);
  if (!kept) return NULL;
  kept->owner = owner;
  for (int i = 0; i < BLOCKS_PER_THREAD; i++) {
    if (!stress_block_ok(blocks[i], sizes[i], owner, "in its thread")) return NULL;
    if (i % 2 == 0) {
      free(blocks[i]);
    } else {
      kept->ptr[i / 2] = blocks[i];
      kept->size[i / 2] = sizes[i];
    }
  }
  return kept;
}

static void kept_release(kept_t *kept) {
  if (!kept) return;
  for (int i = 0; i < BLOCKS_PER_THREAD / 2; i++) {
    if (!stress_block_ok(kept->ptr[i], kept->size[i], kept->owner, "after its thread exited"))
      failed = 1;
    free(kept->ptr[i]);
  }
  free(kept);
}

int main(void) {
  long total = stress_env_long("STRESS_CHURN_THREADS", 3000);
  long waves = (total + WAVE - 1) / WAVE;
  kept_t *kept[KEPT_WAVES][WAVE] = {{0}};
  long created = 0, lost = 0;
  for (long wave = 0; wave < waves && !failed; wave++) {
    pthread_t ids[WAVE];
    kept_t **slot = kept[wave % KEPT_WAVES];
    for (int i = 0; i < WAVE; i++) { /* blocks of the wave KEPT_WAVES ago */
      kept_release(slot[i]);
      slot[i] = NULL;
    }
    for (int i = 0; i < WAVE; i++) {
      if (pthread_create(&ids[i], NULL, short_lived, (void *)(uintptr_t)(created + 1)) != 0) {
        fprintf(stderr, "pthread_create failed after %ld threads\n", created);
        return 1;
      }
      created++;
    }
    for (int i = 0; i < WAVE; i++) {
      void *result;
      pthread_join(ids[i], &result);
      slot[i] = result;
      lost += result == NULL;
    }
  }
  for (int w = 0; w < KEPT_WAVES; w++)
    for (int i = 0; i < WAVE; i++)
      kept_release(kept[w][i]);
  printf("threads %ld blocks %ld kept past exit %ld failed threads %ld\n", created,
         created * (BLOCKS_PER_THREAD + 1), created * (BLOCKS_PER_THREAD / 2), lost);
  return failed || lost ? 1 : 0;
}
