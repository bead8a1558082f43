/* time_index.c: the buffers greedy-size has placed so far, indexed by
 * lifetime, so that placing a buffer only looks at the placed buffers that
 * overlap it in time instead of at all of them.
 *
 * A segment tree over the sections: a buffer is recorded at the O(log T)
 * nodes whose ranges tile its sections (T = number of sections). A query
 * visits only nodes that meet the queried range and have a recorded buffer
 * in their subtree, so listing the k overlapping buffers costs
 * O((k + 1) log T) instead of O(n). */
#include "planner/solver.h"

#include <stdlib.h>

#define NO_ENTRY UINT32_MAX

struct pm_time_index_s {
  size_t leaves;   /* power of two >= number of sections */
  uint32_t *below; /* per node: entries recorded in its subtree */
  uint32_t *head;  /* per node: its first entry, or NO_ENTRY */
  uint32_t *entry_buffer;
  uint32_t *entry_next;
  size_t entries, entry_capacity;
  uint32_t *seen; /* per buffer: query number that last listed it */
  uint32_t query_number;
  size_t buffers;
};

pm_time_index_t *_pm_time_index_create(size_t sections, size_t buffers) {
  pm_time_index_t *index = calloc(1, sizeof *index);
  if (!index) return NULL;
  index->leaves = 1;
  while (index->leaves < sections)
    index->leaves *= 2;
  index->buffers = buffers;
  index->below = calloc(2 * index->leaves, sizeof *index->below);
  index->head = malloc(2 * index->leaves * sizeof *index->head);
  index->seen = calloc(buffers ? buffers : 1, sizeof *index->seen);
  if (!index->below || !index->head || !index->seen) {
    _pm_time_index_destroy(index);
    return NULL;
  }
  for (size_t i = 0; i < 2 * index->leaves; i++)
    index->head[i] = NO_ENTRY;
  return index;
}

void _pm_time_index_destroy(pm_time_index_t *index) {
  if (!index) return;
  free(index->below);
  free(index->head);
  free(index->entry_buffer);
  free(index->entry_next);
  free(index->seen);
  free(index);
}

static int index_add_entry(pm_time_index_t *index, size_t node, uint32_t buffer) {
  if (index->entries == index->entry_capacity) {
    size_t capacity = index->entry_capacity ? 2 * index->entry_capacity : 256;
    uint32_t *buffers = realloc(index->entry_buffer, capacity * sizeof *buffers);
    if (!buffers) return -1;
    index->entry_buffer = buffers;
    uint32_t *next = realloc(index->entry_next, capacity * sizeof *next);
    if (!next) return -1;
    index->entry_next = next;
    index->entry_capacity = capacity;
  }
  size_t entry = index->entries++;
  index->entry_buffer[entry] = buffer;
  index->entry_next[entry] = index->head[node];
  index->head[node] = (uint32_t)entry;
  return 0;
}

/* Records buffer at the nodes tiling [first, end) under node (covering
 * [lo, hi)); returns how many entries it added there, or -1. */
static long index_insert_at(pm_time_index_t *index, size_t node, size_t lo, size_t hi,
                            uint32_t buffer, size_t first, size_t end) {
  if (end <= lo || hi <= first) return 0;
  long added;
  if (first <= lo && hi <= end) {
    if (index_add_entry(index, node, buffer) < 0) return -1;
    added = 1;
  } else {
    size_t mid = lo + (hi - lo) / 2;
    long left = index_insert_at(index, 2 * node, lo, mid, buffer, first, end);
    if (left < 0) return -1;
    long right = index_insert_at(index, 2 * node + 1, mid, hi, buffer, first, end);
    if (right < 0) return -1;
    added = left + right;
  }
  index->below[node] += (uint32_t)added;
  return added;
}

int _pm_time_index_insert(pm_time_index_t *index, uint32_t buffer, uint32_t first, uint32_t end) {
  return index_insert_at(index, 1, 0, index->leaves, buffer, first, end) < 0 ? -1 : 0;
}

typedef struct query_s {
  uint32_t **out;
  size_t *capacity;
  size_t found;
} query_t;

static int query_collect(pm_time_index_t *index, size_t node, size_t lo, size_t hi, size_t first,
                         size_t end, query_t *query) {
  if (index->below[node] == 0 || end <= lo || hi <= first) return 0;
  /* Whatever is recorded here covers all of [lo, hi), which meets the query. */
  for (uint32_t e = index->head[node]; e != NO_ENTRY; e = index->entry_next[e]) {
    uint32_t buffer = index->entry_buffer[e];
    if (index->seen[buffer] == index->query_number) continue;
    index->seen[buffer] = index->query_number;
    if (query->found == *query->capacity) {
      size_t capacity = *query->capacity ? 2 * *query->capacity : 64;
      uint32_t *grown = realloc(*query->out, capacity * sizeof *grown);
      if (!grown) return -1;
      *query->out = grown;
      *query->capacity = capacity;
    }
    (*query->out)[query->found++] = buffer;
  }
  if (hi - lo == 1) return 0;
  size_t mid = lo + (hi - lo) / 2;
  if (query_collect(index, 2 * node, lo, mid, first, end, query) < 0) return -1;
  return query_collect(index, 2 * node + 1, mid, hi, first, end, query);
}

long _pm_time_index_query(pm_time_index_t *index, uint32_t first, uint32_t end, uint32_t **out,
                          size_t *out_capacity) {
  if (++index->query_number == 0) {
    /* The counter wrapped: forget every old mark so none looks current. */
    for (size_t i = 0; i < index->buffers; i++)
      index->seen[i] = 0;
    index->query_number = 1;
  }
  query_t query = {out, out_capacity, 0};
  if (query_collect(index, 1, 0, index->leaves, first, end, &query) < 0) return -1;
  return (long)query.found;
}
