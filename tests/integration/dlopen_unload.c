/* dlopen_unload.c: the library loaded with dlopen, as a plugin that links
 * -lpoolmalloc brings it in, used through pm_malloc by a worker thread,
 * then unloaded with dlclose while the worker still has a heap and the
 * allocator's background thread waits to give memory back
 * (dlopen_unload.sh). The library starts that thread and registers a
 * thread-exit key and fork handlers, none of which can be undone, so it
 * must stay mapped: the worker's exit then runs the allocator's exit hook
 * and the background thread wakes, both into live code.
 *
 *   dlopen_unload LIBRARY
 *
 * Prints "still loaded: yes|no" after dlclose; exit status 0 when the
 * process survived the worker's exit and the background thread's wake. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { LARGE = (size_t)1 << 20, BLOCKS = 8 };

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);

static malloc_fn pm_malloc_loaded;
static free_fn pm_free_loaded;
static atomic_int worker_may_exit;

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

/* Small blocks make the thread a heap and its exit hook; large ones, freed,
 * leave memory for the background thread to give back later. */
static void *worker_main(void *arg) {
  (void)arg;
  void *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    blocks[i] = pm_malloc_loaded(i % 2 ? 64 : LARGE);
    if (blocks[i] == NULL) return arg;
    memset(blocks[i], 0x5a, i % 2 ? 64 : LARGE);
  }
  for (int i = 0; i < BLOCKS; i++)
    pm_free_loaded(blocks[i]);
  while (atomic_load(&worker_may_exit) == 0)
    sleep_ms(1);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: dlopen_unload LIBRARY\n");
    return 64;
  }
  void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  pm_malloc_loaded = (malloc_fn)(uintptr_t)dlsym(library, "pm_malloc");
  pm_free_loaded = (free_fn)(uintptr_t)dlsym(library, "pm_free");
  if (pm_malloc_loaded == NULL || pm_free_loaded == NULL) {
    fprintf(stderr, "dlsym: %s\n", dlerror());
    return 1;
  }
  pthread_t worker;
  if (pthread_create(&worker, NULL, worker_main, NULL) != 0) return 1;
  sleep_ms(100); /* the worker has allocated and freed */
  if (dlclose(library) != 0) {
    fprintf(stderr, "dlclose: %s\n", dlerror());
    return 1;
  }
  printf("still loaded: %s\n", dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) != NULL ? "yes" : "no");
  fflush(stdout);
  atomic_store(&worker_may_exit, 1);
  void *failed = NULL;
  pthread_join(worker, &failed);
  if (failed != NULL) return 1;
  sleep_ms(600); /* decay_ms:100: the background thread wakes and releases */
  printf("survived\n");
  return 0;
}
