/* init.c: process start, fork and thread exit.
 *
 * _pm_init runs inside the first malloc, possibly before any constructor
 * and while ld.so or libc are still starting: it reads options with getenv,
 * draws the free-list secret and makes the thread-exit key, none of which
 * allocates. The constructor registers the fork handlers (pthread_atfork may
 * allocate, so not from inside malloc) and the destructor prints statistics.
 *
 * Lock order, used by the fork handlers and everywhere else:
 *   1. _pm_heaps_lock   (heap registry)
 *   2. _pm_pages_lock   (segments, page runs, huge cache, decay)
 *   3. the background thread's lock (decay.c; it never takes the others
 *      while holding it)
 * The registry needs no lock (leaves are installed by compare-and-swap). */
#include "internal.h"

bool _pm_initialized;
uintptr_t _pm_free_key;
static pm_lock_t init_lock = PM_LOCK_INIT;

void _pm_init(void) {
  if (pm_likely(__atomic_load_n(&_pm_initialized, __ATOMIC_ACQUIRE))) return;
  _pm_lock(&init_lock);
  if (!_pm_initialized) {
    _pm_size_class_init();
    _pm_prim_random(&_pm_free_key, sizeof _pm_free_key);
    _pm_options_init();
    _pm_prim_fail_maps_after(_pm_options.fail_map_after);
    _pm_prim_set_thp((pm_prim_thp_t)_pm_options.thp);
    _pm_stats_init();
    _pm_prim_thread_init(_pm_heap_thread_exit);
    __atomic_store_n(&_pm_initialized, true, __ATOMIC_RELEASE);
  }
  _pm_unlock(&init_lock);
}

static void fork_prepare(void) {
  _pm_lock(&_pm_heaps_lock);
  _pm_lock(&_pm_pages_lock);
  _pm_background_fork_prepare();
}

static void fork_parent(void) {
  _pm_background_fork_parent();
  _pm_unlock(&_pm_pages_lock);
  _pm_unlock(&_pm_heaps_lock);
}

/* The child has one thread: locks other threads held at fork are
 * reinitialised rather than unlocked. Heaps of the threads that did not
 * survive keep their slabs; blocks freed into them wait on remote lists. */
static void fork_child(void) {
  _pm_lock_reset(&_pm_heaps_lock);
  _pm_segments_after_fork_child();
  _pm_background_fork_child();
}

__attribute__((constructor)) static void pm_constructor(void) {
  _pm_init();
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((destructor)) static void pm_destructor(void) {
  _pm_stats_print_at_exit();
}
