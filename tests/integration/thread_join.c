/* thread_join.c: joins threads whose stacks glibc does not keep in its
 * stack cache, which makes pthread_join free the thread's TLS (through the
 * allocator's free) while it holds the cache's lock. That free may be the
 * first to leave memory retained; had it started the allocator's
 * background thread there, pthread_create would wait for the same lock
 * forever, with every signal blocked.
 *
 *   thread_join big-stack | own-stack | fork
 *
 * big-stack: a 64 MiB stack, more than glibc's 40 MiB cache keeps;
 * own-stack: a stack the program supplies (pthread_attr_setstack), whose
 * TLS glibc frees at every join; fork: big-stack in a child of a parent
 * that has retained memory, so the child inherits the request for a
 * thread of its own. Prints "joined" and exits 0, or hangs. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, pthread_attr_setstack */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { JOINS = 8 };
#define BIG_STACK ((size_t)64 << 20)
#define OWN_STACK ((size_t)1 << 20)

static void *touch_tls(void *arg) {
  return arg;
}

/* Creates and joins JOINS threads with attr; 0 on success. */
static int join_threads(const pthread_attr_t *attr) {
  for (int i = 0; i < JOINS; i++) {
    pthread_t thread;
    if (pthread_create(&thread, attr, touch_tls, NULL) != 0) return 1;
    if (pthread_join(thread, NULL) != 0) return 1;
  }
  return 0;
}

static int join_big_stacks(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, BIG_STACK);
  int failed = join_threads(&attr);
  pthread_attr_destroy(&attr);
  return failed;
}

static int join_own_stacks(void) {
  void *stack = mmap(NULL, OWN_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack == MAP_FAILED) return 1;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, stack, OWN_STACK);
  int failed = join_threads(&attr);
  pthread_attr_destroy(&attr);
  return failed;
}

/* Retains memory in the parent (a freed 4 MiB block), then joins in a child. */
static int join_in_child(void) {
  void *block = malloc((size_t)4 << 20);
  if (block == NULL) return 1;
  memset(block, 1, (size_t)4 << 20);
  free(block);
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) _exit(join_big_stacks());
  int status;
  return waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

int main(int argc, char **argv) {
  const char *mode = argc == 2 ? argv[1] : "";
  int failed;
  if (strcmp(mode, "big-stack") == 0)
    failed = join_big_stacks();
  else if (strcmp(mode, "own-stack") == 0)
    failed = join_own_stacks();
  else if (strcmp(mode, "fork") == 0)
    failed = join_in_child();
  else {
    fprintf(stderr, "usage: thread_join big-stack|own-stack|fork\n");
    return 2;
  }
  if (failed) {
    fprintf(stderr, "thread_join %s: a thread could not be created or joined\n", mode);
    return 1;
  }
  printf("joined\n");
  return 0;
}
