/* decay.c: when freed memory goes back to the OS.
 *
 * Freed pages stay resident so the next allocation reuses them without a
 * page fault; they (and the unused pages of thread heaps' current slabs,
 * see idle.c) are purged (madvise) or unmapped once idle for decay_ms,
 * or at once when retained memory passes retain_max, or on malloc_trim.
 * Slow paths check the deadline (the owner of a thread heap reaches its
 * slow path every time a slab's free list runs dry), and, as jemalloc's
 * background_thread does, a background thread sleeps until the deadline so
 * an idle program gives memory back too. That thread is started lazily,
 * from an allocation slow path with no allocator lock held (pthread_create
 * allocates), the first time memory has become retained or the pool has
 * handed out a megabyte; never from free, which glibc calls under the
 * lock of its stack cache while it frees a joined thread's TLS, a lock
 * pthread_create takes as well. Free paths only wake it. Its purges drop
 * the pages lock around their system calls (segment.c, huge.c), so no
 * allocating thread waits for them. It has every signal blocked (the
 * exit handlers glibc may run on it, as the last thread, get its
 * creator's mask back), is never waited for by exit while it waits (the
 * next start, or the library's destructor, joins one that has ended) and is
 * simply absent in a forked child until that child allocates again (a
 * child that only frees and then waits keeps what it freed, up to
 * retain_max, until it allocates or exits; a child of _Fork, which runs
 * no fork handlers, never gets one: its slow paths purge, see
 * _pm_decay_tick_lazy). Idle, it
 * stays, as jemalloc's background threads do: ending is dearer than
 * waiting, since glibc's thread exit runs its per-thread cleanup of the
 * resolver, RPC and NSS state, whose code (about 190 KiB of libc text,
 * bench/README.md) then stays resident in a program that never used it.
 * But a process lives while any thread does, so a thread that waited
 * forever would keep alive a program whose main thread left through
 * pthread_exit: the thread ends once it is the last one running (read from
 * /proc; when /proc cannot be read, once the main thread has left). It
 * looks every
 * BACKGROUND_IDLE_LONG_MS while idle. The main thread's exit hook, and
 * after it every thread's, wake it to look sooner, every
 * BACKGROUND_LEAVING_POLL_MS at first and less often while nothing
 * changes, but at least every BACKGROUND_LEAVING_POLL_MAX_MS: a worker that
 * never allocated has no hook, and ends unseen; a main thread that never
 * allocated has no hook either, and is seen gone at the next long look. */
#include <signal.h>
#include <time.h>

#include "internal.h"

/* When the next purge is due; UINT64_MAX while nothing is retained. */
static _Atomic uint64_t decay_deadline = UINT64_MAX;

/* Set when the deadline leaves UINT64_MAX: the next lock-free point on a
 * slow path starts or wakes the background thread. */
_Atomic bool _pm_background_pending;

/* Set when a block went back to a slab no thread owns: a deadline stays
 * while it is set, and the next pass reaps the abandoned slabs that
 * emptied (heap.c). Nothing else empties them, since their owner is gone. */
static _Atomic bool abandoned_freed;

/* Whether a thread's cache of large blocks may hold a span, which keeps a
 * deadline set for the sweep. Set under the pages lock (decay_note_cached),
 * so it cannot slip in between a purge's look at it and its new deadline;
 * cleared by the sweep before it looks at the caches, so a span cached
 * during the sweep is either seen by it or sets the flag again. */
_Atomic bool _pm_decay_caches_used;

typedef enum background_state_e {
  BACKGROUND_NONE = 0, /* not started (or in a forked child) */
  BACKGROUND_STARTING, /* pthread_create in progress: re-entrant mallocs skip it */
  BACKGROUND_RUNNING,
  BACKGROUND_FAILED /* pthread_create failed: stay with the lazy checks */
} background_state_t;
static _Atomic int background_state;
/* Taken after the pages lock when both are (fork order), never the other
 * way: the thread drops it before it purges. */
static pthread_mutex_t background_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t background_wake;
static pthread_once_t background_wake_once = PTHREAD_ONCE_INIT;
/* How long an idle thread waits before it looks again: normally; while
 * its creator has not yet marked it RUNNING (a kick meanwhile signalled no
 * one); and first after a wake-up while the main thread is leaving,
 * doubling up to the normal wait. */
