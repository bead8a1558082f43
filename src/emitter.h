/* emitter.h: one writer for statistics, two formats.
 *
 * Callers describe the figures once (objects, arrays, key/value pairs) and
 * the emitter renders them either as indented text, where each object in an
 * array is one row of key=value pairs, or as a single JSON object, so the two outputs can never
 * disagree (as jemalloc's stats_print does). It writes through a fixed buffer straight to a file
 * descriptor: no stdio and no allocation, so it is safe at exit and after
 * a fork. */
#ifndef PM_EMITTER_H
#define PM_EMITTER_H

#include <stddef.h>
#include <stdint.h>

#include "poolmalloc.h"

typedef struct pm_emitter_s pm_emitter_t;

/* Callers keep an emitter on the stack; its fields are emitter.c's. */
#define PM_EMITTER_BUFFER 4096
#define PM_EMITTER_DEPTH  16
struct pm_emitter_s {
  int fd;
  pm_stats_format_t format;
  int error; /* errno of the first failed write, or 0 */
  size_t depth;
  size_t row_depth; /* text mode: depth of the object printed as one row, or 0 */
  size_t len;
  uint32_t count[PM_EMITTER_DEPTH]; /* items so far at each depth */
  char buffer[PM_EMITTER_BUFFER];
};

/* Starts a document written to fd. */
void _pm_emitter_init(pm_emitter_t *e, int fd, pm_stats_format_t format);
/* Flushes; returns 0, or -1 with errno set if any write failed. */
int _pm_emitter_finish(pm_emitter_t *e);

/* Nested structure: every begin has its end. key is NULL inside arrays. */
void _pm_emitter_object_begin(pm_emitter_t *e, const char *key);
void _pm_emitter_object_end(pm_emitter_t *e);
void _pm_emitter_array_begin(pm_emitter_t *e, const char *key);
void _pm_emitter_array_end(pm_emitter_t *e);

void _pm_emitter_kv_u64(pm_emitter_t *e, const char *key, uint64_t value);
void _pm_emitter_kv_i64(pm_emitter_t *e, const char *key, int64_t value);
void _pm_emitter_kv_double(pm_emitter_t *e, const char *key, double value);
/* value is escaped as a JSON string in JSON mode. */
void _pm_emitter_kv_str(pm_emitter_t *e, const char *key, const char *value);

/* Hook for the planner: emits an "arenas" array with one object per arena,
 * live or destroyed (name, state, capacity, tensors, naive_bytes,
 * lower_bound_bytes, planned_bytes, saving, algorithm). Defined in
 * src/planner/arena.c. */
void _pm_arena_emit_stats(pm_emitter_t *e);

#endif /* PM_EMITTER_H */
