/* exit_paths.c: allocates, then ends in the way its argument names, so
 * exit_paths.sh can check that POOLMALLOC_STATS reports however a program
 * ends.
 *
 *   exit_paths return | exit | abort | raise | badfree | pthread_exit |
 *              pthread_exit_idle | pthread_exit_worker | pthread_exit_late_worker
 *
 * pthread_exit also frees 6 MiB first, so the allocator has memory to give
 * back (and a background thread to do it) when the main thread leaves;
 * pthread_exit_idle then sleeps 2.5 s, so that the background thread has
 * given it back and waits idle when the main thread leaves;
 * pthread_exit_worker leaves a worker that ends 0.5 s later without ever
 * allocating, so nothing tells the background thread, which holds memory
 * to give back, that it is the last thread; pthread_exit_late_worker's
 * ends 6.5 s later, when the background thread has long given the memory
 * back and looks only now and then. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BLOCKS = 3000 };

/* A worker that never allocates, so no exit hook of the allocator runs
 * when it ends; it sleeps for the timespec it is given. */
static void *sleep_then_end(void *pause) {
  nanosleep(pause, NULL);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: exit_paths return|exit|abort|raise|badfree|pthread_exit|"
                    "pthread_exit_idle|pthread_exit_worker|pthread_exit_late_worker\n");
    return 2;
  }
  static void *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    blocks[i] = malloc(16 + (size_t)(i % 200) * 8);
    if (blocks[i] == NULL) return 1;
    memset(blocks[i], i & 0xff, 16);
  }
  for (int i = 0; i < BLOCKS; i += 2)
    free(blocks[i]);
  if (strcmp(argv[1], "exit") == 0) exit(0);
  if (strncmp(argv[1], "pthread_exit", strlen("pthread_exit")) == 0) {
    enum { LARGE = 64, LARGE_SIZE = 100 * 1024 };
    static void *large[LARGE];
    for (int i = 0; i < LARGE; i++) {
      large[i] = malloc(LARGE_SIZE);
      if (large[i] == NULL) return 1;
      memset(large[i], 1, LARGE_SIZE);
    }
    for (int i = 0; i < LARGE; i++)
      free(large[i]);
    if (strcmp(argv[1], "pthread_exit_idle") == 0) {
      struct timespec idle = {2, 500000000};
      nanosleep(&idle, NULL);
    }
    static struct timespec soon = {0, 500000000}, late = {6, 500000000};
    bool late_worker = strcmp(argv[1], "pthread_exit_late_worker") == 0;
    pthread_t worker;
    if ((late_worker || strcmp(argv[1], "pthread_exit_worker") == 0) &&
        pthread_create(&worker, NULL, sleep_then_end, late_worker ? &late : &soon) != 0)
      return 1;
    pthread_exit(NULL);
  }
  if (strcmp(argv[1], "abort") == 0) abort();
  if (strcmp(argv[1], "raise") == 0) raise(SIGABRT); /* as kill -ABRT would */
  if (strcmp(argv[1], "badfree") == 0) {
    /* volatile: the compiler would rightly refuse a visible bad free. */
    static char not_from_malloc[64];
    char *volatile foreign = not_from_malloc + 16;
    free(foreign);
  }
  return strcmp(argv[1], "return") == 0 ? 0 : 2;
}
