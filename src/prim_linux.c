/* prim_linux.c: the Linux implementation of prim.h, the only file that
 * makes Linux-specific calls. */
#include "config.h" /* HAVE_VALGRIND_MEMCHECK_H */
#include "prim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_VALGRIND_MEMCHECK_H
#include <valgrind/memcheck.h>
#endif

/* Mappings left before the injected failures start; -1: none injected. */
static _Atomic int64_t maps_before_failure = -1;

void _pm_prim_fail_maps_after(uint64_t maps) {
  atomic_store(&maps_before_failure, maps == 0 ? -1 : (int64_t)maps);
}

/* true when the failure hook says this mapping must fail. */
static bool map_refused(void) {
  int64_t left = atomic_load_explicit(&maps_before_failure, memory_order_relaxed);
  if (left < 0) return false;
  if (left > 0 && atomic_compare_exchange_strong(&maps_before_failure, &left, left - 1))
    return false;
  errno = ENOMEM;
  return true;
}

static _Atomic int thp_mode = PM_PRIM_THP_NEVER;

void _pm_prim_set_thp(pm_prim_thp_t mode) {
  atomic_store(&thp_mode, (int)mode);
}

/* A failed advice (a kernel without THP) leaves the mapping as it was. */
static void map_advise_thp(void *addr, size_t size) {
  int mode = atomic_load_explicit(&thp_mode, memory_order_relaxed);
  if (mode == PM_PRIM_THP_SYSTEM) return;
  int saved = errno;
  madvise(addr, size, mode == PM_PRIM_THP_ALWAYS ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  errno = saved;
}

/* The kernel aligns mappings to the page only. For more, reserve size +
 * alignment bytes of address space: inaccessible and unreserved, so that
 * under strict overcommit (vm.overcommit_memory=2) the reservation is not
 * charged against the commit limit, only the part kept. Returns the
 * aligned address inside, or 0 with *reserve MAP_FAILED. */
static uintptr_t reserve_aligned(size_t size, size_t alignment, uint8_t **reserve) {
  *reserve = MAP_FAILED;
  size_t span = size + alignment;
  if (span < size) return 0;
  *reserve = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (*reserve == MAP_FAILED) return 0;
  return ((uintptr_t)*reserve + alignment - 1) & ~(uintptr_t)(alignment - 1);
}

/* Gives back the reservation around the size bytes kept at aligned. */
static void reserve_trim(uint8_t *reserve, size_t size, size_t alignment, uintptr_t aligned) {
  size_t head = aligned - (uintptr_t)reserve, tail = alignment - head;
  if (head > 0) munmap(reserve, head);
  if (tail > 0) munmap((uint8_t *)aligned + size, tail);
}

/* Without room for the reservation's extra (an address-space limit,
 * RLIMIT_AS, below twice the segment size refused even the first small
 * malloc): a mapping of size bytes only, kept if the kernel happens to
 * align it, else tried at the aligned addresses just below it (the kernel
 * hands out addresses downwards, so the range below is likely free) and
 * just above. */
static void *map_aligned_exactly(size_t size, size_t alignment) {
  const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
  uint8_t *block = mmap(NULL, size, prot, flags, -1, 0);
  if (block == MAP_FAILED) return NULL;
  uintptr_t below = (uintptr_t)block & ~(uintptr_t)(alignment - 1);
  if (below == (uintptr_t)block) return block;
  munmap(block, size);
  uintptr_t tries[2] = {below, below + alignment};
  for (int i = 0; i < 2; i++) {
    block = mmap((void *)tries[i], size, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
    if (block == MAP_FAILED) continue;
    if ((uintptr_t)block == tries[i]) return block;
    munmap(block, size); /* a kernel before 4.17 takes the address as a hint only */
  }
  return NULL;
}

void *_pm_prim_map_aligned(size_t size, size_t alignment) {
  if (map_refused()) return NULL;
  const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
  void *block;
  if (alignment <= _pm_prim_page_size()) {
    block = mmap(NULL, size, prot, flags, -1, 0);
    if (block == MAP_FAILED) return NULL;
  } else {
    uint8_t *reserve;
    uintptr_t aligned = reserve_aligned(size, alignment, &reserve);
    if (reserve == MAP_FAILED) {
      block = map_aligned_exactly(size, alignment);
      if (block == NULL) return NULL;
    } else {
      /* Mapped over the reservation: the range is never left unmapped for
       * another thread's mmap to take. */
      block = mmap((void *)aligned, size, prot, flags | MAP_FIXED, -1, 0);
      if (block == MAP_FAILED) {
        munmap(reserve, size + alignment);
        return NULL;
      }
      reserve_trim(reserve, size, alignment, aligned);
    }
  }
  map_advise_thp(block, size);
  return block;
}

void _pm_prim_unmap(void *addr, size_t size) {
  munmap(addr, size);
}

/* The pages a mapping just gained, fresh and so reading as zero, are
 * declared so to memcheck. When one mremap moves a mapping and grows it,
 * valgrind 3.19 gives the added part the permissions of the entry its
 * segment table holds, after the move, where the old mapping's entry was:
 * usually the hole the move left, so every write to a huge block that
 * realloc had moved was reported invalid, in make check-valgrind and in
 * any program run under memcheck with this library. Growth in place is
 * tracked right and declared as well, at no cost. Natively the request is
 * a few instructions that do nothing; built without valgrind's header,
 * none. */
static void map_note_gained(void *addr, size_t size) {
#ifdef HAVE_VALGRIND_MEMCHECK_H
  (void)VALGRIND_MAKE_MEM_DEFINED(addr, size);
#else
  (void)addr;
  (void)size;
#endif
}

void *_pm_prim_remap_aligned(void *addr, size_t old_size, size_t new_size, size_t alignment) {
  if (new_size <= old_size) {
    if (new_size < old_size) munmap((uint8_t *)addr + new_size, old_size - new_size);
    return addr;
  }
  if (map_refused()) return NULL;
  int saved = errno;
  if (mremap(addr, old_size, new_size, 0) != MAP_FAILED) {
    map_note_gained((uint8_t *)addr + old_size, new_size - old_size);
    return addr;
  }
  /* Growing in place was only the first try: its failure is not the
   * caller's to see. Otherwise reserve an aligned range and move the pages
   * there: the kernel moves page tables, nothing is copied. */
  errno = saved;
  uint8_t *reserve;
  uintptr_t aligned = reserve_aligned(new_size, alignment, &reserve);
  if (reserve == MAP_FAILED) return NULL;
  void *moved = mremap(addr, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)aligned);
  if (moved == MAP_FAILED) {
    munmap(reserve, new_size + alignment);
    return NULL;
  }
  reserve_trim(reserve, new_size, alignment, aligned);
  map_note_gained((uint8_t *)moved + old_size, new_size - old_size);
  return moved;
}

bool _pm_prim_purge(void *addr, size_t size) {
  int saved = errno;
  bool purged = madvise(addr, size, MADV_DONTNEED) == 0;
  errno = saved;
  return purged;
}

size_t _pm_prim_page_size(void) {
  return (size_t)sysconf(_SC_PAGESIZE);
}

uint64_t _pm_prim_clock_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now); /* ms resolution is plenty */
  return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

