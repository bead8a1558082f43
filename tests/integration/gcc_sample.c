/* gcc_sample.c: input for gcc_compile.sh, which compiles it with and
 * without the preloaded library and compares the objects and the output.
 * It is ordinary C with enough code (a hash table, sorting, formatting) to
 * keep gcc's passes busy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
  char word[24];
  unsigned count;
  struct entry *next;
};

static unsigned hash_word(const char *word) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *word; word++)
    h = (h ^ (unsigned char)*word) * 16777619u;
  return h;
}

static int by_count_then_word(const void *a, const void *b) {
  const struct entry *x = *(const struct entry *const *)a;
  const struct entry *y = *(const struct entry *const *)b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->word, y->word);
}

int main(void) {
  enum { BUCKETS = 1024, WORDS = 50000 };
  struct entry *table[BUCKETS] = {0};
  struct entry **all = NULL;
  size_t distinct = 0;
  unsigned long seed = 42;
  for (int i = 0; i < WORDS; i++) {
    char word[24];
    seed = seed * 6364136223846793005ul + 1442695040888963407ul;
    snprintf(word, sizeof word, "w%lu", (seed >> 33) % 3000);
    unsigned slot = hash_word(word) % BUCKETS;
    struct entry *e = table[slot];
    while (e && strcmp(e->word, word) != 0)
      e = e->next;
    if (!e) {
      e = calloc(1, sizeof *e);
      if (!e) return 1;
      strcpy(e->word, word);
      e->next = table[slot];
      table[slot] = e;
      all = realloc(all, (distinct + 1) * sizeof *all);
      if (!all) return 1;
      all[distinct++] = e;
    }
    e->count++;
  }
  qsort(all, distinct, sizeof *all, by_count_then_word);
  printf("distinct %zu\n", distinct);
  for (size_t i = 0; i < 5; i++)
    printf("%s %u\n", all[i]->word, all[i]->count);
  for (size_t i = 0; i < distinct; i++)
    free(all[i]);
  free(all);
  return 0;
}
