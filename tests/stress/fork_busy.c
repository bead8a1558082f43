/* fork_busy.c: fork() while other threads are inside the allocator.
 *
 * Worker threads (STRESS_FORK_WORKERS, default 2) allocate, check and free without pause while the
 * main thread forks STRESS_FORKS children (default 100). A child must find the allocator usable at
 * once, whatever lock a worker held at the fork: it mallocs and frees, uses stdio and strdup, some
 * children start a thread, and it exits 0 through exit() (at-exit handlers included). The parent
 * checks every child's status and kills a child that does not finish
 * within 10 s: a deadlock is reported, never waited for forever. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress_util.h"

enum { WORKER_SLOTS = 64, CHILD_TIMEOUT_SECONDS = 10 };

static atomic_int stop;
static atomic_int worker_failed;

static void *busy_worker(void *arg) {
  uint32_t owner = (uint32_t)(uintptr_t)arg;
  stress_rng_t rng;
  stress_rng_seed(&rng, owner);
  void *slots[WORKER_SLOTS] = {0};
  size_t sizes[WORKER_SLOTS] = {0};
  while (!atomic_load(&stop)) {
    size_t i = stress_rng_below(&rng, WORKER_SLOTS);
    if (slots[i]) {
      if (!stress_block_ok(slots[i], sizes[i], owner, "worker")) atomic_store(&worker_failed, 1);
      free(slots[i]);
      slots[i] = NULL;
    } else {
      sizes[i] = 1 + stress_rng_below(&rng, i % 4 ? 1024 : 200000);
      slots[i] = malloc(sizes[i]);
      if (!slots[i])
        atomic_store(&worker_failed, 1);
      else
        stress_block_fill(slots[i], sizes[i], owner);
    }
  }
  for (size_t i = 0; i < WORKER_SLOTS; i++)
    free(slots[i]);
  return NULL;
}

static void *child_thread(void *arg) {
  char *text = strdup(arg);
  if (!text) return arg;
  void *block = calloc(100, 100);
  int ok = block != NULL;
  free(block);
  free(text);
  return ok ? NULL : arg;
}

/* Everything a child does; its return value is the exit status. */
static int child_main(long index) {
  stress_rng_t rng;
  stress_rng_seed(&rng, (uint64_t)index + 1000);
  void *blocks[200];
  size_t sizes[200];
  for (int i = 0; i < 200; i++) {
    sizes[i] = stress_rng_size(&rng);
    blocks[i] = malloc(sizes[i]);
    if (!blocks[i]) return 2;
    stress_block_fill(blocks[i], sizes[i], (uint32_t)index);
  }
  for (int i = 0; i < 200; i++) {
    if (!stress_block_ok(blocks[i], sizes[i], (uint32_t)index, "child")) return 3;
    free(blocks[i]);
  }
  char line[64];
  snprintf(line, sizeof line, "child %ld", index);
  char *copy = strdup(line);
  FILE *sink = fopen("/dev/null", "w"); /* a FILE and its buffer are heap memory */
  if (!copy || !sink || fprintf(sink, "%s %s\n", copy, line) < 0 || fclose(sink) != 0) return 4;
  free(copy);
  if (index % 4 == 0) {
    pthread_t id;
    void *result = line;
    if (pthread_create(&id, NULL, child_thread, line) != 0 || pthread_join(id, &result) != 0 ||
        result != NULL)
      return 5;
  }
  return 0;
}

/* Waits for the child with a deadline; returns its wait status, or -1 when
 * it had to be killed. */
static int child_wait(pid_t pid) {
  double deadline = stress_now() + CHILD_TIMEOUT_SECONDS;
  int status;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (stress_now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
  }
  return status;
}

int main(void) {
  long forks = stress_env_long("STRESS_FORKS", 100);
  long workers = stress_env_long("STRESS_FORK_WORKERS", 2);
  pthread_t ids[64];
  workers = workers > 64 ? 64 : workers;
  for (long i = 0; i < workers; i++)
    if (pthread_create(&ids[i], NULL, busy_worker, (void *)(uintptr_t)(i + 1)) != 0) return 1;

  long passed = 0, hung = 0;
  for (long i = 0; i < forks; i++) {
    fflush(stdout); /* or each child would flush the parent's buffer again */
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      break;
    }
    if (pid == 0) exit(child_main(i));
    int status = child_wait(pid);
    if (status == -1) {
      hung++;
      fprintf(stderr, "child %ld did not finish in %d s (deadlock?)\n", i, CHILD_TIMEOUT_SECONDS);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      passed++;
    } else {
      fprintf(stderr, "child %ld failed: %s %d\n", i, WIFEXITED(status) ? "exit" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
  }
  atomic_store(&stop, 1);
  for (long i = 0; i < workers; i++)
    pthread_join(ids[i], NULL);
  printf("forks %ld passed %ld hung %ld worker threads %ld worker failure %d\n", forks, passed,
         hung, workers, atomic_load(&worker_failed));
  return passed == forks && !atomic_load(&worker_failed) ? 0 : 1;
}