int _pm_prim_write(int fd, const void *buf, size_t len) {
  const char *at = buf;
  while (len > 0) {
    ssize_t n = write(fd, at, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    at += n;
    len -= (size_t)n;
  }
  return 0;
}

int _pm_prim_open_for_write(const char *path) {
  return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

int _pm_prim_dup_high(int fd) {
  return fcntl(fd, F_DUPFD_CLOEXEC, 512);
}

bool _pm_prim_file_id(int fd, pm_prim_file_id_t *id) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  id->device = (uint64_t)st.st_dev;
  id->inode = (uint64_t)st.st_ino;
  return true;
}

void _pm_prim_close(int fd) {
  close(fd);
}

pid_t _pm_prim_getpid(void) {
  return getpid();
}

bool _pm_prim_is_main_thread(void) {
  return gettid() == getpid();
}

/* In a set-user-ID or set-group-ID program (AT_SECURE) the environment is
 * the caller's: nothing, as glibc does with its own malloc tunables, so
 * that no one can make such a program write statistics to a file of
 * their choosing. */
const char *_pm_prim_getenv(const char *name) {
  return secure_getenv(name);
}

/* splitmix64's output function (Steele, Lea and Flood, OOPSLA 2014). */
static uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

void _pm_prim_random(void *buf, size_t len) {
  if (getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len) return;
  /* Refused by a seccomp filter or an old kernel: the device may still
   * be readable. */
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t got = read(fd, buf, len);
    close(fd);
    if (got == (ssize_t)len) return;
  }
  /* Early in boot with no device: the 16 bytes the kernel hands every
   * process at exec, never as they are, since glibc makes its stack canary
   * and pointer guard of them and the freed mark can be read in any freed
   * block. Word i is mix64(mix64(a + i * increment) ^ b), with a the first
   * half mixed with the clock and b the second: mix64 can be undone, but
   * undoing it on one word leaves a 64-bit unknown (a) between it and the
   * other words and both halves. */
  uint64_t seed[2] = {0, 0};
  const void *auxv_random = (const void *)getauxval(AT_RANDOM);
  if (auxv_random != NULL) memcpy(seed, auxv_random, sizeof seed);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t clock_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
  uint64_t counter = seed[0] ^ clock_ns ^ (uintptr_t)buf;
  for (size_t done = 0; done < len; done += sizeof counter) {
    counter += 0x9e3779b97f4a7c15u; /* splitmix64's increment */
    uint64_t word = mix64(mix64(counter) ^ seed[1]);
    memcpy((uint8_t *)buf + done, &word, len - done < sizeof word ? len - done : sizeof word);
  }
}

