/* arena.c: memory laid out by a plan.
 *
 * An arena owns one block from the pool allocator and serves every tensor
 * of the bound plan as base + offset. It only grows: binding a plan that
 * fits reuses the block, so steady-state inference allocates nothing. Live
 * arenas sit in a mutex-protected registry that the statistics emitter
 * walks; each registry entry keeps a copy of its plan's figures so stats
 * never read a graph that its owner may be destroying. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "emitter.h"
#include "planner/graph_internal.h"

struct pm_arena_s {
  struct pm_arena_s *prev, *next; /* registry links */
  char *name;
  unsigned char *base;
  size_t capacity;
  size_t base_alignment;
  uint64_t binds;
  const pm_plan_t *plan;
  pm_plan_summary_t bound; /* copy of plan->summary for the stats */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pm_arena_t *registry_head;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

/* A fork while another thread holds the registry lock would leave the
 * child unable to create arenas or print stats; hold it across fork. */
static void registry_prepare(void) {
  pthread_mutex_lock(&registry_lock);
}
static void registry_release(void) {
  pthread_mutex_unlock(&registry_lock);
}
static void registry_init(void) {
  pthread_atfork(registry_prepare, registry_release, registry_release);
}

static char *arena_strdup(const char *text) {
  size_t len = strlen(text) + 1;
  char *copy = malloc(len);
  if (copy != NULL) memcpy(copy, text, len);
  return copy;
}

PM_EXPORT pm_arena_t *pm_arena_create(const char *name) {
  pthread_once(&registry_once, registry_init);
  pm_arena_t *arena = calloc(1, sizeof *arena);
  if (arena == NULL) return NULL;
  arena->name = arena_strdup(name != NULL ? name : "arena");
  if (arena->name == NULL) {
    free(arena);
    return NULL;
  }
  pthread_mutex_lock(&registry_lock);
  arena->next = registry_head;
  if (registry_head != NULL) registry_head->prev = arena;
  registry_head = arena;
  pthread_mutex_unlock(&registry_lock);
  return arena;
}

PM_EXPORT void pm_arena_destroy(pm_arena_t *arena) {
  if (arena == NULL) return;
  pthread_mutex_lock(&registry_lock);
  if (arena->prev != NULL)
    arena->prev->next = arena->next;
  else
    registry_head = arena->next;
  if (arena->next != NULL) arena->next->prev = arena->prev;
  pthread_mutex_unlock(&registry_lock);
  pm_free(arena->base);
  free(arena->name);
  free(arena);
}

PM_EXPORT int pm_arena_bind(pm_arena_t *arena, const pm_plan_t *plan) {
  if (arena == NULL || plan == NULL) return PM_ERR_INVALID_ARG;
  size_t alignment =
      plan->max_alignment > PM_DEFAULT_ALIGNMENT ? plan->max_alignment : PM_DEFAULT_ALIGNMENT;
  size_t needed = plan->summary.planned_bytes;
  unsigned char *base = arena->base;
  size_t capacity = arena->capacity;
  if (needed > capacity || (needed != 0 && alignment > arena->base_alignment)) {
    /* Round up so the block size is a multiple of its alignment, as C11
     * aligned_alloc asks; the plan's bytes never exceed SIZE_MAX / 2. */
    size_t rounded = (needed + alignment - 1) & ~(alignment - 1);
    if (rounded < capacity) rounded = capacity;
    base = pm_aligned_alloc(alignment, rounded);
    if (base == NULL) return PM_ERR_NOMEM;
    pm_free(arena->base);
    capacity = rounded;
    arena->base_alignment = alignment;
  }
  pthread_mutex_lock(&registry_lock);
  arena->base = base;
  arena->capacity = capacity;
  arena->plan = plan;
  arena->bound = plan->summary;
  arena->binds++;
  pthread_mutex_unlock(&registry_lock);
  return PM_OK;
}

PM_EXPORT void *pm_arena_tensor(pm_arena_t *arena, int tensor) {
  if (arena == NULL || arena->plan == NULL) return NULL;
  if (tensor < 0 || (size_t)tensor >= arena->plan->tensor_count) return NULL;
  return arena->base + arena->plan->offsets[tensor];
}

PM_EXPORT size_t pm_arena_capacity(const pm_arena_t *arena) {
  return arena != NULL ? arena->capacity : 0;
}

void _pm_arena_emit_stats(pm_emitter_t *e) {
  _pm_emitter_array_begin(e, "arenas");
  pthread_mutex_lock(&registry_lock);
  for (const pm_arena_t *arena = registry_head; arena != NULL; arena = arena->next) {
    const pm_plan_summary_t *s = &arena->bound;
    _pm_emitter_object_begin(e, NULL);
    _pm_emitter_kv_str(e, "name", arena->name);
    _pm_emitter_kv_u64(e, "capacity_bytes", arena->capacity);
    _pm_emitter_kv_u64(e, "binds", arena->binds);
    _pm_emitter_kv_u64(e, "tensors", s->tensors);
    _pm_emitter_kv_u64(e, "naive_bytes", s->naive_bytes);
    _pm_emitter_kv_u64(e, "lower_bound_bytes", s->lower_bound_bytes);
    _pm_emitter_kv_u64(e, "planned_bytes", s->planned_bytes);
    _pm_emitter_kv_double(e, "saving", s->saving);
    _pm_emitter_kv_str(e, "algorithm", s->algorithm != NULL ? s->algorithm : "none");
    _pm_emitter_object_end(e);
  }
  pthread_mutex_unlock(&registry_lock);
  _pm_emitter_array_end(e);
}
