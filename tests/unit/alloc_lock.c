/* alloc_lock.c: the futex locks of lock.c exclude each other and wake the
 * threads that went to sleep on them. */
#include <pthread.h>
#include <time.h>

#include "alloc_test.h"

TestSuite(alloc_lock, .timeout = 30);

enum { THREADS = 4, ROUNDS = 20000 };
static pm_lock_t counter_lock = PM_LOCK_INIT;
static uint64_t counter; /* under counter_lock, plain on purpose */

static void *count_under_lock(void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    _pm_lock(&counter_lock);
    counter++;
    _pm_unlock(&counter_lock);
  }
  return NULL;
}

Test(alloc_lock, increments_under_the_lock_are_never_lost) {
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; t++)
    pthread_create(&threads[t], NULL, count_under_lock, NULL);
  for (int t = 0; t < THREADS; t++)
    pthread_join(threads[t], NULL);
  cr_assert_eq(counter, (uint64_t)THREADS * ROUNDS);
}

static void *take_and_release(void *arg) {
  (void)arg;
  _pm_lock(&counter_lock);
  counter++;
  _pm_unlock(&counter_lock);
  return NULL;
}

/* Waiters that find the lock held past their spinning go to sleep in the
 * kernel; the holder's unlock must wake them, one after another. */
Test(alloc_lock, sleepers_are_woken_by_the_unlock) {
  _pm_lock(&counter_lock);
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; t++)
    pthread_create(&threads[t], NULL, take_and_release, NULL);
  /* A waiter past its spinning marks the lock contended: within a few
   * microseconds, or up to 5 s on a loaded machine. */
  for (int i = 0; i < 500 && atomic_load(&counter_lock.state) != 2; i++) {
    struct timespec pause = {0, 10 * 1000000L};
    nanosleep(&pause, NULL);
  }
  cr_assert_eq(atomic_load(&counter_lock.state), 2, "a waiter marked the lock contended");
  cr_assert_eq(counter, 0);
  _pm_unlock(&counter_lock);
  for (int t = 0; t < THREADS; t++)
    pthread_join(threads[t], NULL); /* hangs (and times out) if a wake is lost */
  cr_assert_eq(counter, THREADS);
  cr_assert_eq(atomic_load(&counter_lock.state), 0, "free again");
}

Test(alloc_lock, lock_within_gives_up_on_a_held_lock) {
  _pm_lock(&counter_lock);
  cr_assert_eq(_pm_lock_within(&counter_lock, 5), -1, "held by this thread: times out");
  _pm_unlock(&counter_lock);
  cr_assert_eq(_pm_lock_within(&counter_lock, 5), 0, "free: taken");
  _pm_unlock(&counter_lock);
}

/* free() must not change errno (POSIX 2024), and a futex wait that finds
 * the word already changed fails with EAGAIN inside the lock's slow path. */
Test(alloc_lock, waiting_keeps_errno) {
  _Atomic uint32_t word = 0;
  errno = ERANGE;
  _pm_prim_futex_wait(&word, 1); /* not 1: the kernel returns EAGAIN at once */
  cr_assert_eq(errno, ERANGE);
  _pm_prim_futex_wake_one(&word);
  _pm_prim_sleep_ms(1);
  cr_assert_eq(errno, ERANGE);
}
