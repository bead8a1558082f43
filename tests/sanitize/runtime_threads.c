/* runtime_threads.c: the runtime-link header (poolmalloc_runtime.h) when
 * several threads make their first planner call at once, each filling the
 * header's table of functions on first use. Run plainly by make check
 * (under LD_PRELOAD, so the table holds the library's functions) and by
 * ThreadSanitizer in make check-sanitize (the fallback's table), which
 * reported the threads' concurrent writes of the table. Prints TAP. */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */
#define POOLMALLOC_RUNTIME_LINK
#include <pthread.h>
#include <stdio.h>

#include "poolmalloc.h"

#define THREADS 4

static pthread_barrier_t start;

/* Plans one 100-byte tensor; 0 if the plan has the tensor at offset 0. */
static void *plan_one_tensor(void *unused) {
  (void)unused;
  pthread_barrier_wait(&start);
  pm_graph_t *graph = pm_graph_create("runtime-threads");
  int tensor = graph != NULL ? pm_graph_add_tensor(graph, "x", 100, 0, 0) : -1;
  const pm_plan_t *plan = NULL;
  int status = tensor >= 0 ? pm_graph_plan(graph, NULL, &plan) : -1;
  int failed = status != PM_OK || pm_plan_offset(plan, tensor) != 0;
  pm_graph_destroy(graph);
  return failed ? (void *)1 : NULL;
}

int main(void) {
  pthread_t threads[THREADS];
  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++)
    if (pthread_create(&threads[i], NULL, plan_one_tensor, NULL) != 0) {
      puts("Bail out! pthread_create failed");
      return 1;
    }
  int failures = 0;
  for (int i = 0; i < THREADS; i++) {
    void *result;
    pthread_join(threads[i], &result);
    failures += result != NULL;
  }
  printf("1..1\n%sok 1 - %d threads plan through the runtime header at once\n",
         failures ? "not " : "", THREADS);
  return failures != 0;
}
