/* search.c: a depth-first branch-and-bound that looks for a placement of
 * every buffer within a given capacity, after MiniMalloc (Moffitt,
 * "MiniMalloc: A Lightweight Memory Allocator for Hardware-Accelerated
 * Machine Learning", ASPLOS 2023). Ideas used, each one safe (it never cuts
 * away the last solution):
 *
 * - Canonical solutions: any placement can be pushed down until each buffer
 *   sits on the floor or on a buffer below it. Placing buffers in order of
 *   offset, each at its lowest feasible offset (its "min offset", the top of
 *   the placed buffers it overlaps in time), reaches all such placements.
 *   So offsets never decrease along a branch, and buffers at equal offsets
 *   (which cannot overlap in time) are taken in one fixed order.
 * - Dominance: a buffer is not placed at or above the lowest height at which
 *   some unplaced buffer could end; that buffer would fit below it.
 * - Section bounds: time is cut into sections; in each, every unplaced
 *   buffer stacks above max(floor, current offset, lowest min offset of
 *   the section's unplaced buffers), so their sizes summed must fit under
 *   the capacity there. Padding counts: they all start on multiples of the
 *   section's grain (its smallest alignment), so each but the topmost takes
 *   its size rounded up to the grain, and only the largest rounding among
 *   them can be saved. Without that, a capacity just below the padded
 *   optimum passes every bound and only running out of work ends its search.
 * - Decomposition: once no unplaced buffer crosses some section boundary,
 *   the two sides are solved as independent problems.
 * - Restarts: three static orders of the buffers (MiniMalloc's "WAT", "TAW",
 *   "TWA": by lifetime width, area and section total) take turns with a
 *   node limit that doubles each round, so one unlucky order does not sink
 *   the whole search.
 *
 * A node costs O(n + T) for n buffers and T sections, plus the propagation
 * of its placement; the work budget counts those steps rather than time,
 * which keeps results deterministic. */
#include "planner/solver.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define UNPLACED         UINT64_MAX
#define ORDER_HEURISTICS 3
/* Limits that keep the search's memory (a few tens of MB at most) and its
 * recursion depth (one level per buffer) reasonable inside a library call;
 * larger problems, and deeper ones than the thread's stack holds
 * (search_levels_that_fit), keep the greedy plan. */
#define MAX_SEARCH_BUFFERS  4096
#define MAX_OVERLAP_PAIRS   (1u << 22)
#define MAX_SECTION_ENTRIES (1u << 22)

/* Stack one level of the search takes at most: search_node, search_descend
 * and search_split measure 448 bytes together at -O0 (gcc 12,
 * -fstack-usage) and less optimised; doubled for other compilers. The
 * reserve is for the caller's frames, libc and signal handlers. */
#define STACK_PER_LEVEL 1024
#define STACK_RESERVE   ((size_t)64 << 10)

/* How many levels the calling thread's stack has room for: a thread made
 * with a small stack (a JVM's 1 MiB, or less) gets the greedy plan for a
 * deep problem instead of an overflow. None when the frame lies outside
 * the thread's stack as pthread knows it, or that is unknown: a stack the
 * program made itself (makecontext, a fiber library, sigaltstack) may be
 * a few KiB, and the search would run off its end (a 64 KiB coroutine
 * stack overflowed at about 550 levels); the greedy plan is safe there. */
static size_t search_levels_that_fit(void) {
  /* Per thread, found once: on the main thread pthread_getattr_np reads
   * /proc/self/maps. Initial-exec, as all the library's thread-local
   * state: the dynamic model's __tls_get_addr may call malloc. */
  static _Thread_local __attribute__((tls_model("initial-exec"))) uintptr_t stack_low;
  static _Thread_local __attribute__((tls_model("initial-exec"))) size_t stack_size;
  if (stack_size == 0) {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
    void *low = NULL;
    size_t size = 0;
    int status = pthread_attr_getstack(&attr, &low, &size);
    pthread_attr_destroy(&attr);
    if (status != 0 || size == 0) return 0;
    stack_low = (uintptr_t)low;
    stack_size = size;
  }
  /* The frame, not a local's address: AddressSanitizer may move locals to
   * a heap-allocated fake stack. The stack grows down, towards its low end. */
  uintptr_t here = (uintptr_t)__builtin_frame_address(0);
  if (here < stack_low || here - stack_low > stack_size) return 0;
  size_t room = here - stack_low;
  return room > STACK_RESERVE ? (room - STACK_RESERVE) / STACK_PER_LEVEL : 0;
}

