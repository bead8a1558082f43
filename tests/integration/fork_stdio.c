/* fork_stdio.c: fork while other threads read long lines from a stream
 * (getline holds the stream's lock and grows its buffer past the small
 * sizes, into the allocator's locked paths) and flush every stream
 * (fflush(NULL) holds glibc's stream-list lock while it waits for each
 * stream's lock). glibc's fork takes that list lock after the prepare
 * handlers; an allocator that holds its own locks by then waits for the
 * flusher, which waits for the reader, which waits for the allocator.
 * Prints "forks=N" and exits 0 when every fork came back.
 *
 *   fork_stdio FORKS | fork_stdio prepare
 *
 * prepare: a fork handler registered after the allocator's runs first and
 * allocates, which starts the allocator's background thread. glibc's fork
 * saw one thread and resets no lock in the child; a thread the child
 * starts then flushes every stream, which hung on the list lock the
 * allocator's handler had taken. Exits 0 when the child ended. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINES     20
#define LINE_BASE 20000 /* bytes: getline's buffer grows through large blocks */

static atomic_bool stop;
static FILE *lines;

static void *read_lines(void *unused) {
  char *line = NULL;
  size_t capacity = 0;
  while (!atomic_load(&stop)) {
    rewind(lines);
    while (!atomic_load(&stop) && getline(&line, &capacity, lines) > 0) {
      free(line); /* so the next line grows a buffer again */
      line = NULL;
      capacity = 0;
    }
  }
  free(line);
  return unused;
}

static void *flush_all(void *unused) {
  while (!atomic_load(&stop))
    fflush(NULL);
  return unused;
}

static void *(*volatile allocate)(size_t) = malloc; /* kept: the compiler drops malloc+free */

static void prepare_allocates(void) {
  free(allocate((size_t)2 << 20));
}

static void *flush_once(void *unused) {
  fflush(NULL);
  return unused;
}

static int fork_after_allocating_handler(void) {
  pthread_atfork(prepare_allocates, NULL, NULL);
  pid_t child = fork();
  if (child == 0) {
    pthread_t flusher;
    _exit(pthread_create(&flusher, NULL, flush_once, NULL) != 0 ||
          pthread_join(flusher, NULL) != 0);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child) return 2;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "prepare") == 0) return fork_after_allocating_handler();
  int forks = argc > 1 ? atoi(argv[1]) : 100;
  lines = tmpfile();
  if (lines == NULL) {
    perror("fork_stdio: tmpfile");
    return 2;
  }
  for (int i = 0; i < LINES; i++) {
    for (int b = 0; b < LINE_BASE + i * 5000; b++)
      fputc('x', lines);
    fputc('\n', lines);
  }
  fflush(lines);
  pthread_t reader, flusher;
  if (pthread_create(&reader, NULL, read_lines, NULL) != 0 ||
      pthread_create(&flusher, NULL, flush_all, NULL) != 0) {
    fprintf(stderr, "fork_stdio: pthread_create failed\n");
    return 2;
  }
  for (int i = 0; i < forks; i++) {
    pid_t child = fork();
    if (child == 0) _exit(0);
    if (child < 0 || waitpid(child, NULL, 0) != child) {
      perror("fork_stdio: fork");
      return 2;
    }
  }
  atomic_store(&stop, true);
  pthread_join(reader, NULL);
  pthread_join(flusher, NULL);
  printf("forks=%d\n", forks);
  return 0;
}
