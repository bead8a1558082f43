/* first_call.c: makes the process's first allocator call from the
 * executable's preinit function, which the dynamic linker runs before any
 * library's constructor (libpoolmalloc's included), so that call meets an
 * allocator that has not set itself up yet. The argument names the call:
 *
 *   first_call memalign | posix_memalign | aligned_alloc | valloc |
 *              pvalloc | malloc | calloc
 *
 * Each asks for an aligned (or plain) block, writes all of it, checks its
 * alignment and usable size, then allocates and fills neighbours of the
 * same size and checks the first block's bytes survived. Exits 0 when all
 * holds, 1 with a line on stderr otherwise. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NEIGHBOURS = 64 };

static const char *first_call_name;
static int failures;

static void check(int ok, const char *what, size_t value) {
  if (ok) return;
  fprintf(stderr, "first_call %s: %s (%zu)\n", first_call_name, what, value);
  failures++;
}

/* The first call itself; sets *alignment to what it promises. Sizes up to
 * 1 KiB find their class through a table, larger ones by arithmetic: the
 * 1100-byte request covers the second way. */
static void *first_allocation(const char *name, size_t *size, size_t *alignment) {
  void *block = NULL;
  *alignment = 16;
  *size = 1000;
  if (strcmp(name, "memalign") == 0) {
    *alignment = 64;
    block = memalign(*alignment, *size);
  } else if (strcmp(name, "posix_memalign") == 0) {
    *alignment = 512;
    *size = 1100;
    if (posix_memalign(&block, *alignment, *size) != 0) block = NULL;
  } else if (strcmp(name, "aligned_alloc") == 0) {
    *alignment = 256;
    block = aligned_alloc(*alignment, *size);
  } else if (strcmp(name, "valloc") == 0) {
    *alignment = 4096;
    block = valloc(*size);
  } else if (strcmp(name, "pvalloc") == 0) {
    *alignment = 4096;
    block = pvalloc(*size);
  } else if (strcmp(name, "calloc") == 0) {
    block = calloc(1, *size);
  } else {
    block = malloc(*size);
  }
  return block;
}

/* Runs as the first code of the process that may allocate. */
static void first_call_check(int argc, char **argv, char **envp) {
  (void)envp;
  if (argc != 2) return; /* main reports the usage */
  first_call_name = argv[1];
  size_t size, alignment;
  unsigned char *block = first_allocation(argv[1], &size, &alignment);
  check(block != NULL, "the first call returned NULL", 0);
  if (block == NULL) return;
  check((uintptr_t)block % alignment == 0, "misaligned block", (uintptr_t)block % alignment);
  check(malloc_usable_size(block) >= size, "usable size below the request",
        malloc_usable_size(block));
  memset(block, 0xa5, size);
  void *neighbours[NEIGHBOURS];
  for (int i = 0; i < NEIGHBOURS; i++) {
    neighbours[i] = malloc(size);
    check(neighbours[i] != NULL, "a neighbour returned NULL", (size_t)i);
    if (neighbours[i] != NULL) memset(neighbours[i], 0x5a, size);
  }
  size_t intact = 0;
  while (intact < size && block[intact] == 0xa5)
    intact++;
  check(intact == size, "the first block's bytes were overwritten from offset", intact);
  for (int i = 0; i < NEIGHBOURS; i++)
    free(neighbours[i]);
  free(block);
}

__attribute__((section(".preinit_array"),
               used)) static void (*const first_call_preinit)(int, char **,
                                                              char **) = first_call_check;

int main(int argc, char **argv) {
  (void)argv; /* read by first_call_check */
  if (argc != 2) {
    fprintf(stderr, "usage: first_call memalign|posix_memalign|aligned_alloc|valloc|pvalloc|"
                    "malloc|calloc\n");
    return 2;
  }
  return failures == 0 ? 0 : 1;
}