#define BACKGROUND_IDLE_LONG_MS    30000
#define BACKGROUND_IDLE_MS         1000
#define BACKGROUND_LEAVING_POLL_MS 50
/* The longest a process whose last other thread ended unseen lives on:
 * at this rate the looks cost a read of /proc four times a second. With
 * the doubling up to BACKGROUND_IDLE_LONG_MS it was up to 30 s, deaf to
 * the signals this thread blocks (a SIGTERM then was lost). */
#define BACKGROUND_LEAVING_POLL_MAX_MS 250
/* The process whose main thread's exit hook ran (it leaves through
 * pthread_exit), else 0: a pid, since a child made by _Fork, which runs no
 * fork handlers, inherits it and must not take it for its own. */
static _Atomic pid_t main_leaving_pid;
/* The thread only purges (its deepest path, an abort report, needs some
 * 10 KiB): 1 MiB, not the default 8 MiB, so that when it ends, glibc's
 * cache of thread stacks (40 MiB) takes a small one and need not unmap the
 * program's own cached stacks to make room. glibc also carves static TLS
 * out of it, so a program with plenty of TLS still leaves it room. */
#define BACKGROUND_STACK_BYTES (1u << 20)

static uint64_t retained_bytes(void) {
  return _pm_pool.dirty_bytes + _pm_pool.huge_cached_bytes;
}

/* Pages lock held. */
static void decay_schedule(uint64_t now) {
  uint64_t deadline = UINT64_MAX;
  if (retained_bytes() > 0 || _pm_pool.idle_slabs > 0 ||
      atomic_load_explicit(&_pm_decay_caches_used, memory_order_relaxed) ||
      atomic_load_explicit(&abandoned_freed, memory_order_relaxed)) {
    /* A quarter of the delay: memory idle decay_ms is gone within 1.25x
     * decay_ms, at four checks (cheap: the lists of free runs) per delay. */
    uint64_t step = _pm_options.decay_ms / 4;
    deadline = now + (step > 0 ? step : 1);
  }
  uint64_t old = atomic_exchange_explicit(&decay_deadline, deadline, memory_order_relaxed);
  if (old == UINT64_MAX && deadline != UINT64_MAX)
    atomic_store_explicit(&_pm_background_pending, true, memory_order_relaxed);
}

/* Pages lock held. The sweep of the thread caches: its pairing with
 * _pm_large_cache_put is a store then load on each side (the flag here,
 * the slot there), both sequentially consistent. */
static void decay_sweep_caches(uint64_t cutoff) {
  /* Clear, the flag says every cached span was swept already: a span being
   * cached now sets it again (and gets its deadline) once this lock drops.
   * So a process whose threads cache nothing (large_cache:0, the default)
   * never walks its heaps here. */
  if (!atomic_load_explicit(&_pm_decay_caches_used, memory_order_relaxed)) return;
  atomic_store(&_pm_decay_caches_used, false);
  if (_pm_large_cache_sweep(cutoff)) atomic_store(&_pm_decay_caches_used, true);
}

/* Sets flag, which keeps a decay deadline, and schedules one if none is. */
static void decay_note(_Atomic bool *flag) {
  _pm_lock(&_pm_pages_lock);
  atomic_store(flag, true);
  if (atomic_load_explicit(&decay_deadline, memory_order_relaxed) == UINT64_MAX)
    decay_schedule(_pm_prim_clock_ms());
  _pm_unlock(&_pm_pages_lock);
  _pm_background_check_freed();
}

void _pm_decay_note_cached_slow(void) {
  decay_note(&_pm_decay_caches_used);
}

/* The freer's push onto the slab's remote list, then the flag; the pass
 * clears the flag, then collects the lists: with a full fence on each
 * side, either the pass finds the block or the freer finds the flag
 * clear and schedules another pass. */
void _pm_decay_note_abandoned_free(void) {
  atomic_thread_fence(memory_order_seq_cst);
  if (!atomic_load_explicit(&abandoned_freed, memory_order_relaxed)) decay_note(&abandoned_freed);
}

