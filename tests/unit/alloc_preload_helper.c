/* alloc_preload_helper.c: a plain program, not linked with the library,
 * that alloc_preload.sh runs under LD_PRELOAD to check the interposed malloc
 * family from the outside. Each mode exits 0 when its checks pass and
 * prints what failed otherwise. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "poolmalloc.h"

void *__libc_malloc(size_t size);
void __libc_free(void *ptr);
void *__libc_memalign(size_t alignment, size_t size);
struct mallinfo __libc_mallinfo(void);
int __libc_mallopt(int param, int value);

static int failures;
#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__);                            \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

static int (*stats_of_library)(pm_stats_t *);

static uint64_t allocations(void) {
  pm_stats_t s;
  stats_of_library(&s);
  return s.total_allocations;
}

static int check_family(void) {
  uint64_t before = allocations();
  void *blocks[] = {malloc(10),
                    calloc(3, 7),
                    realloc(NULL, 100),
                    aligned_alloc(4096, 100),
                    memalign(64, 10),
                    valloc(10),
                    pvalloc(10),
                    __libc_malloc(20),
                    __libc_memalign(128, 5),
                    reallocarray(NULL, 4, 4)};
  size_t count = sizeof blocks / sizeof blocks[0];
  CHECK(allocations() - before == count);
  for (size_t i = 0; i < count; i++)
    CHECK(blocks[i] != NULL && (uintptr_t)blocks[i] % 16 == 0);
  CHECK((uintptr_t)blocks[3] % 4096 == 0 && malloc_usable_size(blocks[3]) >= 100);
  void *aligned = NULL;
  CHECK(posix_memalign(&aligned, 256, 1000) == 0 && (uintptr_t)aligned % 256 == 0);
  CHECK(posix_memalign(&aligned, 3, 1000) == EINVAL);
  errno = 0;
  volatile size_t not_a_power_of_two = 3; /* clang rejects a literal one at compile time */
  CHECK(aligned_alloc(not_a_power_of_two, 8) == NULL && errno == EINVAL);
  errno = 0;
  volatile size_t too_many = SIZE_MAX / 4; /* hidden from the compiler's own check */
  CHECK(calloc(too_many, 8) == NULL && errno == ENOMEM);
  for (size_t i = 0; i < count; i++)
    free(blocks[i]);
  free(aligned);
  /* glibc 2.36 has no free_sized; the library provides it. */
  void (*free_sized_of_library)(void *, size_t) =
      (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
  CHECK(free_sized_of_library != NULL);
  uint64_t frees_before = 0;
  pm_stats_t s;
  stats_of_library(&s);
  frees_before = s.total_frees;
  free_sized_of_library(malloc(40), 40);
  stats_of_library(&s);
  CHECK(s.total_frees - frees_before == 1);
  __libc_free(__libc_malloc(1));
  /* As glibc counts them: a huge block in hblks and hblkhd only, and the
   * arena's held and free bytes adding up to it. */
  struct mallinfo2 unheld = mallinfo2();
  void *big = malloc((size_t)32 << 20);
  memset(big, 1, (size_t)32 << 20);
  struct mallinfo2 held = mallinfo2();
  CHECK(held.hblks == unheld.hblks + 1 && held.hblkhd >= unheld.hblkhd + ((size_t)32 << 20));
  CHECK(held.uordblks < unheld.uordblks + ((size_t)1 << 20));
  CHECK(held.uordblks + held.fordblks == held.arena && held.keepcost <= held.fordblks);
  free(big);
  struct mallinfo2 released = mallinfo2();
  CHECK(released.hblks == unheld.hblks && released.hblkhd == unheld.hblkhd);
  /* The mapping kept for reuse is free memory of the arena. */
  CHECK(released.uordblks + released.fordblks == released.arena);
  CHECK(released.keepcost <= released.fordblks);
  CHECK(malloc_trim(0) == 1);
  return failures;
}

/* glibc's introspection and tuning calls reach the library: malloc_info
 * writes its XML with the pool's figures, mallopt's trim threshold sets how
 * much free memory is kept, and malloc_stats (last, so the script can read
 * it) prints the library's statistics to stderr. */