typedef enum node_result_e { NODE_FOUND, NODE_EXHAUSTED, NODE_STOPPED } node_result_t;

typedef enum undo_kind_e { UNDO_MIN_OFFSET, UNDO_FLOOR, UNDO_TOP } undo_kind_t;

typedef struct undo_s {
  uint32_t kind;
  uint32_t index;
  uint64_t value;
} undo_t;

/* Sorting the orders needs the keys at hand; qsort has no context pointer. */
typedef struct order_key_s {
  uint64_t key[3];
  uint32_t index;
} order_key_t;

struct pm_search_s {
  const pm_buffer_t *buffers;
  size_t count, sections;
  uint32_t *first, *end; /* per buffer: sections [first, end) */
  /* Per section: the buffers live in it, those with the most padding (see
   * search_padding) first, and the smallest alignment among them, the
   * grain. */
  uint32_t *member_start, *members;
  uint64_t *grain;
  uint32_t *overlap_start, *overlaps; /* per buffer: buffers it overlaps */
  uint64_t *initial_total;            /* per section: padded sizes summed */
  uint32_t *cut;                      /* per section boundary, see below */
  uint32_t *initial_cut;
  /* State of one run. */
  int heuristic;     /* which of the orders ranks buffers */
  uint32_t *rank;    /* per buffer: place in its subproblem's order */
  order_key_t *keys; /* scratch for ranking */
  uint64_t capacity;
  /* Per section: the floor, see search_place; the total, the height its
   * unplaced buffers need, and the member whose padding the topmost of
   * them may keep, and that padding, see search_set_top. */
  uint64_t *floor, *total;
  uint32_t *top;
  uint64_t *top_padding;
  uint64_t *min_offset, *offset; /* per buffer */
  uint32_t *affected, *affected_mark, mark;
  undo_t *undo;
  size_t undo_count, undo_capacity;
  /* One LIFO stack for each node's buffer list, candidates and cut points,
   * addressed by index as it moves when it grows. */
  uint32_t *stack;
  size_t stack_count, stack_capacity;
  uint64_t *work_left, nodes_left;
  bool out_of_work, out_of_memory;
  uint64_t *solution;
};

/* Bytes that rounding buffer's size up to the grain of section sec adds. */
static uint64_t search_padding(const pm_search_t *s, uint32_t buffer, uint32_t sec) {
  return solver_padding(s->buffers[buffer].size, s->grain[sec]);
}

/* What buffer takes of section sec when another buffer sits above it. */
static uint64_t search_padded_size(const pm_search_t *s, uint32_t buffer, uint32_t sec) {
  return solver_add_saturated(s->buffers[buffer].size, search_padding(s, buffer, sec));
}