/* Pages lock held. */
static void decay_reap_abandoned(void) {
  if (!atomic_load_explicit(&abandoned_freed, memory_order_relaxed)) return;
  atomic_store_explicit(&abandoned_freed, false, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
  _pm_heap_reap_abandoned();
}

/* Over retain_max: release the longest-idle memory first, in four age
 * bands, and only until a quarter of the cap is free again, so a burst of
 * frees does not throw away the memory the program is about to reuse (each
 * byte released past need is a page fault later). */
static void decay_hold_to_cap(void) {
  uint64_t cap = _pm_options.retain_max;
  if (retained_bytes() <= cap) return;
  uint64_t now = _pm_prim_clock_ms();
  uint64_t goal = cap / 4 * 3;
  for (uint64_t band = 4; band-- > 0 && retained_bytes() > goal;) {
    uint64_t age = _pm_options.decay_ms / 4 * band;
    uint64_t cutoff = band == 0 ? UINT64_MAX : now > age ? now - age : 0;
    uint64_t excess = retained_bytes() - goal;
    uint64_t released = _pm_huge_purge(cutoff, excess);
    if (released < excess) _pm_segments_purge(cutoff, excess - released);
  }
}

/* Pages lock held; the background thread's purges drop it around their
 * system calls (segment.c, huge.c). */
static void decay_run(uint64_t now, bool on_background_thread) {
  uint64_t cutoff = now >= _pm_options.decay_ms ? now - _pm_options.decay_ms : 0;
  if (_pm_options.decay_ms == 0) cutoff = UINT64_MAX;
  /* First: the spans it gives back join the runs purged below. */
  decay_sweep_caches(cutoff);
  decay_reap_abandoned();
  _pm_idle_purge(cutoff);
  if (on_background_thread) {
    _pm_segments_purge_dropping_lock(cutoff);
    _pm_huge_purge_dropping_lock(cutoff);
  } else {
    _pm_segments_purge(cutoff, UINT64_MAX);
    _pm_huge_purge(cutoff, UINT64_MAX);
  }
  /* The slabs reaped above come back all at once, an exited thread's
   * worth, which the check made on frees never saw. */
  decay_hold_to_cap();
  decay_schedule(now);
}

static void decay_tick(bool on_background_thread) {
  uint64_t deadline = atomic_load_explicit(&decay_deadline, memory_order_relaxed);
  if (deadline == UINT64_MAX) return;
  uint64_t now = _pm_prim_clock_ms();
  if (now < deadline) return;
  _pm_lock(&_pm_pages_lock);
  decay_run(now, on_background_thread);
  _pm_unlock(&_pm_pages_lock);
}

/* Every LAZY_LOOK_EVERY-th check skipped for the background thread looks
 * whether that thread keeps up: a child made by _Fork, which runs no fork
 * handlers, inherits the state RUNNING without the thread, and a thread
 * starved of CPU falls behind. A deadline a whole decay period past means
 * no thread purges: the slow path does. A counter of the thread's own, so
 * the skips cost no shared write and the clock is read once per 256. */
#define LAZY_LOOK_EVERY 256
static PM_TLS uint32_t lazy_skips;

void _pm_decay_tick_lazy(void) {
  if (_pm_options.background_thread &&
      atomic_load_explicit(&background_state, memory_order_relaxed) == BACKGROUND_RUNNING) {
    if (pm_likely(++lazy_skips % LAZY_LOOK_EVERY != 0)) return;
    uint64_t deadline = atomic_load_explicit(&decay_deadline, memory_order_relaxed);
    if (deadline == UINT64_MAX || _pm_prim_clock_ms() < deadline + _pm_options.decay_ms) return;
  }
  decay_tick(false);
}

void _pm_decay_after_free(void) {
  if (_pm_options.decay_ms == 0) {
    _pm_decay_release_all();
    return;
  }
  decay_hold_to_cap();
  if (atomic_load_explicit(&decay_deadline, memory_order_relaxed) == UINT64_MAX)
    decay_schedule(_pm_prim_clock_ms());
}

uint64_t _pm_decay_release_all(void) {
  decay_sweep_caches(UINT64_MAX);
  decay_reap_abandoned();
  uint64_t released = _pm_idle_purge(UINT64_MAX) + _pm_segments_purge(UINT64_MAX, UINT64_MAX) +
                      _pm_huge_purge(UINT64_MAX, UINT64_MAX);
  /* Usually nothing is left (no deadline); a run whose purge failed, as
   * locked pages do, is tried again a decay period later. */
  decay_schedule(_pm_prim_clock_ms());
  return released;
}

/* Absolute CLOCK_MONOTONIC time of deadline_ms on the coarse clock, a few
 * ms late so the coarse clock has passed it when the thread wakes. */
static struct timespec background_wake_time(uint64_t deadline_ms) {
  uint64_t now_coarse = _pm_prim_clock_ms();
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t wait_ms = (deadline_ms > now_coarse ? deadline_ms - now_coarse : 0) + 5;
  uint64_t ns = (uint64_t)now.tv_nsec + (wait_ms % 1000) * 1000000u;
  struct timespec at = {now.tv_sec + (time_t)(wait_ms / 1000) + (time_t)(ns / 1000000000u),
                        (long)(ns % 1000000000u)};
  return at;
}

static bool main_thread_leaving(void) {
  pid_t pid = atomic_load(&main_leaving_pid);
  return pid != 0 && pid == _pm_prim_getpid();
}

/* Ends the thread if it is still RUNNING: under the lock a kick takes, so
 * the next kick sees BACKGROUND_NONE and starts a new thread. Not before
 * the creator has marked this thread RUNNING: its mark would come after
 * this thread's NONE and leave RUNNING with no thread, which turns off the
 * slow paths' decay checks for good. Lock held; false if it stays. */
static bool background_end_locked(void) {
  int running = BACKGROUND_RUNNING;
  return atomic_compare_exchange_strong(&background_state, &running, BACKGROUND_NONE);
}

/* Nothing to purge, or purging is not this thread's job any more (the
 * option is honoured even when cleared after the thread started). */
static bool background_idle(uint64_t deadline) {
  return deadline == UINT64_MAX || !_pm_options.background_thread;
}

/* While the main thread is gone, how long until the next look for being
 * the last thread: soon after a wake-up (a thread exited), then less
 * often while nothing happens, up to BACKGROUND_LEAVING_POLL_MAX_MS. */
static uint64_t leaving_poll_next(bool woken, uint64_t poll_ms) {
  if (woken) return BACKGROUND_LEAVING_POLL_MS;
  return poll_ms < BACKGROUND_LEAVING_POLL_MAX_MS / 2 ? poll_ms * 2
                                                      : BACKGROUND_LEAVING_POLL_MAX_MS;
}

/* Whether this is the last thread running. When /proc cannot tell, only a
 * main thread that has left says so: ending on idleness alone would leave
 * a live program without the thread, which a free may not start again
 * (see the top of this file), so memory freed later would stay until the
 * next allocation. */
static bool background_is_last(void) {
  int last = _pm_prim_last_thread();
  return last < 0 ? main_thread_leaving() : last > 0;
}

/* The thread that ended last, until the next start joins it (only the
 * starter, which holds BACKGROUND_STARTING, touches these), and the
 * process that started it. */
static pthread_t background_ended;
static bool background_ended_valid;
static pid_t background_ended_pid;
/* The signal mask of the thread that started this one, which blocks every
 * signal while it runs. */
static sigset_t background_creator_mask;

/* Ends the thread. When the main thread has left through pthread_exit and
 * this is the last thread, glibc runs the program's exit handlers on it
 * once it returns: they get the signal mask of the thread that started it,
 * not one blocking everything, so that a SIGTERM or SIGINT sent meanwhile
 * acts as it would on a program without this library. */
static void *background_leave(void) {
  if (main_thread_leaving()) pthread_sigmask(SIG_SETMASK, &background_creator_mask, NULL);
  return NULL;
}

static void *background_main(void *unused) {
  (void)unused;
  uint64_t leaving_poll_ms = BACKGROUND_LEAVING_POLL_MS;
  for (;;) {
    pthread_mutex_lock(&background_lock);
    uint64_t deadline = atomic_load_explicit(&decay_deadline, memory_order_relaxed);
    bool idle = background_idle(deadline);
    bool leaving = main_thread_leaving();
    uint64_t now = _pm_prim_clock_ms();
    if (idle) {
      uint64_t wait_ms = leaving ? leaving_poll_ms : BACKGROUND_IDLE_LONG_MS;
      if (!leaving && atomic_load(&background_state) != BACKGROUND_RUNNING)
        wait_ms = BACKGROUND_IDLE_MS;
      struct timespec at = background_wake_time(now + wait_ms);
      bool woken = pthread_cond_timedwait(&background_wake, &background_lock, &at) == 0;
      if (leaving) leaving_poll_ms = leaving_poll_next(woken, leaving_poll_ms);
      idle = background_idle(atomic_load_explicit(&decay_deadline, memory_order_relaxed));
    } else {
      /* With the main thread gone, look before the deadline too: a worker
       * that never allocated ends without telling this thread, and a long
       * decay_ms would keep the process alive, deaf to the signals this
       * thread blocks, until the deadline. */
      uint64_t wake =
          leaving && now + leaving_poll_ms < deadline ? now + leaving_poll_ms : deadline;
      if (now < wake) {
        struct timespec at = background_wake_time(wake);
        bool woken = pthread_cond_timedwait(&background_wake, &background_lock, &at) == 0;
        if (leaving) leaving_poll_ms = leaving_poll_next(woken, leaving_poll_ms);
      }
    }
    pthread_mutex_unlock(&background_lock);
    /* Idle, or with memory that only this thread would purge for a
     * process about to end: look (a read of /proc, outside the lock the
     * kicks take) whether this is the last thread running. */
    if ((idle || main_thread_leaving()) &&
        (!_pm_options.background_thread || background_is_last())) {
      pthread_mutex_lock(&background_lock);
      bool still_idle = atomic_load_explicit(&decay_deadline, memory_order_relaxed) == UINT64_MAX;
      if ((still_idle || !idle) && background_end_locked()) {
        pthread_mutex_unlock(&background_lock);
        return background_leave();
      }
      pthread_mutex_unlock(&background_lock);
    }
    if (_pm_options.background_thread) decay_tick(true);
  }
  return NULL;
}

static void background_wake_init(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&background_wake, &attr);
  pthread_condattr_destroy(&attr);
}