PM_COLD size_t _pm_prim_rss(void) {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[128];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  const char *at = text;
  while (*at && *at != ' ')
    at++; /* skip the total size field */
  size_t pages = 0;
  while (*at == ' ')
    at++;
  while (*at >= '0' && *at <= '9')
    pages = pages * 10 + (size_t)(*at++ - '0');
  return pages * _pm_prim_page_size();
}

/* Not const, so it lies in .data, which relocation has paged in already:
 * the hot paths never read .rodata, and a fault on it would map all of it
 * (5 pages) into an otherwise idle process, as options.c also avoids. */
static char proc_self_stat[] = "/proc/self/stat";

/* /proc/self/stat describes the thread-group leader: its state reads 'Z'
 * once it has exited while other threads live on, and its thread count
 * (field 20) still counts it. */
bool _pm_prim_process_threads(char *leader_state, long *threads) {
  int fd = open(proc_self_stat, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[512];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return false;
  text[n] = '\0';
  /* The state follows the command name, which may itself hold ") ". */
  const char *field = strrchr(text, ')');
  if (field == NULL || field[1] != ' ' || field[2] == '\0') return false;
  *leader_state = field[2];
  for (int number = 2; number < 20 && field != NULL; number++)
    field = strchr(field + 1, ' ');
  if (field == NULL) return false;
  *threads = strtol(field + 1, NULL, 10);
  return true;
}

int _pm_prim_last_thread(void) {
  char state;
  long threads;
  if (!_pm_prim_process_threads(&state, &threads)) return -1;
  return (state == 'Z' || state == 'X') && threads <= 2;
}

static pthread_key_t thread_key;

void _pm_prim_thread_init(void (*on_exit)(void *value)) {
  pthread_key_create(&thread_key, on_exit);
}

void _pm_prim_thread_set(void *value) {
  pthread_setspecific(thread_key, value);
}

/* glibc's stdio list lock (exported, recursive). A thread flushing every
 * stream holds it while it waits for each stream's lock, whose holder may
 * be in malloc; glibc's fork takes it after the prepare handlers, which
 * hold the allocator's locks by then, so without this the three threads
 * could wait on each other. glibc's own malloc locks come after it. Not
 * covered, as for every allocator that locks through pthread_atfork: the
 * NSS database lock, which fork takes for a moment as well. */
extern void _IO_list_lock(void);
extern void _IO_list_unlock(void);
extern void _IO_list_resetlock(void);

/* Whether the process had several threads when this handler ran. glibc's
 * fork decided before any prepare handler: with several threads it takes
 * the list lock as well, and resets it in the child. A handler registered
 * after this one runs before it, and may have started the first other
 * thread (an allocation that starts the background thread): then glibc
 * saw one thread, and resets nothing. */
static bool fork_multi_threaded;

PM_WARM void _pm_prim_fork_lock_libc(void) {
  fork_multi_threaded = !__libc_single_threaded;
  _IO_list_lock();
}

PM_WARM void _pm_prim_fork_unlock_libc_parent(void) {
  _IO_list_unlock(); /* this handler's hold; fork has released its own */
}

PM_WARM void _pm_prim_fork_unlock_libc_child(void) {
  /* With one thread, this handler's hold is undone by an unlock, which
   * leaves a hold the thread had before it forked (inside a flush of every
   * stream) as it was. With several, reset here too: glibc has done so,
   * unless it saw one thread, and then the lock would stay held. */
  if (fork_multi_threaded)
    _IO_list_resetlock();
  else
    _IO_list_unlock();
}

_Noreturn void _pm_prim_abort(void) {
  abort();
}

static void (*abort_hook)(void);

/* SA_RESETHAND puts SIGABRT back to its default before this runs. abort()
 * would raise again once the handler returns, but a SIGABRT sent by raise()
 * or kill would not, and the process would go on; so the handler raises it
 * itself. It stays blocked until the handler returns, then kills the
 * process as it would have.
 *
 * A handler installed later may call this one, as signal-chaining runtimes
 * do. Then the disposition is that handler, not the default, and a raise
 * would come back to it as soon as it returned, and to this one again, for
 * ever: so the signal is raised only when the default is in place, and the
 * report is written once. What happens next is the chaining handler's
 * choice, as it would be without this library. */
PM_COLD static void abort_signal_handler(int signal_number) {
  static atomic_flag reported = ATOMIC_FLAG_INIT;
  if (!atomic_flag_test_and_set(&reported)) abort_hook();
  struct sigaction now;
  if (sigaction(signal_number, NULL, &now) == 0 && now.sa_handler == SIG_DFL) raise(signal_number);
}

PM_COLD int _pm_prim_write_without_sigpipe(int (*write_report)(int fd), int fd) {
  sigset_t pipe_only, before, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  int result = write_report(fd);
  sigpending(&pending);
  /* Raised for this thread by the report's write: taken, so that it is
   * not delivered when the mask comes back. */
  if (!was_pending && sigismember(&pending, SIGPIPE) == 1) {
    struct timespec now = {0, 0};
    int saved = errno;
    sigtimedwait(&pipe_only, NULL, &now);
    errno = saved;
  }
  pthread_sigmask(SIG_SETMASK, &before, NULL);
  return result;
}

PM_COLD void _pm_prim_on_abort(void (*hook)(void)) {
  struct sigaction current;
  if (sigaction(SIGABRT, NULL, &current) != 0 || current.sa_handler != SIG_DFL) return;
  abort_hook = hook;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = abort_signal_handler;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGABRT, &action, NULL);
}

/* The futex calls and the sleep keep errno: free() must not change it
 * (POSIX 2024), and a wait that finds the word already changed returns
 * EAGAIN. */
void _pm_prim_futex_wait(_Atomic uint32_t *word, uint32_t value) {
  int saved = errno;
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
  errno = saved;
}

void _pm_prim_futex_wake_one(_Atomic uint32_t *word) {
  int saved = errno;
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  errno = saved;
}

void _pm_prim_sleep_ms(unsigned ms) {
  int saved = errno;
  struct timespec pause = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
  errno = saved;
}
