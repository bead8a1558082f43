/* map_failure.c: the OS refusing memory (run with
 * POOLMALLOC_CONF=fail_map_after:N, the allocator's fault-injection hook).
 *
 * Once the injected refusals start, every allocation function that needs a
 * new mapping must return NULL with errno ENOMEM (posix_memalign: the
 * ENOMEM return value), a failed realloc must leave its block intact, and
 * after the program frees what it holds it must be able to allocate again
 * from the memory the pool kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB ((size_t)1 << 20)
enum { MAX_BLOCKS = 512 };

static int failures;

static void check(int ok, const char *what) {
  if (!ok) {
    printf("FAIL: %s\n", what);
    failures++;
  }
}

/* NULL with errno ENOMEM, as a refused allocation must be. */
static void check_refused(void *block, const char *what) {
  check(block == NULL && errno == ENOMEM, what);
  free(block);
}

static size_t fill_until_refused(void **blocks) {
  size_t count = 0;
  errno = 0;
  while (count < MAX_BLOCKS && (blocks[count] = malloc(MIB)) != NULL) {
    memset(blocks[count], (int)(count & 0xff), MIB);
    count++;
  }
  check(count < MAX_BLOCKS, "malloc(1 MiB) was never refused");
  check(errno == ENOMEM, "the refused malloc did not set ENOMEM");
  return count;
}

int main(void) {
  static void *blocks[MAX_BLOCKS];
  size_t held = fill_until_refused(blocks);
  printf("held %zu MiB when the injected refusals started\n", held);
  check(held > 0, "no 1 MiB block before the refusals");

  errno = 0;
  check_refused(calloc(1, MIB), "calloc(1, 1 MiB)");
  errno = 0;
  check_refused(aligned_alloc(4096, MIB), "aligned_alloc(4096, 1 MiB)");
  errno = 0;
  check_refused(memalign(65536, MIB), "memalign(64 KiB, 1 MiB)");
  errno = 0;
  check_refused(malloc(64 * MIB), "malloc(64 MiB), a huge block");
  void *out = NULL;
  check(posix_memalign(&out, 4096, MIB) == ENOMEM && out == NULL, "posix_memalign -> ENOMEM");
  if (held > 0) {
    errno = 0;
    void *grown = realloc(blocks[0], 64 * MIB);
    check(grown == NULL && errno == ENOMEM, "realloc(1 MiB -> 64 MiB)");
    if (grown != NULL) blocks[0] = grown;
    const unsigned char *kept = blocks[0];
    check(kept[0] == 0 && kept[MIB - 1] == 0, "a failed realloc kept its block's contents");
  }

  for (size_t i = 0; i < held; i++)
    free(blocks[i]);
  /* The freed runs stay mapped (purged at most): the pool serves them again
   * without asking the OS. */
  size_t again = 0;
  while (again < held && (blocks[again] = malloc(MIB)) != NULL) {
    memset(blocks[again], 0x5a, MIB);
    again++;
  }
  printf("allocated %zu MiB again after freeing\n", again);
  /* stdout's buffer and other small blocks allocated after the refusals
   * started took a slab from the first freed run, so one block may be short. */
  check(again + 1 >= held && again > 0, "freed memory could not be allocated again");
  for (size_t i = 0; i < again; i++)
    free(blocks[i]);
  char *small = malloc(48);
  check(small != NULL, "a small block after the refusals");
  free(small);
  printf("allocations %zu\n", held * 2);
  return failures == 0 ? 0 : 1;
}