/* Joins the thread that ended last, if this process started it: a child
 * made by _Fork, which runs no fork handlers, inherits the record of a
 * thread it does not have, and a join would wait for it forever. The join
 * is a cancellation point, which must not act inside malloc or free. */
static void background_join_last(void) {
  if (background_ended_valid && background_ended_pid == _pm_prim_getpid()) {
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    pthread_join(background_ended, NULL);
    pthread_setcancelstate(cancel_state, NULL);
  }
  background_ended_valid = false;
}

static void background_start(void) {
  int expected = BACKGROUND_NONE;
  if (!atomic_compare_exchange_strong(&background_state, &expected, BACKGROUND_STARTING)) return;
  pthread_once(&background_wake_once, background_wake_init);
  /* The thread is joinable, and the one that ended is joined first: a
   * detached thread hands its stack to glibc's cache while it still runs
   * on it, so a start right after an end found that stack in use and made
   * glibc allocate another one, with another thread-bookkeeping block
   * from malloc that then stayed. Joined, the stack is free to reuse. The
   * wait is for the last instructions of a thread that has already
   * marked itself ended. */
  background_join_last();
  /* Signals go to the program's own threads, never to this one. */
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  background_creator_mask = saved;
  pthread_t thread;
  pthread_attr_t attr;
  bool started = false;
  if (pthread_attr_init(&attr) == 0) {
    pthread_attr_setstacksize(&attr, BACKGROUND_STACK_BYTES);
    started = pthread_create(&thread, &attr, background_main, NULL) == 0;
    pthread_attr_destroy(&attr);
  }
  /* A program whose static TLS does not fit even that gets EINVAL: then
   * the default size. */
  if (!started) started = pthread_create(&thread, NULL, background_main, NULL) == 0;
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  /* Joined when the next one starts (it may end before that). */
  background_ended = thread;
  background_ended_valid = started;
  background_ended_pid = _pm_prim_getpid();
  atomic_store(&background_state, started ? BACKGROUND_RUNNING : BACKGROUND_FAILED);
}

