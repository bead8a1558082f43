/* stress_util.h: helpers shared by the stress programs: a per-thread random
 * generator, address-derived fill patterns that reveal any overlap or stray
 * write, and the run-length knob. */
#ifndef PM_STRESS_UTIL_H
#define PM_STRESS_UTIL_H

#include <stddef.h>
#include <stdint.h>

typedef struct stress_rng_s {
  uint64_t state;
} stress_rng_t;

void stress_rng_seed(stress_rng_t *rng, uint64_t seed);
uint64_t stress_rng_next(stress_rng_t *rng);
/* Uniform in [0, bound); bound > 0. */
size_t stress_rng_below(stress_rng_t *rng, size_t bound);
/* A size with many small, some medium and rare large (up to 8.5 MiB)
 * requests, and 1% exactly at or next to the allocator's boundaries. */
size_t stress_rng_size(stress_rng_t *rng);

/* The pattern of a block is derived from its address, size and owner, so a
 * block written by anybody else, or placed over another live block, fails
 * the check. realloc moves bytes: check them with the old block's seed. */
uint64_t stress_pattern_seed(const void *block, size_t size, uint32_t owner);
void stress_pattern_fill(void *p, size_t size, uint64_t seed);
/* Returns 1 when the first size bytes hold the pattern; otherwise reports
 * the first wrong byte on stderr, naming what, and returns 0. */
int stress_pattern_ok(const void *p, size_t size, uint64_t seed, const char *what);
/* Fills a block with its own pattern / checks it. */
void stress_block_fill(void *p, size_t size, uint32_t owner);
int stress_block_ok(const void *p, size_t size, uint32_t owner, const char *what);

/* Seconds to run: $STRESS_SECONDS when it is a positive number, else
 * fallback. */
double stress_seconds(double fallback);
/* Monotonic time in seconds. */
double stress_now(void);
/* An environment variable as a positive integer, else fallback. */
long stress_env_long(const char *name, long fallback);

#endif /* PM_STRESS_UTIL_H */
