/* init.c: process start, fork and thread exit.
 *
 * _pm_init runs inside the first malloc, possibly before any constructor
 * and while ld.so or libc are still starting: it reads options with getenv,
 * draws the free-list secret and makes the thread-exit key, none of which
 * allocates. Then, outside the init lock since pthread_atfork may allocate,
 * it registers the fork handlers; the constructor makes sure this happens
 * before main even in a program that never allocates. The destructor prints
 * statistics.
 *
 * Fork: the prepare handler takes every allocator lock, so no other thread
 * is inside the allocator when the address space is copied. POSIX runs
 * prepare handlers in the reverse order of registration, and parent and
 * child handlers in order, so registering at the first allocation (as
 * jemalloc does), rather than in a constructor that ld.so runs after other
 * libraries' constructors, puts ours after most prepare handlers and before
 * most others. Handlers on the wrong side of ours still run while the
 * forking thread holds the locks; if they allocate, that thread passes
 * through the locks (_pm_forking): every other thread is shut out of the
 * allocator, so it has the pool to itself, as glibc's own handlers have.
 *
 * Lock order, used by the fork handlers and everywhere else:
 *   1. glibc's stdio list lock (prim_linux.c: its holders may allocate)
 *   2. the planner's arena registry lock (planner/arena.c: nothing
 *      allocates or takes another lock while holding it)
 *   3. _pm_heaps_lock   (heap registry)
 *   4. _pm_pages_lock   (segments, page runs, huge cache, decay)
 *   5. the background thread's lock (decay.c; it never takes the others
 *      while holding it)
 * The registry needs no lock (leaves are installed by compare-and-swap). */
#include "internal.h"

bool _pm_initialized;
uintptr_t _pm_free_key;
uintptr_t _pm_freed_mark;
PM_TLS bool _pm_forking;
pid_t _pm_process_pid;
static pm_lock_t init_lock = PM_LOCK_INIT;

PM_WARM static void fork_prepare(void) {
  _pm_prim_fork_lock_libc();
  _pm_arena_fork_prepare();
  _pm_lock(&_pm_heaps_lock);
  _pm_lock(&_pm_pages_lock);
  _pm_background_fork_prepare();
  _pm_forking = true;
}

PM_WARM static void fork_parent(void) {
  _pm_forking = false;
  _pm_background_fork_parent();
  _pm_unlock(&_pm_pages_lock);
  _pm_unlock(&_pm_heaps_lock);
  _pm_arena_fork_release();
  _pm_prim_fork_unlock_libc_parent();
}

/* The child has one thread: locks other threads held at fork are
 * reinitialised rather than unlocked. Heaps of the threads that did not
 * survive keep their slabs; blocks freed into them wait on remote lists. */
PM_WARM static void fork_child(void) {
  _pm_forking = false;
  _pm_process_pid = _pm_prim_getpid();
  /* A thread-specific destructor that forks: the child's thread runs the
   * remaining destructor rounds and then ends the process, so a heap it
   * makes is handed back by a later round or goes with the process; its
   * blocks need not each take pages from the pool (heap.c). */
  bool thread_exiting = _pm_thread_exited;
  _pm_thread_exited = false;
  _pm_lock_reset(&_pm_heaps_lock);
  _pm_segments_after_fork_child();
  _pm_background_fork_child(thread_exiting);
  _pm_arena_fork_release();
  _pm_stderr_fork_child();
  _pm_prim_fork_unlock_libc_child();
}

void _pm_init(void) {
  if (pm_likely(__atomic_load_n(&_pm_initialized, __ATOMIC_ACQUIRE))) return;
  bool first = false;
  _pm_lock(&init_lock);
  if (!_pm_initialized) {
    /* Purges and page runs assume 4 KiB pages: with larger ones (some arm64
     * kernels) a purge would clear live neighbours. Stop, saying why. */
    if (_pm_prim_page_size() != PM_PAGE_SIZE)
      _pm_fatal("the system's page size is not 4096 bytes, which this build requires");
    _pm_process_pid = _pm_prim_getpid();
    _pm_size_class_init();
    /* One draw: the fallback seed (prim_linux.c) would give two draws
     * related values, and the mark, readable in any freed block, must
     * not give the key away. */
    uintptr_t secrets[2];
    _pm_prim_random(secrets, sizeof secrets);
    _pm_free_key = secrets[0];
    _pm_freed_mark = secrets[1] | 1; /* never the zero of a cleared or fresh block */
    _pm_options_init();
    _pm_prim_fail_maps_after(_pm_options.fail_map_after);
    _pm_prim_set_thp((pm_prim_thp_t)_pm_options.thp);
    _pm_stats_init();
    _pm_prim_thread_init(_pm_heap_thread_exit);
    __atomic_store_n(&_pm_initialized, true, __ATOMIC_RELEASE);
    first = true;
  }
  _pm_unlock(&init_lock);
  if (first) pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((constructor)) static void pm_constructor(void) {
  _pm_init();
}

__attribute__((destructor)) static void pm_destructor(void) {
  _pm_stats_print_at_exit();
  /* A thread that ended stays joinable until the next start (decay.c):
   * ThreadSanitizer reported one left at exit as a leak. */
  _pm_background_join_ended();
}