/* Wakes the thread if it runs; returns its state, read under the lock a
 * thread that is ending sets BACKGROUND_NONE under. */
static int background_wake_running(void) {
  /* A child made by _Fork inherits RUNNING without the thread, and the
   * thread's mutex and condition variable as the parent's threads left
   * them, maybe held or waited on: it touches neither, and its slow paths
   * purge instead (_pm_decay_tick_lazy). */
  if (_pm_in_unhandled_fork_child()) {
    atomic_store(&background_state, BACKGROUND_FAILED);
    return BACKGROUND_FAILED;
  }
  pthread_mutex_lock(&background_lock);
  int state = atomic_load(&background_state);
  if (state == BACKGROUND_RUNNING) pthread_cond_signal(&background_wake);
  pthread_mutex_unlock(&background_lock);
  return state;
}

void _pm_background_kick(bool may_start) {
  /* The fork handlers hold the thread's lock: kick after the fork. */
  if (_pm_forking) return;
  if (!may_start && atomic_load(&background_state) != BACKGROUND_RUNNING) return;
  /* Reached from free, which must not change errno: pthread_create sets
   * it when it fails. */
  int saved_errno = errno;
  atomic_store_explicit(&_pm_background_pending, false, memory_order_relaxed);
  if (!_pm_options.background_thread) return;
  int state = background_wake_running();
  if (state == BACKGROUND_NONE && may_start)
    background_start();
  else if (state != BACKGROUND_RUNNING && !may_start) /* it ended meanwhile: for the next start */
    atomic_store_explicit(&_pm_background_pending, true, memory_order_relaxed);
  errno = saved_errno;
}

