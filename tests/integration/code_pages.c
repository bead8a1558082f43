/* code_pages.c: which of the library's code mappings a program makes
 * resident, for code_pages.sh. src/cold.ld gives the code a typical process
 * never runs segments of its own, so that the kernel's fault-around (64 KiB
 * of a file mapping at a time) never brings it in; this program runs one
 * kind of use and prints the resident KiB of each executable mapping of
 * libpoolmalloc, in address order:
 *
 *   code_pages plain    malloc, calloc and free only, every size range
 *   code_pages malloc   the whole malloc family, every size range
 *   code_pages plan     that, then a small graph planned and served
 *   code_pages stats    that, then malloc_stats() (statistics to stderr)
 *
 * Output: "exec_mappings N", one "rss_kb K" line per mapping, then
 * "unwind_rss_kb K": the resident KiB of the mapping that holds the
 * library's unwind tables (.eh_frame_hdr and .eh_frame), which cold.ld
 * keeps apart from the read-only data before them, so that only an
 * unwind through the library's frames maps them. Built against the
 * header alone (POOLMALLOC_RUNTIME_LINK); run preloaded. */
#define _GNU_SOURCE /* posix_memalign, malloc_usable_size */
#define POOLMALLOC_RUNTIME_LINK
#include <poolmalloc.h>

#include <link.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MAPPINGS 16

static void fail(const char *what) {
  fprintf(stderr, "code_pages: %s\n", what);
  exit(1);
}

/* What a program that never resizes or aligns its blocks runs: small,
 * large and huge blocks, plain and zeroed. */
static void use_plain_family(void) {
  static const size_t sizes[] = {8, 100, 1000, 20000, 300000, (size_t)3 << 20, (size_t)20 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char *block = malloc(sizes[i]);
    char *zeroed = calloc(1, sizes[i]);
    if (!block || !zeroed) fail("an allocation failed");
    memset(block, 1, sizes[i]);
    if (zeroed[sizes[i] - 1] != 0) fail("calloc returned a dirty block");
    free(block);
    free(zeroed);
  }
}

/* Every size range and entry point a program calling only the malloc
 * family reaches: small, large and huge blocks, zeroed, aligned, grown. */
static void use_malloc_family(void) {
  static const size_t sizes[] = {8, 100, 1000, 20000, 300000, (size_t)3 << 20, (size_t)20 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char *block = malloc(sizes[i]);
    char *zeroed = calloc(1, sizes[i]);
    void *aligned = aligned_alloc(4096, 4096);
    void *memaligned = NULL;
    if (!block || !zeroed || !aligned || posix_memalign(&memaligned, 64, sizes[i]) != 0)
      fail("an allocation failed");
    memset(block, 1, sizes[i]);
    char *grown = realloc(block, sizes[i] * 2);
    if (!grown || grown[sizes[i] - 1] != 1 || zeroed[sizes[i] - 1] != 0)
      fail("realloc or calloc lost the contents");
    if (malloc_usable_size(grown) < sizes[i] * 2) fail("malloc_usable_size too small");
    free(grown);
    free(zeroed);
    free(aligned);
    free(memaligned);
  }
}

/* A chain of four ops: every plan meets its lower bound, so the exact
 * search never runs. */
static void use_planner(void) {
  pm_graph_t *graph = pm_graph_create("code_pages");
  if (!graph) fail("pm_graph_create failed");
  int tensors[5];
  for (int i = 0; i < 5; i++)
    tensors[i] = pm_graph_add_tensor(graph, NULL, (size_t)(i + 1) << 12, 0, 0);
  for (int i = 0; i < 4; i++)
    if (pm_graph_add_op(graph, NULL, &tensors[i], 1, &tensors[i + 1], 1, 0, -1) < 0)
      fail(pm_graph_error(graph));
  const pm_plan_t *plan = NULL;
  if (pm_graph_plan(graph, NULL, &plan) != 0) fail(pm_graph_error(graph));
  pm_arena_t *arena = pm_arena_create("code_pages");
  if (!arena || pm_arena_bind(arena, plan) != 0) fail("the arena could not bind the plan");
  memset(pm_arena_tensor(arena, tensors[4]), 2, (size_t)5 << 12);
  pm_arena_destroy(arena);
  pm_graph_destroy(graph);
}

/* dl_iterate_phdr callback: the address of libpoolmalloc's unwind table
 * header (its PT_GNU_EH_FRAME segment) into *data. */
static int find_unwind_tables(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  if (strstr(info->dlpi_name, "libpoolmalloc") == NULL) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
      *(unsigned long *)data = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
  return 1;
}

/* The Rss of each executable libpoolmalloc mapping, from /proc/self/smaps,
 * and in *unwind_kb that of the mapping that holds unwind_at. */
static size_t code_mappings_rss(size_t rss_kb[MAX_MAPPINGS], unsigned long unwind_at,
                                size_t *unwind_kb) {
  FILE *smaps = fopen("/proc/self/smaps", "r");
  if (!smaps) fail("cannot read /proc/self/smaps");
  char line[512];
  size_t count = 0;
  int in_code = 0, in_unwind = 0;
  while (fgets(line, sizeof line, smaps)) {
    /* A mapping's first line: "start-end perms offset dev inode path". */
    unsigned long start, end;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3) {
      in_code = perms[2] == 'x' && strstr(line, "libpoolmalloc") != NULL && count < MAX_MAPPINGS;
      if (in_code) rss_kb[count++] = 0;
      in_unwind = unwind_at >= start && unwind_at < end;
      continue;
    }
    size_t kb;
    if ((!in_code && !in_unwind) || sscanf(line, "Rss: %zu kB", &kb) != 1) continue;
    if (in_code) rss_kb[count - 1] = kb;
    if (in_unwind) *unwind_kb = kb;
  }
  fclose(smaps);
  return count;
}

int main(int argc, char **argv) {
  static const char *const modes[] = {"plain", "malloc", "plan", "stats"};
  size_t mode = 0;
  while (argc == 2 && mode < 4 && strcmp(argv[1], modes[mode]) != 0)
    mode++;
  if (argc != 2 || mode == 4) fail("usage: code_pages plain|malloc|plan|stats");
  use_plain_family();
  if (mode >= 1) use_malloc_family();
  if (mode == 2) use_planner();
  if (mode == 3) malloc_stats();
  unsigned long unwind_at = 0;
  dl_iterate_phdr(find_unwind_tables, &unwind_at);
  if (unwind_at == 0) fail("libpoolmalloc has no unwind tables");
  size_t rss_kb[MAX_MAPPINGS], unwind_kb = SIZE_MAX;
  size_t count = code_mappings_rss(rss_kb, unwind_at, &unwind_kb);
  printf("exec_mappings %zu\n", count);
  for (size_t i = 0; i < count; i++)
    printf("rss_kb %zu\n", rss_kb[i]);
  printf("unwind_rss_kb %zu\n", unwind_kb);
  return 0;
}
