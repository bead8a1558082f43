/* lock.c: the slow half of the allocator's locks (internal.h has the fast
 * half, inline).
 *
 * A lock is one 32-bit word: 0 free, 1 held, 2 held and someone may be
 * asleep on it (the three-state futex mutex of Drepper's "Futexes Are
 * Tricky"). Taking a free lock is one compare-and-swap inline and giving it
 * back one exchange, where a pthread mutex costs two calls into libc that
 * check the mutex type first (replacing them took the inference benchmark
 * from 716M to 697M user-space instructions). A waiter spins briefly, since
 * the allocator holds its locks for a few hundred instructions, then sleeps
 * in the kernel. */
#include "internal.h"

/* Spins before sleeping; each is a pause (tens of cycles). */
#define SPINS_BEFORE_SLEEP 100
/* How long a child of _Fork waits for a lock before it gives up: the
 * allocator holds its locks for microseconds, a purge for milliseconds. */
#define UNHANDLED_FORK_WAIT_MS 2000

/* A child made by _Fork runs no fork handlers, so it inherits held the
 * locks that its parent's other threads held at that moment; the
 * background thread, which takes the pages lock for its purges' list
 * work, makes every process one with other threads. No unlock will come:
 * rather than sleep for ever, the child stops with a message naming the
 * way out. A lock that a thread of the child's own holds is given the
 * time to come free. */
PM_COLD static void lock_wait_unhandled_fork_child(pm_lock_t *lock) {
  if (_pm_lock_within(lock, UNHANDLED_FORK_WAIT_MS) == 0) return;
  _pm_fatal("a child of _Fork waits for a lock a thread of its parent held "
            "(_Fork runs no fork handlers); run it with POOLMALLOC_CONF=background_thread:0");
}

PM_NOINLINE void _pm_lock_wait(pm_lock_t *lock) {
  for (int spin = 0; spin < SPINS_BEFORE_SLEEP; spin++) {
    _pm_prim_cpu_relax();
    if (atomic_load_explicit(&lock->state, memory_order_relaxed) == 0 && _pm_lock_try(lock)) return;
  }
  if (pm_unlikely(_pm_in_unhandled_fork_child())) {
    lock_wait_unhandled_fork_child(lock);
    return;
  }
  /* Marks the lock contended before each sleep, so the holder's unlock
   * wakes a sleeper; a taker that gets it this way keeps it marked, which
   * costs at most one needless wake. */
  while (atomic_exchange_explicit(&lock->state, 2, memory_order_acquire) != 0)
    _pm_prim_futex_wait(&lock->state, 2);
}

PM_NOINLINE void _pm_lock_wake(pm_lock_t *lock) {
  _pm_prim_futex_wake_one(&lock->state);
}

int _pm_lock_within(pm_lock_t *lock, unsigned ms) {
  for (unsigned tries = 0; tries <= ms; tries++) {
    if (_pm_lock_try(lock)) return 0;
    _pm_prim_sleep_ms(1);
  }
  return -1;
}
