/* bench_util.h: what every allocator benchmark program shares: argument
 * parsing, a fast PRNG, block patterns that detect corruption, and the
 * end-of-run RSS report the runner (bench/run.py) parses.
 *
 * The programs use only plain malloc/free so that LD_PRELOAD decides which
 * allocator is measured. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bench_args_s {
  unsigned threads; /* worker threads for the multi-threaded workloads */
  double scale;     /* multiplies the operation counts; 1.0 = full run */
} bench_args_t;

/* Usage: PROGRAM [THREADS [SCALE]]. THREADS 0 or absent means
 * threads_per_core x the online cores. Exits with a message on bad input. */
bench_args_t bench_parse_args(int argc, char **argv, unsigned threads_per_core);

/* base x scale, at least minimum: keeps quick runs meaningful. */
size_t bench_scaled(size_t base, double scale, size_t minimum);

/* splitmix64: small, fast, and good enough to pick sizes and slots. */
static inline uint64_t bench_rng_next(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [low, high]. */
static inline size_t bench_rng_range(uint64_t *state, size_t low, size_t high) {
  return low + (size_t)(bench_rng_next(state) % (uint64_t)(high - low + 1));
}

/* Writes a pattern derived from tag into the block: every byte of a block of
 * up to 64 bytes; for a larger one its head, its tail and one byte per page,
 * so every page is touched as real code would touch it. */
void bench_fill(void *block, size_t size, uint64_t tag);
/* Checks the pattern bench_fill wrote; exits with a message naming the
 * workload when it differs (a broken allocator handed out memory twice or
 * lost the contents). */
void bench_verify(const char *workload, const void *block, size_t size, uint64_t tag);

/* A live block the workloads keep in slot tables, with the size and tag its
 * pattern was written with. */
typedef struct bench_slot_s {
  unsigned char *block;
  size_t size;
  uint64_t tag;
} bench_slot_t;

/* malloc(size) into the slot and fills it with the tag's pattern. */
void bench_slot_allocate(const char *workload, bench_slot_t *slot, size_t size, uint64_t tag);
/* Verifies the slot's pattern, frees its block and empties it. */
void bench_slot_release(const char *workload, bench_slot_t *slot);

/* Starts count threads running body, thread i on items + i * item_size;
 * exits with a message when a thread cannot be created. */
void bench_threads_start(const char *workload, pthread_t *threads, unsigned count,
                         void *(*body)(void *), void *items, size_t item_size);
void bench_threads_join(pthread_t *threads, unsigned count);

/* Exits non-zero after printing "WORKLOAD: FAIL: message" on stderr. */
void bench_fail(const char *workload, const char *format, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
/* malloc and calloc that exit with a message instead of returning NULL. */
void *bench_malloc(const char *workload, size_t size);
void *bench_calloc(const char *workload, size_t count, size_t size);

/* State that a worker thread writes as it runs (its random generator, its
 * counters) starts a cache line of its own: the first member of such a
 * struct is declared BENCH_THREAD_STATE, and the array of them comes from
 * bench_calloc_lines. Packed together, the threads' states shared cache
 * lines, and how much the threads then slowed each other depended on
 * where the allocator put that small array relative to line boundaries,
 * not on how it allocates (bench/README.md, nineteenth session). */
#define BENCH_CACHE_LINE   64
#define BENCH_THREAD_STATE _Alignas(BENCH_CACHE_LINE)
/* count zeroed elements of size bytes (a multiple of BENCH_CACHE_LINE), the
 * first on a line boundary; exits with a message on failure. */
void *bench_calloc_lines(const char *workload, size_t count, size_t size);

/* The end of the free phase: prints "peak_rss_kb=N" (VmHWM: unlike the
 * parent's wait4, it does not count the runner's memory the child had
 * between fork and exec), "rss_after_free_kb=N" (VmRSS) with its anonymous
 * part "anon_after_free_kb=N" (RssAnon; the rest is file pages: code and
 * read-only data of the program and its libraries) and, when the
 * environment sets BENCH_TRIM=1 (the runner does so under glibc), calls
 * malloc_trim(0) and prints "rss_after_trim_kb=N" and "anon_after_trim_kb=N". */
void bench_report_rss(void);

#endif /* BENCH_UTIL_H */
