/* abandoned_idle.c: a worker thread allocates 12.8 MB of small blocks and
 * exits with them live, so its slabs are abandoned; the main thread frees
 * every block and then stays idle, allocating nothing. Only a decay pass
 * reaps slabs that other threads' frees empty, and free paths may not
 * start the background thread: under decay_ms:0 nothing ever started it,
 * and the memory stayed resident until the program next allocated.
 * Prints the resident set at the start, with the blocks, after the frees
 * and after waiting, and exits 0 once more than half of what the blocks
 * added is gone within 5 s, 1 otherwise. (Measured from the peak: under
 * decay_ms:0 much of it may be gone before the last free returns.)
 *
 *   abandoned_idle [MAX_KEPT_BYTES]
 *
 * With MAX_KEPT_BYTES, also fails if mallinfo2's keepcost (freed memory
 * still resident) ever passes it while waiting: run under a retain_max,
 * the reaped slabs must not stay above it until their decay. */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { BLOCKS = 200000, BLOCK_SIZE = 64 };
static void *blocks[BLOCKS];

static void *allocate_and_exit(void *unused) {
  for (int i = 0; i < BLOCKS; i++) {
    blocks[i] = malloc(BLOCK_SIZE);
    if (blocks[i] == NULL) exit(2);
    memset(blocks[i], 1, BLOCK_SIZE);
  }
  return unused;
}

/* Resident pages, read from /proc/self/statm without allocating. */
static long resident_pages(void) {
  char text[128];
  int fd = open("/proc/self/statm", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
  if (fd >= 0) close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  const char *second = strchr(text, ' ');
  return second != NULL ? atol(second + 1) : -1;
}

int main(int argc, char **argv) {
  size_t max_kept = argc > 1 ? strtoul(argv[1], NULL, 10) : SIZE_MAX, most_kept = 0;
  memset(blocks, 0, sizeof blocks); /* resident from the start, not counted as the blocks' */
  long start = resident_pages();
  pthread_t worker;
  if (pthread_create(&worker, NULL, allocate_and_exit, NULL) != 0) return 2;
  pthread_join(worker, NULL);
  long peak = resident_pages();
  for (int i = 0; i < BLOCKS; i++)
    free(blocks[i]);
  long before = resident_pages(), now = before, goal = start + (peak - start) / 2;
  struct timespec pause = {0, 50 * 1000000L};
  for (int i = 0; i < 100 && now > goal; i++) {
    nanosleep(&pause, NULL);
    now = resident_pages();
    size_t kept = mallinfo2().keepcost;
    if (kept > most_kept) most_kept = kept;
  }
  printf("resident pages: %ld at the start, %ld with the blocks, %ld after the frees, %ld after "
         "waiting; at most %zu bytes kept\n",
         start, peak, before, now, most_kept);
  return start > 0 && peak > start && now <= goal && most_kept <= max_kept ? 0 : 1;
}
