/* oom_limit.c: the pool limit (run with POOLMALLOC_CONF=limit:64M).
 *
 * For each allocation function in turn it allocates 1 MiB blocks until the
 * limit refuses one, and checks the refusal is NULL with errno ENOMEM
 * (posix_memalign: the ENOMEM return value), that refusal came neither far
 * too early nor beyond the limit, and that realloc failing leaves its block
 * intact. After each round everything is freed, and the next round proves
 * allocation works again. Only meaningful under libpoolmalloc: elsewhere
 * the cap below stops it before it can exhaust the machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress_util.h"

#define MIB ((size_t)1 << 20)
enum { LIMIT_MIB = 64, MAX_BLOCKS = 256 };

typedef enum alloc_kind_e {
  ALLOC_MALLOC,
  ALLOC_CALLOC,
  ALLOC_ALIGNED,
  ALLOC_POSIX,
  ALLOC_MEMALIGN,
  ALLOC_REALLOC_NULL,
  ALLOC_KIND_COUNT
} alloc_kind_t;
static const char *const kind_names[ALLOC_KIND_COUNT] = {
    "malloc", "calloc", "aligned_alloc", "posix_memalign", "memalign", "realloc(NULL)"};

static void *blocks[MAX_BLOCKS]; /* static: the pool itself is what runs out */
static int failures;

static void check(int ok, const char *what, const char *detail) {
  printf("%s: %s %s\n", ok ? "ok" : "FAILED", what, detail);
  failures += !ok;
}

/* One allocation of size; *error gets the errno (or posix_memalign's code). */
static void *alloc_with(alloc_kind_t kind, size_t size, int *error) {
  void *p = NULL;
  errno = 0;
  switch (kind) {
  case ALLOC_MALLOC:
    p = malloc(size);
    break;
  case ALLOC_CALLOC:
    p = calloc(size / 64, 64);
    break;
  case ALLOC_ALIGNED:
    p = aligned_alloc(4096, size);
    break;
  case ALLOC_POSIX: {
    int code = posix_memalign(&p, 4096, size);
    *error = code;
    return code == 0 ? p : NULL;
  }
  case ALLOC_MEMALIGN:
    p = memalign(4096, size);
    break;
  default:
    p = realloc(NULL, size);
    break;
  }
  *error = errno;
  return p;
}

static void free_all(size_t count) {
  for (size_t i = 0; i < count; i++)
    free(blocks[i]);
}

/* Fills the pool with kind; returns how many blocks it got. */
static size_t fill_until_refused(alloc_kind_t kind) {
  size_t count = 0;
  int error = 0;
  char detail[160];
  while (count < MAX_BLOCKS) {
    void *p = alloc_with(kind, MIB, &error);
    if (!p) break;
    memset(p, 0x5a, MIB); /* touch it: a limit on paper only would pass otherwise */
    blocks[count++] = p;
  }
  snprintf(detail, sizeof detail, "refused after %zu MiB with error %d (%s)", count, error,
           strerror(error));
  check(count < MAX_BLOCKS && error == ENOMEM, kind_names[kind], detail);
  snprintf(detail, sizeof detail, "got %zu MiB of a %d MiB limit", count, LIMIT_MIB);
  check(count >= LIMIT_MIB / 2 && count <= LIMIT_MIB, kind_names[kind], detail);
  return count;
}

/* Grows one block until realloc refuses; its first MiB carries a pattern
 * that must survive every move and the failed call. */
static void realloc_until_refused(void) {
  const uint64_t seed = 0x0123456789abcdefull;
  size_t size = MIB;
  unsigned char *p = malloc(size);
  if (!p) {
    check(0, "realloc", "initial malloc failed");
    return;
  }
  stress_pattern_fill(p, MIB, seed);
  for (;;) {
    errno = 0;
    unsigned char *grown = realloc(p, size + 4 * MIB);
    if (!grown) {
      char detail[160];
      int error = errno;
      snprintf(detail, sizeof detail, "refused growth past %zu MiB with error %d (%s)", size / MIB,
               error, strerror(error));
      check(error == ENOMEM && size >= 8 * MIB && size <= LIMIT_MIB * MIB, "realloc", detail);
      check(stress_pattern_ok(p, MIB, seed, "block kept by a failed realloc"), "realloc",
            "left the block intact when it failed");
      break;
    }
    p = grown;
    if (!stress_pattern_ok(p, MIB, seed, "realloc growth")) {
      check(0, "realloc", "lost the contents while growing");
      break;
    }
    memset(p + size, 0x5a, 4 * MIB);
    size += 4 * MIB;
    if (size > 4 * LIMIT_MIB * MIB) {
      check(0, "realloc", "never refused: no limit in force");
      break;
    }
  }
  free(p);
}

int main(void) {
  for (alloc_kind_t kind = 0; kind < ALLOC_KIND_COUNT; kind++)
    free_all(fill_until_refused(kind));
  realloc_until_refused();

  int error = 0;
  void *huge = alloc_with(ALLOC_MALLOC, 2 * LIMIT_MIB * MIB, &error);
  check(huge == NULL && error == ENOMEM, "malloc",
        "of twice the limit in one block fails with ENOMEM");
  free(huge);

  /* after everything was freed the pool serves again, also small blocks */
  size_t small = 0;
  for (; small < MAX_BLOCKS; small++)
    if (!(blocks[small] = malloc(small % 2 ? 100 : 20000))) break;
  check(small == MAX_BLOCKS, "malloc", "serves again once the blocks were freed");
  free_all(small);
  printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
