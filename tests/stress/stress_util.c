/* stress_util.c: random numbers, fill patterns and run-length settings for
 * the stress programs (see stress_util.h). */
#define _GNU_SOURCE
#include "stress_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void stress_rng_seed(stress_rng_t *rng, uint64_t seed) {
  rng->state = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  if (rng->state == 0) rng->state = 1;
}

/* xorshift64* (Vigna 2014): fast and good enough to choose operations. */
uint64_t stress_rng_next(stress_rng_t *rng) {
  uint64_t x = rng->state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng->state = x;
  return x * 0x2545f4914f6cdd1dull;
}

size_t stress_rng_below(stress_rng_t *rng, size_t bound) {
  return (size_t)(stress_rng_next(rng) % bound);
}

/* Sizes at and next to the allocator's boundaries (size classes, slab,
 * direct lookup table, the large/huge limit of 8 MiB): where off-by-one
 * errors live. */
static const size_t boundary_sizes[] = {16,   128,  1024, 16384,  65536,    8u << 20,
                                        17,   129,  1025, 16385,  65537,    (8u << 20) + 1,
                                        15,   127,  1023, 16383,  65535,    (8u << 20) - 1,
                                        4096, 4097, 8192, 262144, 4u << 20, (4u << 20) + 1};

size_t stress_rng_size(stress_rng_t *rng) {
  size_t pick = stress_rng_below(rng, 1000);
  if (pick < 10)
    return boundary_sizes[stress_rng_below(rng, sizeof boundary_sizes / sizeof *boundary_sizes)];
  if (pick < 800) return 1 + stress_rng_below(rng, 512);
  if (pick < 980) return 513 + stress_rng_below(rng, 32 * 1024);
  if (pick < 998) return 32 * 1024 + stress_rng_below(rng, 512 * 1024);
  return 512 * 1024 + stress_rng_below(rng, 8 * 1024 * 1024);
}

uint64_t stress_pattern_seed(const void *block, size_t size, uint32_t owner) {
  uint64_t seed = (uint64_t)(uintptr_t)block ^ ((uint64_t)size << 20) ^ ((uint64_t)owner << 44);
  seed ^= seed >> 31;
  seed *= 0xbf58476d1ce4e5b9ull;
  return seed ^ (seed >> 29);
}

/* Word-sized pattern (filled and checked 8 bytes at a time, so the checks
 * cost little next to the allocator calls under test); byte offset i holds
 * byte i % 8 of word i / 8 in little-endian order. */
static uint64_t pattern_word(uint64_t seed, size_t word) {
  return seed ^ ((uint64_t)word * 0x9e3779b97f4a7c15ull);
}

static unsigned char pattern_byte(uint64_t seed, size_t offset) {
  return (unsigned char)(pattern_word(seed, offset / 8) >> (offset % 8 * 8));
}

void stress_pattern_fill(void *p, size_t size, uint64_t seed) {
  unsigned char *bytes = p;
  size_t words = size / 8;
  for (size_t w = 0; w < words; w++) {
    uint64_t value = pattern_word(seed, w);
    memcpy(bytes + w * 8, &value, 8);
  }
  for (size_t i = words * 8; i < size; i++)
    bytes[i] = pattern_byte(seed, i);
}

int stress_pattern_ok(const void *p, size_t size, uint64_t seed, const char *what) {
  const unsigned char *bytes = p;
  size_t words = size / 8, i = 0;
  for (size_t w = 0; w < words; w++) {
    uint64_t value;
    memcpy(&value, bytes + w * 8, 8);
    if (value != pattern_word(seed, w)) break;
    i = (w + 1) * 8;
  }
  for (; i < size; i++) {
    if (bytes[i] != pattern_byte(seed, i)) {
      fprintf(stderr, "CORRUPTION (%s): block %p size %zu: byte %zu is 0x%02x, expected 0x%02x\n",
              what, p, size, i, bytes[i], pattern_byte(seed, i));
      return 0;
    }
  }
  return 1;
}

void stress_block_fill(void *p, size_t size, uint32_t owner) {
  stress_pattern_fill(p, size, stress_pattern_seed(p, size, owner));
}

int stress_block_ok(const void *p, size_t size, uint32_t owner, const char *what) {
  return stress_pattern_ok(p, size, stress_pattern_seed(p, size, owner), what);
}

double stress_seconds(double fallback) {
  const char *text = getenv("STRESS_SECONDS");
  double seconds = text ? strtod(text, NULL) : 0.0;
  return seconds > 0.0 ? seconds : fallback;
}

double stress_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long stress_env_long(const char *name, long fallback) {
  const char *text = getenv(name);
  long value = text ? strtol(text, NULL, 10) : 0;
  return value > 0 ? value : fallback;
}
