/* prim.h: the allocator's whole interface to the operating system.
 *
 * Everything Linux-specific lives behind these functions (prim_linux.c), in
 * the manner of mimalloc's prim layer. None of them allocates, so they are
 * safe on the init path, at exit and in a forked child. */
#ifndef PM_PRIM_H
#define PM_PRIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Code a typical process never runs: statistics output, option parsing,
 * malloc_trim, mallinfo. src/cold.ld moves it off the code pages every
 * process maps (GNU ld; with other linkers the section joins .text), and
 * cold makes the compiler treat calls to it as unlikely. */
#define PM_COLD __attribute__((cold, noinline, section(".text.pm_cold")))

/* Code that many processes never run but that is hot where it runs:
 * realloc, the aligned allocations, thread exit and fork. src/cold.ld
 * gives it a mapping of its own, so a program that only mallocs and frees
 * keeps it off its resident pages; unlike PM_COLD, it is optimised for
 * speed and its calls are not predicted unlikely. */
#define PM_WARM __attribute__((section(".text.pm_warm")))

/* Zeroed data a typical process never touches (the lists of slabs that
 * exited threads left): src/cold.ld places it after the rest of .bss, so
 * it does not push the globals that every malloc writes onto one more
 * resident page. */
#define PM_COLD_BSS __attribute__((section(".bss.pm_cold")))

/* Fresh zeroed memory of size bytes aligned to alignment (a power of two,
 * at least the OS page size), or NULL. */
void *_pm_prim_map_aligned(size_t size, size_t alignment);
/* Test hook: after the next maps mappings, every request for more address
 * space (map or growing remap) fails as if the OS refused it; 0 turns it off. */
void _pm_prim_fail_maps_after(uint64_t maps);
/* Transparent huge pages for the mappings made from now on (the thp
 * option): SYSTEM leaves them to the system's policy, ALWAYS asks for them
 * and NEVER, the default, refuses them (jemalloc's opt.thp has the same
 * three, with the system's policy as its default). */
typedef enum pm_prim_thp_e {
  PM_PRIM_THP_SYSTEM = 0,
  PM_PRIM_THP_ALWAYS,
  PM_PRIM_THP_NEVER
} pm_prim_thp_t;
void _pm_prim_set_thp(pm_prim_thp_t mode);
void _pm_prim_unmap(void *addr, size_t size);
/* Resizes a mapping made by _pm_prim_map_aligned, keeping its pages (no
 * copy): in place when the address space allows, else moved to a new
 * address aligned to alignment. Returns the address, or NULL with the old
 * mapping untouched. */
void *_pm_prim_remap_aligned(void *addr, size_t old_size, size_t new_size, size_t alignment);
/* Gives the pages back to the OS but keeps the range mapped: RSS drops and
 * the next touch reads zeros. False when the OS refused (pages locked by
 * mlock or mlockall): the range keeps its contents. */
bool _pm_prim_purge(void *addr, size_t size);
size_t _pm_prim_page_size(void);

/* Monotonic milliseconds, to within a few; cheap (vDSO, no syscall). */
uint64_t _pm_prim_clock_ms(void);

/* Writes all of buf; returns 0, or -1 with errno set. */
int _pm_prim_write(int fd, const void *buf, size_t len);
int _pm_prim_open_for_write(const char *path); /* -1 on failure */
/* A close-on-exec duplicate of fd numbered high enough to stay out of the
 * program's way, or -1. */
int _pm_prim_dup_high(int fd);
/* Which open file a descriptor refers to (device and inode), so that a
 * later look can tell whether the number still means the same file; false
 * when fd is not open. */
typedef struct pm_prim_file_id_s {
  uint64_t device, inode;
} pm_prim_file_id_t;
bool _pm_prim_file_id(int fd, pm_prim_file_id_t *id);
void _pm_prim_close(int fd);
pid_t _pm_prim_getpid(void);
/* Whether the calling thread is the process's main thread. */
bool _pm_prim_is_main_thread(void);
/* Environment lookup that never allocates; NULL when unset. */
const char *_pm_prim_getenv(const char *name);
/* Fills buf with random bytes from the kernel (getrandom, else
 * /dev/urandom); last, from AT_RANDOM mixed with the clock. */
void _pm_prim_random(void *buf, size_t len);
/* Resident set size of the process in bytes (0 if unknown). */
size_t _pm_prim_rss(void);
/* The state letter of the process's main thread and the count of its
 * threads (an exited main thread still counted), read without allocating;
 * false if /proc cannot be read. */
bool _pm_prim_process_threads(char *leader_state, long *threads);
/* Whether the calling thread is the last one running in the process: the
 * main thread has left through pthread_exit and no other thread lives.
 * 1 yes, 0 no, -1 when /proc cannot tell. */
int _pm_prim_last_thread(void);
/* Forwards to _pm_thread_exit(value) when a thread that called
 * _pm_prim_thread_set(value) ends. */
void _pm_prim_thread_init(void (*on_exit)(void *value));
void _pm_prim_thread_set(void *value);
/* Locks of the C library that its fork takes after the prepare handlers
 * although their holders may call malloc: taken by the allocator's prepare
 * handler before its own locks, so that fork takes them in the same order
 * as those holders, and released in the parent and the child. */
void _pm_prim_fork_lock_libc(void);
void _pm_prim_fork_unlock_libc_parent(void);
void _pm_prim_fork_unlock_libc_child(void);
_Noreturn void _pm_prim_abort(void);
/* Runs hook when the process receives SIGABRT (abort()), before it dies,
 * unless the program has its own SIGABRT handler. The hook runs once. */
void _pm_prim_on_abort(void (*hook)(void));
/* Runs write_report(fd) with SIGPIPE held back: a report to a pipe whose
 * reader has gone fails with EPIPE instead of killing the process, whose
 * exit status would then change (a SIGPIPE that was pending before stays
 * pending). Returns write_report's result. */
int _pm_prim_write_without_sigpipe(int (*write_report)(int fd), int fd);
/* Sleeps while *word == value (or until woken, or spuriously). */
void _pm_prim_futex_wait(_Atomic uint32_t *word, uint32_t value);
/* Wakes one thread sleeping on word. */
void _pm_prim_futex_wake_one(_Atomic uint32_t *word);
void _pm_prim_sleep_ms(unsigned ms);
/* A spin-wait hint to the CPU (x86 pause, Arm yield). */
static inline void _pm_prim_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

#endif /* PM_PRIM_H */