/* What the pool has handed out before a thread is worth having without
 * memory retained yet: a program smaller than this gets one only once it
 * retains memory and allocates again. */
#define BACKGROUND_WANTED_BYTES ((uint64_t)1 << 20)

void _pm_background_note_growth(uint64_t handed_out) {
  /* Under decay_ms:0 every free gives its memory back at once: nothing
   * waits for a thread, so none is started ahead of need. */
  if (pm_likely(atomic_load_explicit(&background_state, memory_order_relaxed) != BACKGROUND_NONE) ||
      !_pm_options.background_thread || _pm_options.decay_ms == 0)
    return;
  if (handed_out < BACKGROUND_WANTED_BYTES) return;
  atomic_store_explicit(&_pm_background_pending, true, memory_order_relaxed);
  _pm_background_check();
}

PM_WARM void _pm_background_thread_exited(bool main_thread) {
  if (main_thread)
    atomic_store(&main_leaving_pid, _pm_prim_getpid());
  else if (!main_thread_leaving())
    return;
  background_wake_running();
}

void _pm_background_join_ended(void) {
  /* STARTING keeps a kick from another thread out while the join runs. */
  int expected = BACKGROUND_NONE;
  if (!atomic_compare_exchange_strong(&background_state, &expected, BACKGROUND_STARTING)) return;
  background_join_last();
  /* The process is exiting: a free in a later destructor starts no new
   * thread (decay stays with the slow paths' checks, as after a failed
   * start). */
  atomic_store(&background_state, BACKGROUND_FAILED);
}

PM_WARM void _pm_background_fork_prepare(void) {
  pthread_mutex_lock(&background_lock);
}

PM_WARM void _pm_background_fork_parent(void) {
  pthread_mutex_unlock(&background_lock);
}

PM_WARM void _pm_background_fork_child(bool thread_exiting) {
  pthread_mutex_init(&background_lock, NULL);
  /* The parent's thread was most likely waiting on the condition variable,
   * which the child inherits in that state: POSIX leaves it undefined, and
   * glibc's keeps counting a waiter that no longer exists (signals may wait
   * for it to leave). A fresh one has no waiters. */
  background_wake_init();
  background_ended_valid = false; /* the parent's thread is not the child's to join */
  /* The forking thread is the child's main thread: leaving if it forked
   * from a thread-specific destructor after the allocator's exit hook. */
  atomic_store(&main_leaving_pid, thread_exiting ? _pm_prim_getpid() : 0);
  if (atomic_load(&background_state) != BACKGROUND_FAILED)
    atomic_store(&background_state, BACKGROUND_NONE);
  /* Memory retained at the fork gets a thread of the child's own. */
  if (atomic_load_explicit(&decay_deadline, memory_order_relaxed) != UINT64_MAX)
    atomic_store_explicit(&_pm_background_pending, true, memory_order_relaxed);
}
