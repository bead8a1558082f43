/* handed_off_copy.c: a small block whose bytes came from recycled pages is
 * handed to another thread, which frees or reallocates it. The pages of
 * emptied slabs serve a large block next with the freed marks of their
 * blocks still in them (the allocator never clears them), and a realloc
 * that shrinks that block, or a memcpy from it, copies one into the small
 * block; a free on another thread, which trusts a mark without walking
 * the slab's lists, took it for a double free and aborted.
 *
 *   handed_off_copy realloc | memcpy | realloc-remote
 *
 * realloc: the large block shrinks to a small one, freed by the other
 * thread; memcpy: a fixed-size record copied from an unwritten large
 * block, freed by the other thread; realloc-remote: as realloc, and the
 * other thread grows it instead. Prints "handed off" and exits 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHURN_BLOCKS = 64, CHURN_SIZE = 5000, LARGE_SIZE = 200000, SMALL_SIZE = 256 };

static void *free_block(void *block) {
  free(block);
  return NULL;
}

static void *grow_block(void *block) {
  char *grown = realloc(block, 4 * SMALL_SIZE);
  if (grown == NULL || strcmp(grown, "hello") != 0) {
    fprintf(stderr, "handed_off_copy: realloc on the other thread lost the contents\n");
    exit(1);
  }
  free(grown);
  return NULL;
}

/* Slabs of one class filled and emptied, so that their pages go back to
 * the pool for the next large request. */
static void churn_small_blocks(void) {
  void *blocks[CHURN_BLOCKS];
  for (int i = 0; i < CHURN_BLOCKS; i++)
    blocks[i] = malloc(CHURN_SIZE);
  for (int i = 0; i < CHURN_BLOCKS; i++)
    free(blocks[i]);
}

static char *small_copy_of_large(const char *mode, char **large_out) {
  char *large = malloc(LARGE_SIZE);
  if (large == NULL) return NULL;
  if (strcmp(mode, "memcpy") == 0) {
    large[0] = 'h'; /* the header byte alone written, as a record's */
    char *small = malloc(SMALL_SIZE);
    if (small != NULL) memcpy(small, large, SMALL_SIZE);
    *large_out = large;
    return small;
  }
  strcpy(large, "hello");
  *large_out = NULL;
  return realloc(large, SMALL_SIZE);
}

int main(int argc, char **argv) {
  const char *mode = argc == 2 ? argv[1] : "";
  if (strcmp(mode, "realloc") != 0 && strcmp(mode, "memcpy") != 0 &&
      strcmp(mode, "realloc-remote") != 0) {
    fprintf(stderr, "usage: handed_off_copy realloc | memcpy | realloc-remote\n");
    return 2;
  }
  churn_small_blocks();
  char *large = NULL;
  char *small = small_copy_of_large(mode, &large);
  if (small == NULL) {
    fprintf(stderr, "handed_off_copy: out of memory\n");
    return 1;
  }
  pthread_t thread;
  void *(*task)(void *) = strcmp(mode, "realloc-remote") == 0 ? grow_block : free_block;
  if (pthread_create(&thread, NULL, task, small) != 0) {
    fprintf(stderr, "handed_off_copy: pthread_create failed\n");
    return 1;
  }
  pthread_join(thread, NULL);
  free(large);
  puts("handed off");
  return 0;
}
