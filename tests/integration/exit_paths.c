/* exit_paths.c: allocates, then ends in the way its argument names, so
 * exit_paths.sh can check that POOLMALLOC_STATS reports however a program
 * ends.
 *
 *   exit_paths return | exit | abort | raise | chained_abort | daemon_child | badfree |
 *              pthread_exit | pthread_exit_idle | pthread_exit_worker |
 *              pthread_exit_late_worker
 *
 * pthread_exit also frees 6 MiB first, so the allocator has memory to give
 * back (and a background thread to do it) when the main thread leaves;
 * pthread_exit_idle then sleeps 2.5 s, so that the background thread has
 * given it back and waits idle when the main thread leaves;
 * pthread_exit_worker leaves a worker that ends 0.5 s later without ever
 * allocating, so nothing tells the background thread, which holds memory
 * to give back, that it is the last thread; pthread_exit_late_worker's
 * ends 6.5 s later, when the background thread has long given the memory
 * back and looks only now and then. The pthread_exit ones check that the
 * exit handlers run with no signal blocked, on whichever thread ends the
 * process. chained_abort installs a SIGABRT
 * handler that calls the one it replaced (the allocator's, under
 * POOLMALLOC_STATS), as signal-chaining runtimes do, then aborts.
 * daemon_child forks a child that detaches from stderr as daemon(3) does
 * and exits 5 if it still holds the parent's stderr open. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { BLOCKS = 3000 };

/* A worker that never allocates, so no exit hook of the allocator runs
 * when it ends; it sleeps for the timespec it is given. */
static void *sleep_then_end(void *pause) {
  nanosleep(pause, NULL);
  return NULL;
}

/* Runs on whichever thread ends the process: after pthread_exit, maybe
 * the allocator's background thread. The program blocks no signal, so
 * neither may its exit handlers' thread. */
static void exit_handler_sees_program_mask(void) {
  sigset_t mask;
  if (pthread_sigmask(SIG_BLOCK, NULL, &mask) == 0 && sigismember(&mask, SIGTERM)) {
    static const char message[] = "exit_paths: exit handler runs with SIGTERM blocked\n";
    write(2, message, sizeof message - 1);
    _exit(4);
  }
}

/* The child of daemon_child: detaches from stderr as daemon(3) does, then
 * exits 5 if a descriptor still refers to the parent's stderr, which would
 * keep a pipe reading it open until this child ends. */
static int detached_child_check(const struct stat *parent_stderr) {
  int null = open("/dev/null", O_RDWR);
  for (int fd = 0; fd <= 2; fd++)
    dup2(null, fd);
  if (null > 2) close(null);
  DIR *fds = opendir("/proc/self/fd");
  if (fds == NULL) return 0; /* nothing to look at: not a finding */
  int held = 0;
  struct dirent *entry;
  struct stat file;
  while ((entry = readdir(fds)) != NULL) {
    int fd = atoi(entry->d_name);
    if (fd > 2 && fd != dirfd(fds) && fstat(fd, &file) == 0 &&
        file.st_dev == parent_stderr->st_dev && file.st_ino == parent_stderr->st_ino)
      held++;
  }
  closedir(fds);
  return held == 0 ? 0 : 5;
}

static struct sigaction replaced;

/* Counts its calls: more than a few means the signal keeps coming back. */
static void chain_to_replaced(int signal_number) {
  static int calls;
  if (++calls > 3) _exit(3);
  if (replaced.sa_handler != SIG_DFL && replaced.sa_handler != SIG_IGN)
    replaced.sa_handler(signal_number);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: exit_paths return|exit|abort|raise|chained_abort|daemon_child|badfree|"
                    "pthread_exit|"
                    "pthread_exit_idle|pthread_exit_worker|pthread_exit_late_worker\n");
    return 2;
  }
  static void *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    blocks[i] = malloc(16 + (size_t)(i % 200) * 8);
    if (blocks[i] == NULL) return 1;
    memset(blocks[i], i & 0xff, 16);
  }
  for (int i = 0; i < BLOCKS; i += 2)
    free(blocks[i]);
  if (strcmp(argv[1], "exit") == 0) exit(0);
  if (strncmp(argv[1], "pthread_exit", strlen("pthread_exit")) == 0) {
    enum { LARGE = 64, LARGE_SIZE = 100 * 1024 };
    static void *large[LARGE];
    for (int i = 0; i < LARGE; i++) {
      large[i] = malloc(LARGE_SIZE);
      if (large[i] == NULL) return 1;
      memset(large[i], 1, LARGE_SIZE);
    }
    for (int i = 0; i < LARGE; i++)
      free(large[i]);
    atexit(exit_handler_sees_program_mask);
    if (strcmp(argv[1], "pthread_exit_idle") == 0) {
      struct timespec idle = {2, 500000000};
      nanosleep(&idle, NULL);
    }
    static struct timespec soon = {0, 500000000}, late = {6, 500000000};
    bool late_worker = strcmp(argv[1], "pthread_exit_late_worker") == 0;
    pthread_t worker;
    if ((late_worker || strcmp(argv[1], "pthread_exit_worker") == 0) &&
        pthread_create(&worker, NULL, sleep_then_end, late_worker ? &late : &soon) != 0)
      return 1;
    pthread_exit(NULL);
  }
  if (strcmp(argv[1], "daemon_child") == 0) {
    struct stat parent_stderr;
    if (fstat(2, &parent_stderr) != 0) return 1;
    pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) _exit(detached_child_check(&parent_stderr)); /* no exit report */
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return 1;
    if (WEXITSTATUS(status) != 0) fprintf(stderr, "exit_paths: the child holds our stderr\n");
    return WEXITSTATUS(status);
  }
  if (strcmp(argv[1], "abort") == 0) abort();
  if (strcmp(argv[1], "chained_abort") == 0) {
    struct sigaction chain = {.sa_handler = chain_to_replaced};
    sigaction(SIGABRT, &chain, &replaced);
    abort();
  }
  if (strcmp(argv[1], "raise") == 0) raise(SIGABRT); /* as kill -ABRT would */
  if (strcmp(argv[1], "badfree") == 0) {
    /* volatile: the compiler would rightly refuse a visible bad free. */
    static char not_from_malloc[64];
    char *volatile foreign = not_from_malloc + 16;
    free(foreign);
  }
  return strcmp(argv[1], "return") == 0 ? 0 : 2;
}