static int check_introspection(void) {
  enum { BIG = 8 << 20 };
  /* A huge block freed just before: its mapping, kept for reuse, is free
   * memory inside the current size, as glibc's free chunks are. */
  char *volatile huge = malloc((size_t)32 << 20);
  memset(huge, 1, (size_t)32 << 20);
  free(huge);
  char *xml = NULL;
  size_t length = 0;
  FILE *memory = open_memstream(&xml, &length);
  CHECK(memory != NULL);
  if (memory == NULL) return failures;
  CHECK(malloc_info(0, memory) == 0);
  fclose(memory);
  static const char current_tag[] = "<system type=\"current\" size=\"";
  const char *current = strstr(xml, current_tag);
  CHECK(strncmp(xml, "<malloc version=\"1\">", 20) == 0 && strstr(xml, "</malloc>") != NULL);
  /* The page pool maps whole 32 MiB segments. */
  CHECK(current != NULL && strtoull(current + sizeof current_tag - 1, NULL, 10) >= (32u << 20));
  /* The totals (after </heap>): the free bytes lie inside the current size. */
  static const char rest_tag[] = "<total type=\"rest\" count=\"0\" size=\"";
  const char *totals = strstr(xml, "</heap>");
  const char *rest = totals != NULL ? strstr(totals, rest_tag) : NULL;
  const char *total_current = totals != NULL ? strstr(totals, current_tag) : NULL;
  CHECK(rest != NULL && total_current != NULL &&
        strtoull(rest + sizeof rest_tag - 1, NULL, 10) <=
            strtoull(total_current + sizeof current_tag - 1, NULL, 10));
  free(xml);
  errno = 0;
  CHECK(malloc_info(1, stdout) == EINVAL && errno == 0); /* glibc returns the error */

  /* glibc 2.36's answers: 1, but 0 for an M_MXFAST it cannot honour. */
  CHECK(mallopt(M_ARENA_MAX, 2) == 1 && mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
  CHECK(mallopt(12345, 1) == 1 && mallopt(M_MXFAST, 1 << 20) == 0);
  CHECK(__libc_mallopt(M_MXFAST, 1 << 20) == 0 && __libc_mallopt(M_ARENA_MAX, 2) == 1);
  char *volatile big = malloc(BIG);
  memset(big, 1, BIG);
  free(big);
  CHECK(mallinfo2().keepcost >= BIG / 2); /* kept for reuse by default */
  /* glibc's __libc_mallinfo would count its own, unused, arenas. */
  CHECK(__libc_mallinfo().keepcost >= BIG / 2);
  CHECK(__libc_mallopt(M_TRIM_THRESHOLD, 0) == 1); /* glibc's other name for mallopt */
  big = malloc(BIG);
  memset(big, 1, BIG);
  free(big);
  CHECK(mallinfo2().keepcost == 0);          /* nothing kept past a threshold of 0 */
  CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1); /* no threshold: keep it all */
  big = malloc(BIG);
  memset(big, 1, BIG);
  free(big);
  CHECK(mallinfo2().keepcost >= BIG / 2);
  malloc_stats();
  return failures;
}

static volatile int stop;

static void *busy(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void *mine[64] = {0};
  while (!stop) {
    int k = rand_r(&seed) % 64;
    free(mine[k]);
    mine[k] = malloc((size_t)(rand_r(&seed) % 300000));
  }
  for (int k = 0; k < 64; k++)
    free(mine[k]);
  return NULL;
}

/* The child of a parent whose threads allocate without pause must find
 * every allocator lock usable. */
static int check_fork(void) {
  pthread_t threads[3];
  for (uintptr_t t = 0; t < 3; t++)
    pthread_create(&threads[t], NULL, busy, (void *)t);
  for (int round = 0; round < 40; round++) {
    pid_t pid = fork();
    if (pid == 0) {
      void *p[100];
      int ok = 1;
      for (int i = 0; i < 100; i++)
        ok &= (p[i] = malloc((size_t)i * 1000 + 1)) != NULL;
      for (int i = 0; i < 100; i++)
        free(p[i]);
      _exit(ok ? 0 : 3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  stop = 1;
  for (int t = 0; t < 3; t++)
    pthread_join(threads[t], NULL);
  return failures;
}

int main(int argc, char **argv) {
  stats_of_library = (int (*)(pm_stats_t *))dlsym(RTLD_DEFAULT, "pm_stats");
  if (stats_of_library == NULL) {
    fprintf(stderr, "libpoolmalloc is not preloaded\n");
    return 1;
  }
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "family") == 0) return check_family();
  if (strcmp(mode, "fork") == 0) return check_fork();
  if (strcmp(mode, "introspect") == 0) return check_introspection();
  if (strcmp(mode, "bad-free") == 0) {
    static char not_ours[32];
    char *volatile pointer = not_ours + 16; /* hidden from the compiler's own check */
    free(pointer);
    return 0; /* not reached: free aborts */
  }
  if (strcmp(mode, "exit") == 0) { /* statistics print at exit */
    static void *volatile sink;    /* keeps the compiler from eliding the pairs */
    for (int i = 0; i < 1000; i++) {
      sink = malloc((size_t)i);
      free(sink);
    }
    return 0;
  }
  if (strcmp(mode, "close-stderr") == 0) { /* as coreutils do on their way out */
    close(2);
    return 0;
  }
  if (strcmp(mode, "reuse-stderr") == 0 && argc > 2) { /* fd 2 becomes a file of ours */
    close(2);
    return open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600) == 2 ? 0 : 3;
  }
  if (strcmp(mode, "reuse-copy") == 0 && argc > 2) { /* closefrom(3), then files of ours */
    int file = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (file < 0) return 3;
    for (int fd = 3; fd < 4096; fd++) {
      if (fd == file || fcntl(fd, F_GETFD) < 0) continue;
      close(fd);
      if (dup2(file, fd) != fd) return 3;
    }
    return 0;
  }
  fprintf(stderr,
          "usage: %s family|fork|introspect|bad-free|exit|close-stderr|reuse-stderr FILE|"
          "reuse-copy FILE\n",
          argv[0]);
  return 2;
}
