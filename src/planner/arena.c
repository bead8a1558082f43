/* arena.c: memory laid out by a plan.
 *
 * An arena owns one block from the pool allocator and serves every tensor
 * of the bound plan as base + offset. It only grows: binding a plan that
 * fits reuses the block, so steady-state inference allocates nothing. Live
 * arenas sit in a locked registry that the statistics emitter
 * walks; each registry entry keeps a copy of its plan's figures so stats
 * never read a graph that its owner may be destroying. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "emitter.h"
#include "internal.h"
#include "planner/graph_internal.h"

/* What the statistics show of an arena; names longer than this are cut. */
typedef struct arena_record_s {
  char name[64];
  size_t capacity;
  uint64_t binds;
  pm_plan_summary_t bound; /* copy of the last bound plan's summary */
} arena_record_t;

/* A live arena's mark, cleared by pm_arena_destroy. */
#define ARENA_LIVE 0x6172656eu

struct pm_arena_s {
  uint32_t live;                  /* ARENA_LIVE until destroyed */
  struct pm_arena_s *prev, *next; /* registry links */
  unsigned char *base;
  size_t base_alignment;
  /* The bound plan's offsets, copied: the plan belongs to its graph, which
   * its owner may destroy while the arena lives on. Grows only, like base. */
  uint64_t *offsets;
  size_t tensor_count, offsets_capacity;
  arena_record_t record;
};

#define RETIRED_MAX 32

/* The live arenas and the records of destroyed ones. One object, so that
 * the fields every creation and destruction writes share a page with the
 * first records: as separate statics the compiler placed the 4.6 KiB of
 * records between them, and every program that made an arena kept two
 * pages of them resident. */
static struct {
  pm_lock_t lock;
  pm_arena_t *head;
  uint64_t retired_count;
  /* Records of destroyed arenas that had a plan bound, oldest overwritten. */
  arena_record_t retired[RETIRED_MAX];
} registry = {.lock = PM_LOCK_INIT};

/* A fork while another thread holds the registry lock (creating an arena,
 * or printing statistics, which any program may do) would leave the child
 * unable to create arenas or print stats, and hang it at exit: the
 * allocator's fork handlers (init.c) hold it across fork. */
void _pm_arena_fork_prepare(void) {
  _pm_lock(&registry.lock);
}

void _pm_arena_fork_release(void) {
  _pm_unlock(&registry.lock);
}

PM_EXPORT pm_arena_t *pm_arena_create(const char *name) {
  pm_arena_t *arena = calloc(1, sizeof *arena);
  if (arena == NULL) return NULL;
  const char *label = name != NULL ? name : "arena";
  memcpy(arena->record.name, label, _pm_utf8_cut(label, sizeof arena->record.name - 1));
  arena->live = ARENA_LIVE;
  _pm_lock(&registry.lock);
  arena->next = registry.head;
  if (registry.head != NULL) registry.head->prev = arena;
  registry.head = arena;
  _pm_unlock(&registry.lock);
  return arena;
}

/* Whether arena is on the registry's list; lock held. Read through the
 * list, not the arena, which may be freed memory. */
static bool registry_holds(const pm_arena_t *arena) {
  for (const pm_arena_t *live = registry.head; live != NULL; live = live->next)
    if (live == arena) return true;
  return false;
}

PM_EXPORT void pm_arena_destroy(pm_arena_t *arena) {
  if (arena == NULL) return;
  _pm_lock(&registry.lock);
  /* A second destroy would unlink freed memory from the list: stop, as a
   * double free does. */
  if (!registry_holds(arena)) {
    _pm_unlock(&registry.lock);
    _pm_fatal_pointer("pm_arena_destroy", "not a live arena (destroyed twice?)", arena);
  }
  arena->live = 0;
  if (arena->prev != NULL)
    arena->prev->next = arena->next;
  else
    registry.head = arena->next;
  if (arena->next != NULL) arena->next->prev = arena->prev;
  if (arena->record.binds > 0)
    registry.retired[registry.retired_count++ % RETIRED_MAX] = arena->record;
  _pm_unlock(&registry.lock);
  pm_free(arena->base);
  free(arena->offsets);
  free(arena);
}

/* false for NULL; an arena that is not live stops the process, as a
 * double free does: its memory, freed, may hold anything by now. */
static bool arena_usable(const pm_arena_t *arena, const char *func) {
  if (arena == NULL) return false;
  if (arena->live != ARENA_LIVE) _pm_fatal_pointer(func, "not a live arena (destroyed?)", arena);
  return true;
}

