/* fork_alloc.c: a library whose fork handlers allocate, for fork_busy.sh.
 *
 * Preloaded after libpoolmalloc, it is initialised first, so its handlers
 * are registered before the allocator's: POSIX then runs its prepare
 * handler after the allocator's (with the allocator's locks held by the
 * forking thread) and its parent and child handlers before the allocator's
 * (with those locks still held). Each handler allocates a large block,
 * which takes the page lock, and a small one, writes them and frees them;
 * a deadlock here is what fork_busy.sh's time limit catches. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void allocate_and_free(void) {
  char *large = malloc((size_t)1 << 20);
  char *small = malloc(100);
  if (large == NULL || small == NULL) abort();
  memset(large, 0x5a, (size_t)1 << 20);
  memset(small, 0xa5, 100);
  free(small);
  free(large);
}

__attribute__((constructor)) static void fork_alloc_register(void) {
  pthread_atfork(allocate_and_free, allocate_and_free, allocate_and_free);
}
