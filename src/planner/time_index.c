/* time_index.c: the address ranges greedy-size has placed so far, indexed
 * by lifetime, so that placing a buffer only looks at the placed buffers
 * that overlap it in time instead of at all of them.
 *
 * A placed buffer overlaps the sections [first, end) of a new one iff it is
 * live in section first, or it starts inside (first, end). Two structures
 * answer those two questions, each listing a buffer at most once:
 * - a segment tree over the sections (T of them), where a buffer is
 *   recorded at the O(log T) nodes whose ranges tile its lifetime: the
 *   nodes on the path from the root to section first hold exactly the
 *   buffers live there, each at one node;
 * - per section, the buffers starting there, with a bitmap of non-empty
 *   sections so that empty stretches are skipped 64 at a time.
 * Listing the k overlapping buffers costs O(log T + (end - first) / 64 + k). */
#include "planner/solver.h"

#include <stdlib.h>

#define NO_ENTRY UINT32_MAX

typedef struct entry_s {
  pm_span_t span;
  uint32_t next; /* next entry in the same list, or NO_ENTRY */
} entry_t;

struct pm_time_index_s {
  size_t leaves;          /* power of two >= number of sections */
  uint32_t *node_head;    /* per tree node: first entry recorded there */
  uint32_t *start_head;   /* per section: first entry starting there */
  uint64_t *start_bitmap; /* bit s: some buffer starts in section s */
  entry_t *entries;
  size_t entry_count, entry_capacity;
};

pm_time_index_t *_pm_time_index_create(size_t sections) {
  pm_time_index_t *index = calloc(1, sizeof *index);
  if (!index) return NULL;
  index->leaves = 1;
  while (index->leaves < sections)
    index->leaves *= 2;
  index->node_head = malloc(2 * index->leaves * sizeof *index->node_head);
  index->start_head = malloc(index->leaves * sizeof *index->start_head);
  index->start_bitmap = calloc(index->leaves / 64 + 1, sizeof *index->start_bitmap);
  if (!index->node_head || !index->start_head || !index->start_bitmap) {
    _pm_time_index_destroy(index);
    return NULL;
  }
  for (size_t i = 0; i < 2 * index->leaves; i++)
    index->node_head[i] = NO_ENTRY;
  for (size_t i = 0; i < index->leaves; i++)
    index->start_head[i] = NO_ENTRY;
  return index;
}

void _pm_time_index_destroy(pm_time_index_t *index) {
  if (!index) return;
  free(index->node_head);
  free(index->start_head);
  free(index->start_bitmap);
  free(index->entries);
  free(index);
}

/* Prepends span to the list starting at *head. */
static int index_add_entry(pm_time_index_t *index, uint32_t *head, pm_span_t span) {
  /* Entries are numbered in 32 bits, NO_ENTRY excluded: past that (some
   * 10^8 buffers) the lists would wrap, so the index fails as when out of
   * memory. */
  if (index->entry_count >= NO_ENTRY) return -1;
  if (index->entry_count == index->entry_capacity) {
    size_t capacity = index->entry_capacity ? 2 * index->entry_capacity : 256;
    entry_t *grown = realloc(index->entries, capacity * sizeof *grown);
    if (!grown) return -1;
    index->entries = grown;
    index->entry_capacity = capacity;
  }
  index->entries[index->entry_count] = (entry_t){span, *head};
  *head = (uint32_t)index->entry_count++;
  return 0;
}

/* Records span at the nodes tiling [first, end) under node, which covers
 * [lo, hi). */
static int index_insert_at(pm_time_index_t *index, size_t node, size_t lo, size_t hi, size_t first,
                           size_t end, pm_span_t span) {
  if (end <= lo || hi <= first) return 0;
  if (first <= lo && hi <= end) return index_add_entry(index, &index->node_head[node], span);
  size_t mid = lo + (hi - lo) / 2;
  if (index_insert_at(index, 2 * node, lo, mid, first, end, span) < 0) return -1;
  return index_insert_at(index, 2 * node + 1, mid, hi, first, end, span);
}

int _pm_time_index_insert(pm_time_index_t *index, uint32_t first, uint32_t end, uint64_t offset,
                          uint64_t top) {
  pm_span_t span = {offset, top};
  if (index_insert_at(index, 1, 0, index->leaves, first, end, span) < 0) return -1;
  if (index_add_entry(index, &index->start_head[first], span) < 0) return -1;
  index->start_bitmap[first / 64] |= (uint64_t)1 << (first % 64);
  return 0;
}

typedef struct query_s {
  pm_span_t **out;
  size_t *capacity;
  size_t found;
} query_t;

static int query_take_list(const pm_time_index_t *index, uint32_t head, query_t *query) {
  for (uint32_t e = head; e != NO_ENTRY; e = index->entries[e].next) {
    if (query->found == *query->capacity) {
      size_t capacity = *query->capacity ? 2 * *query->capacity : 64;
      pm_span_t *grown = realloc(*query->out, capacity * sizeof *grown);
      if (!grown) return -1;
      *query->out = grown;
      *query->capacity = capacity;
    }
    (*query->out)[query->found++] = index->entries[e].span;
  }
  return 0;
}

long _pm_time_index_query(const pm_time_index_t *index, uint32_t first, uint32_t end,
                          pm_span_t **out, size_t *out_capacity) {
  query_t query = {out, out_capacity, 0};
  /* Live in section first: the lists on the path from the root to it. */
  for (size_t node = index->leaves + first; node >= 1; node /= 2)
    if (query_take_list(index, index->node_head[node], &query) < 0) return -1;
  /* Starting in (first, end): the non-empty start lists, found by bitmap. */
  for (size_t sec = (size_t)first + 1; sec < end;) {
    uint64_t word = index->start_bitmap[sec / 64] >> (sec % 64);
    if (word == 0) {
      sec = (sec / 64 + 1) * 64;
      continue;
    }
    sec += (size_t)__builtin_ctzll(word);
    if (sec >= end) break;
    if (query_take_list(index, index->start_head[sec], &query) < 0) return -1;
    sec++;
  }
  return (long)query.found;
}