PM_EXPORT int pm_arena_bind(pm_arena_t *arena, const pm_plan_t *plan) {
  if (!arena_usable(arena, __func__) || plan == NULL) return PM_ERR_INVALID_ARG;
  size_t alignment =
      plan->max_alignment > PM_DEFAULT_ALIGNMENT ? plan->max_alignment : PM_DEFAULT_ALIGNMENT;
  size_t needed = plan->summary.planned_bytes;
  uint64_t *grown = NULL; /* taken only once the block is had, so a failure changes nothing */
  if (plan->tensor_count > arena->offsets_capacity &&
      (grown = malloc(plan->tensor_count * sizeof *grown)) == NULL)
    return PM_ERR_NOMEM;
  unsigned char *base = arena->base;
  size_t capacity = arena->record.capacity;
  if (needed > capacity || (needed != 0 && alignment > arena->base_alignment)) {
    /* No rounding to a multiple of the alignment (C11's aligned_alloc
     * asks for one, pm_aligned_alloc does not): one page-aligned tensor
     * would otherwise cost a whole page-sized arena, and a 1 GiB-aligned
     * one a gigabyte. */
    size_t size = needed > capacity ? needed : capacity;
    base = pm_aligned_alloc(alignment, size);
    if (base == NULL) {
      free(grown);
      return PM_ERR_NOMEM;
    }
    pm_free(arena->base);
    capacity = size;
    arena->base_alignment = alignment;
  }
  _pm_lock(&registry.lock);
  arena->base = base;
  size_t *old_offsets = NULL;
  if (grown != NULL) {
    old_offsets = arena->offsets;
    arena->offsets = grown;
    arena->offsets_capacity = plan->tensor_count;
  }
  if (plan->tensor_count > 0)
    memcpy(arena->offsets, plan->offsets, plan->tensor_count * sizeof *arena->offsets);
  arena->tensor_count = plan->tensor_count;
  arena->record.capacity = capacity;
  arena->record.bound = plan->summary;
  arena->record.binds++;
  _pm_unlock(&registry.lock);
  /* Not under the lock: a free that finds a bad pointer aborts, and the
   * statistics printed at abort take this lock to list the arenas. */
  free(old_offsets);
  return PM_OK;
}

PM_EXPORT void *pm_arena_tensor(pm_arena_t *arena, int tensor) {
  if (!arena_usable(arena, __func__) || tensor < 0 || (size_t)tensor >= arena->tensor_count)
    return NULL;
  return arena->base + arena->offsets[tensor];
}

PM_EXPORT size_t pm_arena_capacity(const pm_arena_t *arena) {
  return arena_usable(arena, __func__) ? arena->record.capacity : 0;
}

PM_COLD static void arena_record_emit(pm_emitter_t *e, const arena_record_t *record,
                                      const char *state) {
  const pm_plan_summary_t *s = &record->bound;
  _pm_emitter_object_begin(e, NULL);
  _pm_emitter_kv_str(e, "name", record->name);
  _pm_emitter_kv_str(e, "state", state);
  _pm_emitter_kv_u64(e, "capacity_bytes", record->capacity);
  _pm_emitter_kv_u64(e, "binds", record->binds);
  _pm_emitter_kv_u64(e, "tensors", s->tensors);
  _pm_emitter_kv_u64(e, "naive_bytes", s->naive_bytes);
  _pm_emitter_kv_u64(e, "lower_bound_bytes", s->lower_bound_bytes);
  _pm_emitter_kv_u64(e, "planned_bytes", s->planned_bytes);
  _pm_emitter_kv_double(e, "saving", _pm_plan_saving(s));
  _pm_emitter_kv_str(e, "algorithm", s->algorithm != NULL ? s->algorithm : "none");
  _pm_emitter_object_end(e);
}

/* The statistics copy the records a few at a time and write them with the
 * lock free: a write that blocks (a full pipe) or an abort in a signal
 * handler would otherwise hold it, and fork, arena calls and the report at
 * abort all wait for it. Arenas made or destroyed between two holds may be
 * missed or listed twice. */
#define RECORDS_PER_HOLD 16

typedef struct record_copy_s {
  arena_record_t record;
  bool live;
} record_copy_t;

/* Copies the records from index first on (live arenas, then destroyed
 * ones, oldest first) into copies; returns how many, or -1 when the lock
 * was not had within a second (a thread stopped while holding it). */
PM_COLD static int records_copy(uint64_t first, record_copy_t copies[RECORDS_PER_HOLD]) {
  if (_pm_lock_within(&registry.lock, 1000) != 0) return -1;
  int count = 0;
  uint64_t index = 0;
  for (const pm_arena_t *arena = registry.head; arena != NULL && count < RECORDS_PER_HOLD;
       arena = arena->next, index++)
    if (index >= first) copies[count++] = (record_copy_t){arena->record, true};
  uint64_t oldest = registry.retired_count > RETIRED_MAX ? registry.retired_count - RETIRED_MAX : 0;
  for (uint64_t i = oldest; i < registry.retired_count && count < RECORDS_PER_HOLD; i++, index++)
    if (index >= first) copies[count++] = (record_copy_t){registry.retired[i % RETIRED_MAX], false};
  _pm_unlock(&registry.lock);
  return count;
}

PM_COLD void _pm_arena_emit_stats(pm_emitter_t *e) {
  record_copy_t copies[RECORDS_PER_HOLD];
  bool complete = true;
  _pm_emitter_array_begin(e, "arenas");
  for (uint64_t first = 0;; first += RECORDS_PER_HOLD) {
    int count = records_copy(first, copies);
    complete = count >= 0;
    for (int i = 0; i < count; i++)
      arena_record_emit(e, &copies[i].record, copies[i].live ? "live" : "destroyed");
    if (count < RECORDS_PER_HOLD) break;
  }
  _pm_emitter_array_end(e);
  if (!complete)
    _pm_emitter_kv_str(e, "arenas_note", "list cut short: the arena registry was busy");
}
