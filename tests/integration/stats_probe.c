/* stats_probe.c: a deterministic C program for contract.sh, which runs it
 * under the preloaded library to check the documented user-visible
 * behaviour (statistics files and formats, configuration warnings, the
 * invalid-free abort).
 *
 *   stats_probe alloc N   N malloc/free pairs of varying sizes; prints the
 *                         pid (to find its %p statistics file) and a sum
 *   stats_probe peak MIB SIZE   holds MIB MiB at once in SIZE-byte blocks,
 *                         then frees them all (peak and release figures)
 *   stats_probe badfree   frees a pointer the allocator never returned
 *   stats_probe write FILE   allocates, then writes "DATA" to FILE (opened
 *                         after start-up: the lowest free descriptor) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char not_from_malloc[64];

static int run_allocations(long count) {
  enum { LIVE = 64 };
  unsigned char *live[LIVE] = {0};
  unsigned long sum = 0;
  for (long i = 0; i < count; i++) {
    size_t size = 1 + (size_t)(i * 37 % 3000);
    unsigned char **slot = &live[i % LIVE];
    free(*slot);
    *slot = malloc(size);
    if (!*slot) {
      fprintf(stderr, "stats_probe: malloc(%zu) failed\n", size);
      return 1;
    }
    memset(*slot, (int)(i & 0xff), size);
    sum += (*slot)[size - 1];
  }
  for (int i = 0; i < LIVE; i++)
    free(live[i]);
  printf("pid %ld\nsum %lu\n", (long)getpid(), sum);
  return 0;
}

static int run_peak(size_t mib, size_t size) {
  size_t count = (mib << 20) / size;
  char **blocks = malloc(count * sizeof *blocks);
  if (!blocks) return 1;
  for (size_t i = 0; i < count; i++) {
    blocks[i] = malloc(size);
    if (!blocks[i]) {
      fprintf(stderr, "stats_probe: malloc(%zu) failed\n", size);
      return 1;
    }
    memset(blocks[i], 1, size);
  }
  for (size_t i = 0; i < count; i++)
    free(blocks[i]);
  free(blocks);
  printf("pid %ld\nblocks %zu\n", (long)getpid(), count);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "alloc") == 0) return run_allocations(atol(argv[2]));
  if (argc == 4 && strcmp(argv[1], "peak") == 0)
    return run_peak(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
  if (argc == 2 && strcmp(argv[1], "badfree") == 0) {
    /* volatile hides the static address from gcc's free-nonheap warning */
    void *volatile bogus = not_from_malloc + 16;
    free(bogus);
    printf("free() of a static address returned\n");
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "write") == 0) {
    free(malloc(10));
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    return fd >= 0 && write(fd, "DATA\n", 5) == 5 ? 0 : 1;
  }
  fprintf(stderr, "usage: stats_probe alloc N | peak MIB SIZE | badfree | write FILE\n");
  return 2;
}