static int order_key_compare(const void *a, const void *b) {
  const order_key_t *x = a, *y = b;
  for (int k = 0; k < 3; k++)
    if (x->key[k] != y->key[k]) return x->key[k] > y->key[k] ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

static uint64_t multiply_saturated(uint64_t a, uint64_t b) {
  return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/* Ranks the buffers listed at [list, list + count) by the current order
 * heuristic, all keys descending: W = lifetime width, A = area (size times
 * width), T = the largest unplaced total of the sections it lives in. Ranks
 * only compare buffers of one subproblem, so each subproblem gets its own
 * from the totals at the time it is split off, as in MiniMalloc. */
static void search_rank(pm_search_t *s, size_t list, size_t count) {
  static const char orders[ORDER_HEURISTICS][4] = {"WAT", "TAW", "TWA"};
  const char *order = orders[s->heuristic];
  for (size_t i = 0; i < count; i++) {
    uint32_t buffer = s->stack[list + i];
    const pm_buffer_t *b = &s->buffers[buffer];
    uint64_t width = b->upper - b->lower, total = 0;
    for (uint32_t sec = s->first[buffer]; sec < s->end[buffer]; sec++)
      if (s->total[sec] > total) total = s->total[sec];
    s->keys[i].index = buffer;
    for (int k = 0; k < 3; k++)
      s->keys[i].key[k] = order[k] == 'W'   ? width
                          : order[k] == 'A' ? multiply_saturated(b->size, width)
                                            : total;
  }
  qsort(s->keys, count, sizeof *s->keys, order_key_compare);
  for (size_t i = 0; i < count; i++)
    s->rank[s->keys[i].index] = (uint32_t)i;
}

/* Lists, per section, the buffers live in it; per buffer, the buffers it
 * overlaps in time (two buffers overlap iff they share a section). */
static int search_build_lists(pm_search_t *s) {
  size_t entries = 0;
  for (size_t i = 0; i < s->count; i++)
    entries += s->end[i] - s->first[i];
  if (entries > MAX_SECTION_ENTRIES) return -1;
  s->member_start = calloc(s->sections + 1, sizeof *s->member_start);
  s->members = malloc((entries ? entries : 1) * sizeof *s->members);
  s->initial_total = calloc(s->sections ? s->sections : 1, sizeof *s->initial_total);
  s->grain = calloc(s->sections ? s->sections : 1, sizeof *s->grain); /* 0 where none lives */
  if (!s->member_start || !s->members || !s->initial_total || !s->grain) return -1;
  for (size_t i = 0; i < s->count; i++)
    for (uint32_t sec = s->first[i]; sec < s->end[i]; sec++) {
      s->member_start[sec + 1]++;
      if (s->grain[sec] == 0 || s->buffers[i].alignment < s->grain[sec])
        s->grain[sec] = s->buffers[i].alignment;
    }
  for (size_t sec = 0; sec < s->sections; sec++)
    s->member_start[sec + 1] += s->member_start[sec];
  uint32_t *fill = malloc((s->sections ? s->sections : 1) * sizeof *fill);
  if (!fill) return -1;
  memcpy(fill, s->member_start, s->sections * sizeof *fill);
  for (size_t i = 0; i < s->count; i++)
    for (uint32_t sec = s->first[i]; sec < s->end[i]; sec++) {
      s->members[fill[sec]++] = (uint32_t)i;
      s->initial_total[sec] =
          solver_add_saturated(s->initial_total[sec], search_padded_size(s, (uint32_t)i, sec));
    }
  free(fill);
  /* The totals must stay exact as buffers come and go, so a section whose
   * padded sizes pass 64 bits (only with sizes or alignments near 2^64)
   * makes the problem too large to search. */
  for (size_t sec = 0; sec < s->sections; sec++)
    if (s->initial_total[sec] == UINT64_MAX) return -1;

  /* Overlaps: two buffers overlap iff one of them is live in the other's
   * first section. So a buffer meets the buffers live in its first section
   * and those that start in a later section of its lifetime; listing those
   * starters per section makes this O(pairs + sections). */
  uint32_t *starter_at = calloc(s->sections + 2, sizeof *starter_at);
  uint32_t *starters = malloc(s->count * sizeof *starters);
  s->overlap_start = calloc(s->count + 1, sizeof *s->overlap_start);
  int status = -1;
  if (!starter_at || !starters || !s->overlap_start) goto out;
  for (size_t i = 0; i < s->count; i++)
    starter_at[s->first[i] + 2]++;
  for (size_t sec = 0; sec < s->sections; sec++)
    starter_at[sec + 2] += starter_at[sec + 1];
  for (size_t i = 0; i < s->count; i++)
    starters[starter_at[s->first[i] + 1]++] = (uint32_t)i;
  for (int pass = 0; pass < 2; pass++) {
    size_t pairs = 0;
    for (size_t i = 0; i < s->count; i++) {
      uint32_t *out = pass ? s->overlaps + s->overlap_start[i] : NULL, found = 0;
      uint32_t sec = s->first[i];
      for (uint32_t m = s->member_start[sec]; m < s->member_start[sec + 1]; m++)
        if (s->members[m] != i) {
          if (out) out[found] = s->members[m];
          found++;
        }
      for (uint32_t m = starter_at[sec + 1]; m < starter_at[s->end[i]]; m++) {
        if (out) out[found] = starters[m];
        found++;
      }
      if (!pass) s->overlap_start[i + 1] = found;
      pairs += found;
    }
    if (pairs > MAX_OVERLAP_PAIRS) goto out;
    if (!pass) {
      for (size_t i = 0; i < s->count; i++)
        s->overlap_start[i + 1] += s->overlap_start[i];
      s->overlaps = malloc((pairs ? pairs : 1) * sizeof *s->overlaps);
      if (!s->overlaps) goto out;
    }
  }
  status = 0;
out:
  free(starter_at);
  free(starters);
  return status;
}

/* Orders each section's members by padding, most first, then by index,
 * which keeps the order built above where all paddings are equal (as with
 * alignment 1). Uses the ranking scratch. */
static void search_order_members(pm_search_t *s) {
  for (uint32_t sec = 0; sec < s->sections; sec++) {
    uint32_t *list = s->members + s->member_start[sec];
    size_t count = s->member_start[sec + 1] - s->member_start[sec];
    for (size_t m = 0; m < count; m++)
      s->keys[m] = (order_key_t){{search_padding(s, list[m], sec), 0, 0}, list[m]};
    qsort(s->keys, count, sizeof *s->keys, order_key_compare);
    for (size_t m = 0; m < count; m++)
      list[m] = s->keys[m].index;
  }
}

pm_search_t *_pm_search_create(const pm_buffer_t *buffers, size_t count) {
  if (count == 0 || count > MAX_SEARCH_BUFFERS || count > search_levels_that_fit()) return NULL;
  pm_search_t *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->buffers = buffers;
  s->count = count;
  s->first = malloc(count * sizeof *s->first);
  s->end = malloc(count * sizeof *s->end);
  if (!s->first || !s->end || _pm_sections_build(buffers, count, s->first, s->end, &s->sections))
    goto fail;
  if (search_build_lists(s) < 0) goto fail;
  s->rank = malloc(count * sizeof *s->rank);
  s->keys = malloc(count * sizeof *s->keys);
  if (!s->rank || !s->keys) goto fail;
  search_order_members(s);
  size_t sections = s->sections ? s->sections : 1;
  s->floor = malloc(sections * sizeof *s->floor);
  s->total = malloc(sections * sizeof *s->total);
  s->top = malloc(sections * sizeof *s->top);
  s->top_padding = malloc(sections * sizeof *s->top_padding);
  s->affected = malloc(sections * sizeof *s->affected);
  s->affected_mark = calloc(sections, sizeof *s->affected_mark);
  s->min_offset = malloc(count * sizeof *s->min_offset);
  s->offset = malloc(count * sizeof *s->offset);
  s->cut = malloc(sections * sizeof *s->cut);
  s->initial_cut = calloc(sections, sizeof *s->initial_cut);
  if (!s->floor || !s->total || !s->top || !s->top_padding || !s->affected || !s->affected_mark ||
      !s->min_offset || !s->offset || !s->cut || !s->initial_cut)
    goto fail;
  /* cut[k]: buffers live in both section k and k + 1. Where it is zero no
   * buffer crosses, and the two sides are independent problems. */
  for (size_t i = 0; i < count; i++)
    for (uint32_t sec = s->first[i]; sec + 1 < s->end[i]; sec++)
      s->initial_cut[sec]++;
  return s;
fail:
  _pm_search_destroy(s);
  return NULL;
}

void _pm_search_destroy(pm_search_t *s) {
  if (!s) return;
  free(s->first);
  free(s->end);
  free(s->member_start);
  free(s->members);
  free(s->overlap_start);
  free(s->overlaps);
  free(s->initial_total);
  free(s->grain);
  free(s->rank);
  free(s->keys);
  free(s->floor);
  free(s->total);
  free(s->top);
  free(s->top_padding);
  free(s->affected);
  free(s->affected_mark);
  free(s->min_offset);
  free(s->offset);
  free(s->cut);
  free(s->initial_cut);
  free(s->undo);
  free(s->stack);
  free(s);
}

/* A section's unplaced buffers all start on multiples of its grain, so
 * each takes its padded size but the topmost, which keeps at most the
 * largest padding among them: that of the member at top[sec], the first
 * (by padding) that is unplaced or has none. Moves top[sec] and takes the
 * padding it keeps out of total[sec], which is then the height the
 * unplaced buffers need above the lowest of them. */
static void search_set_top(pm_search_t *s, uint32_t sec, uint32_t top) {
  uint64_t padding = top < s->member_start[sec + 1] ? search_padding(s, s->members[top], sec) : 0;
  s->top[sec] = top;
  s->total[sec] += s->top_padding[sec] - padding;
  s->top_padding[sec] = padding;
}

static void search_reset(pm_search_t *s) {
  memcpy(s->total, s->initial_total, s->sections * sizeof *s->total);
  memset(s->top_padding, 0, s->sections * sizeof *s->top_padding);
  for (uint32_t sec = 0; sec < s->sections; sec++)
    search_set_top(s, sec, s->member_start[sec]);
  memcpy(s->cut, s->initial_cut, s->sections * sizeof *s->cut);
  memset(s->floor, 0, s->sections * sizeof *s->floor);
  for (size_t i = 0; i < s->count; i++) {
    s->min_offset[i] = 0;
    s->offset[i] = UNPLACED;
  }
  s->undo_count = 0;
  s->stack_count = 0;
}

static bool search_push(pm_search_t *s, uint32_t value) {
  if (s->stack_count == s->stack_capacity) {
    size_t capacity = s->stack_capacity ? 2 * s->stack_capacity : 4096;
    uint32_t *grown = realloc(s->stack, capacity * sizeof *grown);
    if (!grown) {
      s->out_of_memory = true;
      return false;
    }
    s->stack = grown;
    s->stack_capacity = capacity;
  }
  s->stack[s->stack_count++] = value;
  return true;
}

static bool search_remember(pm_search_t *s, undo_kind_t kind, uint32_t index, uint64_t value) {
  if (s->undo_count == s->undo_capacity) {
    size_t capacity = s->undo_capacity ? 2 * s->undo_capacity : 1024;
    undo_t *grown = realloc(s->undo, capacity * sizeof *grown);
    if (!grown) return false;
    s->undo = grown;
    s->undo_capacity = capacity;
  }
  s->undo[s->undo_count++] = (undo_t){kind, index, value};
  return true;
}

static void search_undo_to(pm_search_t *s, size_t mark) {
  while (s->undo_count > mark) {
    const undo_t *u = &s->undo[--s->undo_count];
    if (u->kind == UNDO_MIN_OFFSET)
      s->min_offset[u->index] = u->value;
    else if (u->kind == UNDO_FLOOR)
      s->floor[u->index] = u->value;
    else
      search_set_top(s, u->index, (uint32_t)u->value);
  }
}

static void search_mark_affected(pm_search_t *s, uint32_t buffer, size_t *affected) {
  for (uint32_t sec = s->first[buffer]; sec < s->end[buffer]; sec++)
    if (s->affected_mark[sec] != s->mark) {
      s->affected_mark[sec] = s->mark;
      s->affected[(*affected)++] = sec;
    }
}

static void search_next_mark(pm_search_t *s) {
  if (++s->mark == 0) {
    memset(s->affected_mark, 0, s->sections * sizeof *s->affected_mark);
    s->mark = 1;
  }
}

/* Puts buffer at its min offset and propagates: overlapping buffers' min
 * offsets rise to its top, its sections' floors too (rounded up to the
 * grain: no buffer of the section can start lower). *fits turns false when
 * some section's unplaced buffers can no longer fit. Returns false when out
 * of memory. */
static bool search_place(pm_search_t *s, uint32_t buffer, bool *fits) {
  const pm_buffer_t *b = &s->buffers[buffer];
  uint64_t top = s->min_offset[buffer] + b->size; /* checked against capacity */
  s->offset[buffer] = s->min_offset[buffer];

  search_next_mark(s);
  size_t affected = 0;
  /* Work done here counts against the budget too: with long lifetimes it
   * can outweigh the node's own scan. */
  uint64_t work = (uint64_t)(s->overlap_start[buffer + 1] - s->overlap_start[buffer]) +
                  (s->end[buffer] - s->first[buffer]);
  for (uint32_t o = s->overlap_start[buffer]; o < s->overlap_start[buffer + 1]; o++) {
    uint32_t other = s->overlaps[o];
    if (s->offset[other] != UNPLACED || s->min_offset[other] >= top) continue;
    if (!search_remember(s, UNDO_MIN_OFFSET, other, s->min_offset[other])) return false;
    uint64_t raised;
    s->min_offset[other] =
        solver_align_up(top, s->buffers[other].alignment, &raised) ? raised : UINT64_MAX;
    search_mark_affected(s, other, &affected);
    work += s->end[other] - s->first[other];
  }
  for (uint32_t sec = s->first[buffer]; sec < s->end[buffer]; sec++) {
    if (!search_remember(s, UNDO_FLOOR, sec, s->floor[sec])) return false;
    if (!solver_align_up(top, s->grain[sec], &s->floor[sec])) s->floor[sec] = UINT64_MAX;
    s->total[sec] -= search_padded_size(s, buffer, sec);
    /* Unplaced, the buffer lay at or after top[sec]. */
    uint32_t next = s->top[sec];
    if (s->top_padding[sec] == 0 || s->members[next] != buffer) continue;
    if (!search_remember(s, UNDO_TOP, sec, next)) return false;
    while (next < s->member_start[sec + 1] && s->offset[s->members[next]] != UNPLACED &&
           search_padding(s, s->members[next], sec) != 0) {
      next++;
      work++;
    }
    search_set_top(s, sec, next);
  }
  /* Where min offsets rose, the section's unplaced buffers may no longer
   * fit: they all sit at or above the lowest of them. A section passes as
   * soon as one buffer low enough shows up, which is usually early. */
  for (size_t a = 0; a < affected && *fits; a++) {
    uint32_t sec = s->affected[a];
    if (s->total[sec] == 0) continue;
    if (s->total[sec] > s->capacity) {
      *fits = false;
      break;
    }
    uint64_t highest_start = s->capacity - s->total[sec];
    *fits = false;
    for (uint32_t m = s->member_start[sec]; m < s->member_start[sec + 1] && !*fits; m++) {
      uint32_t other = s->members[m];
      *fits = s->offset[other] == UNPLACED && s->min_offset[other] <= highest_start;
      work++;
    }
  }
  *s->work_left = *s->work_left > work ? *s->work_left - work : 0;
  return true;
}

static void search_unplace(pm_search_t *s, uint32_t buffer, size_t undo_mark) {
  search_undo_to(s, undo_mark);
  for (uint32_t sec = s->first[buffer]; sec < s->end[buffer]; sec++)
    s->total[sec] += search_padded_size(s, buffer, sec);
  s->offset[buffer] = UNPLACED;
}

/* Every section's unplaced bytes must fit above max(floor, offset): later
 * buffers never go below the offset just used. */
static bool search_sections_fit(const pm_search_t *s, uint32_t lo, uint32_t hi, uint64_t offset) {
  for (uint32_t sec = lo; sec < hi; sec++) {
    uint64_t base = s->floor[sec] > offset ? s->floor[sec] : offset;
    if (s->total[sec] && solver_add_saturated(base, s->total[sec]) > s->capacity) return false;
  }
  return true;
}

/* Candidates in the order they are tried: by min offset, then rank. */
static int candidate_compare(const void *a, const void *b) {
  const order_key_t *x = a, *y = b;
  for (int k = 0; k < 2; k++)
    if (x->key[k] != y->key[k]) return x->key[k] < y->key[k] ? -1 : 1;
  return 0;
}

/* Pushes the candidates among the buffers listed at [list, list + count),
 * sorted by (min offset, rank). Returns how many, or -1 when some buffer
 * can no longer fit (the node is dead) or memory ran out. */
static long search_candidates(pm_search_t *s, size_t list, size_t count, uint64_t last_offset,
                              uint32_t last_rank) {
  uint64_t lowest_end = UINT64_MAX;
  for (size_t i = list; i < list + count; i++) {
    uint32_t b = s->stack[i];
    uint64_t end = solver_add_saturated(s->min_offset[b], s->buffers[b].size);
    if (end > s->capacity) return -1;
    if (end < lowest_end) lowest_end = end;
  }
  /* Sorted in the ranking scratch; only the order stays, on the stack. */
  size_t found = 0;
  for (size_t i = list; i < list + count; i++) {
    uint32_t b = s->stack[i];
    uint64_t at = s->min_offset[b];
    if (at < last_offset || (at == last_offset && s->rank[b] < last_rank)) continue;
    if (at >= lowest_end) continue;
    s->keys[found++] = (order_key_t){{at, s->rank[b], 0}, b};
  }
  if (found > 16) {
    qsort(s->keys, found, sizeof *s->keys, candidate_compare);
  } else {
    for (size_t i = 1; i < found; i++) /* usually a handful */
      for (size_t j = i; j > 0 && candidate_compare(&s->keys[j], &s->keys[j - 1]) < 0; j--) {
        order_key_t swap = s->keys[j];
        s->keys[j] = s->keys[j - 1];
        s->keys[j - 1] = swap;
      }
  }
  for (size_t i = 0; i < found; i++)
    if (!search_push(s, s->keys[i].index)) return -1;
  return (long)found;
}

static bool search_spend(pm_search_t *s, uint64_t cost) {
  if (*s->work_left < cost) {
    s->out_of_work = true;
    return false;
  }
  *s->work_left -= cost;
  return true;
}

static node_result_t search_node(pm_search_t *s, size_t list, size_t count, uint32_t lo,
                                 uint32_t hi, uint64_t last_offset, uint32_t last_rank);

/* Which piece buffer falls in: the number of cut points (ascending, at
 * [cuts, cuts + cut_count)) at or before its first section. */
static size_t search_piece_of(const pm_search_t *s, uint32_t buffer, size_t cuts,
                              size_t cut_count) {
  size_t lo = 0, hi = cut_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->stack[cuts + mid] <= s->first[buffer])
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Solves one piece, listed at [sub, sub + count), under its own ranks; the
 * parent goes on with its ranks afterwards, so they are kept. */
static node_result_t search_piece(pm_search_t *s, size_t sub, size_t count, uint32_t from,
                                  uint32_t to) {
  size_t saved = s->stack_count;
  for (size_t i = sub; i < sub + count; i++)
    if (!search_push(s, s->rank[s->stack[i]])) return NODE_STOPPED;
  search_rank(s, sub, count);
  node_result_t result = search_node(s, sub, count, from, to, 0, 0);
  for (size_t i = 0; i < count; i++)
    s->rank[s->stack[sub + i]] = s->stack[saved + i];
  s->stack_count = saved;
  return result;
}

/* Solves the unplaced buffers listed at [list, list + count) over sections
 * [lo, hi) as independent subproblems, split at the cut points at [cuts,
 * cuts + cut_count) (ascending): no unplaced buffer crosses them. The
 * buffers are dealt to their pieces in one pass (a counting sort). */
static node_result_t search_split(pm_search_t *s, size_t list, size_t count, uint32_t lo,
                                  uint32_t hi, size_t cuts, size_t cut_count) {
  size_t pieces = cut_count + 1, ends = s->stack_count;
  if (!search_spend(s, count + pieces)) return NODE_STOPPED;
  for (size_t p = 0; p < pieces; p++)
    if (!search_push(s, 0)) return NODE_STOPPED;
  size_t unplaced = 0;
  for (size_t i = list; i < list + count; i++)
    if (s->offset[s->stack[i]] == UNPLACED) {
      s->stack[ends + search_piece_of(s, s->stack[i], cuts, cut_count)]++;
      unplaced++;
    }
  for (size_t p = 1; p < pieces; p++)
    s->stack[ends + p] += s->stack[ends + p - 1];
  size_t sub = s->stack_count;
  for (size_t i = 0; i < unplaced; i++)
    if (!search_push(s, 0)) return NODE_STOPPED;
  /* Filled back to front, so each piece keeps the list's order. */
  for (size_t i = list + count; i-- > list;) {
    uint32_t b = s->stack[i];
    if (s->offset[b] == UNPLACED)
      s->stack[sub + --s->stack[ends + search_piece_of(s, b, cuts, cut_count)]] = b;
  }
  /* Now stack[ends + p] is where piece p starts. */
  for (size_t p = 0; p < pieces; p++) {
    size_t start = s->stack[ends + p], end = p + 1 < pieces ? s->stack[ends + p + 1] : unplaced;
    if (start == end) continue;
    uint32_t from = p == 0 ? lo : s->stack[cuts + p - 1];
    uint32_t to = p == cut_count ? hi : s->stack[cuts + p];
    node_result_t result = search_piece(s, sub + start, end - start, from, to);
    if (result != NODE_FOUND) return result;
  }
  return NODE_FOUND;
}

/* Places buffer and goes on with what remains: in one piece, or in
 * independent pieces when its placement was the last one crossing some
 * section boundary. */
static node_result_t search_descend(pm_search_t *s, uint32_t buffer, size_t list, size_t count,
                                    uint32_t lo, uint32_t hi) {
  size_t cuts = s->stack_count;
  node_result_t result = NODE_STOPPED;
  for (uint32_t sec = s->first[buffer]; sec + 1 < s->end[buffer]; sec++)
    if (--s->cut[sec] == 0 && sec + 1 > lo && sec + 1 < hi && !search_push(s, sec + 1)) goto out;
  size_t cut_count = s->stack_count - cuts;
  if (cut_count == 0)
    result = search_node(s, list, count, lo, hi, s->offset[buffer], s->rank[buffer]);
  else
    result = search_split(s, list, count, lo, hi, cuts, cut_count);
out:
  for (uint32_t sec = s->first[buffer]; sec + 1 < s->end[buffer]; sec++)
    s->cut[sec]++;
  s->stack_count = cuts;
  return result;
}

/* One node of the search over the buffers listed at [list, list + count)
 * (some of them already placed), living in sections [lo, hi). */
static node_result_t search_node(pm_search_t *s, size_t list, size_t count, uint32_t lo,
                                 uint32_t hi, uint64_t last_offset, uint32_t last_rank) {
  if (!search_spend(s, count + (hi - lo) + 1)) return NODE_STOPPED;
  if (s->nodes_left == 0) return NODE_STOPPED;
  s->nodes_left--;
  size_t mine = s->stack_count;
  for (size_t i = list; i < list + count; i++)
    if (s->offset[s->stack[i]] == UNPLACED && !search_push(s, s->stack[i])) return NODE_STOPPED;
  size_t my_count = s->stack_count - mine;
  if (my_count == 0) {
    s->stack_count = mine;
    return NODE_FOUND;
  }
  size_t base = s->stack_count;
  long candidates = search_candidates(s, mine, my_count, last_offset, last_rank);
  node_result_t result = s->out_of_memory ? NODE_STOPPED : NODE_EXHAUSTED;
  for (long c = 0; c < candidates && result == NODE_EXHAUSTED; c++) {
    uint32_t b = s->stack[base + (size_t)c];
    size_t undo_mark = s->undo_count;
    bool fits = true;
    if (!search_place(s, b, &fits)) {
      s->out_of_memory = true;
      result = NODE_STOPPED;
    } else if (fits && search_sections_fit(s, lo, hi, s->offset[b])) {
      result = search_descend(s, b, mine, my_count, lo, hi);
      /* Offsets are written on the way back from a success. A piece that
       * succeeded under a branch that failed later leaves stale offsets,
       * which the pieces of the successful branch overwrite afterwards. */
      if (result == NODE_FOUND) s->solution[b] = s->offset[b];
    }
    search_unplace(s, b, undo_mark);
  }
  s->stack_count = mine;
  return result;
}

/* The whole problem, split wherever no buffer crosses a section boundary. */
static node_result_t search_root(pm_search_t *s) {
  for (size_t i = 0; i < s->count; i++)
    if (!search_push(s, (uint32_t)i)) return NODE_STOPPED;
  size_t cuts = s->stack_count;
  for (uint32_t sec = 0; sec + 1 < s->sections; sec++)
    if (s->cut[sec] == 0 && !search_push(s, sec + 1)) return NODE_STOPPED;
  return search_split(s, 0, s->count, 0, (uint32_t)s->sections, cuts, s->stack_count - cuts);
}

pm_search_result_t _pm_search_fit(pm_search_t *s, uint64_t capacity, uint64_t *work_left,
                                  uint64_t *offsets) {
  s->capacity = capacity;
  s->work_left = work_left;
  s->solution = offsets;
  s->out_of_work = false;
  s->out_of_memory = false;
  for (uint64_t node_limit = 2 * (uint64_t)s->count;; node_limit *= 2) {
    for (int h = 0; h < ORDER_HEURISTICS; h++) {
      search_reset(s);
      s->heuristic = h;
      s->nodes_left = node_limit;
      node_result_t result = search_root(s);
      if (result == NODE_FOUND) return PM_SEARCH_FOUND;
      if (result == NODE_EXHAUSTED) return PM_SEARCH_INFEASIBLE;
      if (s->out_of_work || s->out_of_memory) return PM_SEARCH_GAVE_UP;
    }
  }
}
