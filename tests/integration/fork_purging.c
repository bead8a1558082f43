/* fork_purging.c: forks while the allocator's background thread purges
 * the memory just freed, and checks each child can still allocate.
 *
 *   fork_purging fork | _Fork   [ROUNDS]
 *
 * Each round allocates, touches and frees 48 MiB of large blocks, waits a
 * little (the thread purges them a decay period later, decay_ms:20 in
 * fork_purging.sh), then forks. The child allocates large and small
 * blocks, checks their contents and exits 0. fork runs the allocator's
 * handlers: the child puts back the runs the thread had in flight. _Fork
 * runs none: a child that inherits a lock the thread held must stop with
 * the allocator's one-line message, not hang. Prints "rounds=N completed=N
 * stopped=N hung=N other=N"; a child still running after 10 s counts as
 * hung and is killed. Exits 1 if any hung or ended otherwise, or, under
 * fork, if any stopped. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { BLOCKS = 48, BLOCK = 1 << 20, CHILD_BLOCKS = 32, WAIT_STEPS = 1000 };

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

static int child_allocates(void) {
  unsigned char *blocks[CHILD_BLOCKS];
  for (int i = 0; i < CHILD_BLOCKS; i++) {
    size_t size = 200000 + (size_t)i * 8192;
    if ((blocks[i] = malloc(size)) == NULL) return 2;
    memset(blocks[i], i + 1, size);
  }
  for (int i = 0; i < CHILD_BLOCKS; i++) {
    if (blocks[i][0] != i + 1 || blocks[i][199999] != i + 1) return 3;
    free(blocks[i]);
  }
  for (int i = 0; i < 1000; i++)
    free(malloc(16 + (size_t)i));
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "fork") != 0 && strcmp(argv[1], "_Fork") != 0)) {
    fprintf(stderr, "usage: fork_purging fork|_Fork [ROUNDS]\n");
    return 2;
  }
  bool handlers = strcmp(argv[1], "fork") == 0;
  int rounds = argc > 2 ? atoi(argv[2]) : 40;
  int completed = 0, stopped = 0, hung = 0, other = 0;
  unsigned seed = 1;
  for (int round = 0; round < rounds; round++) {
    void *blocks[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
      if ((blocks[i] = malloc(BLOCK + (size_t)i * 4096)) == NULL) return 1;
      memset(blocks[i], 1, BLOCK);
    }
    for (int i = 0; i < BLOCKS; i++)
      free(blocks[i]);
    sleep_ms(rand_r(&seed) % 25); /* before, during or after the purge */
    pid_t child = handlers ? fork() : _Fork();
    if (child < 0) return 1;
    if (child == 0) _exit(child_allocates());
    int status = 0, step = 0;
    while (waitpid(child, &status, WNOHANG) != child && ++step < WAIT_STEPS)
      sleep_ms(10);
    if (step == WAIT_STEPS) {
      hung++;
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      completed++;
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) {
      stopped++;
    } else {
      other++;
    }
  }
  printf("rounds=%d completed=%d stopped=%d hung=%d other=%d\n", rounds, completed, stopped, hung,
         other);
  return hung == 0 && other == 0 && (!handlers || stopped == 0) ? 0 : 1;
}
