/* second_allocator.c: the malloc family's less common calls (reallocarray,
 * valloc, pvalloc, glibc's __libc_ names) mixed with the common ones on the
 * same blocks. second_allocator.sh runs it where another allocator takes
 * the common calls (valgrind; jemalloc or tcmalloc preloaded before this
 * library), so that a less common call this library serves would hand the
 * other one a block it never made. Prints "mixed" and exits 0. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__libc_malloc(size_t size);
void __libc_free(void *ptr);

int main(void) {
  int *numbers = reallocarray(NULL, 100, sizeof *numbers);
  if (numbers == NULL) return 1;
  numbers[99] = 7;
  numbers = realloc(numbers, 1000 * sizeof *numbers);
  if (numbers == NULL || numbers[99] != 7) return 1;
  numbers = reallocarray(numbers, 10, sizeof *numbers);
  free(numbers);
  void *pages[2] = {valloc(100), pvalloc(100)};
  for (int i = 0; i < 2; i++) {
    if (pages[i] == NULL) return 1;
    memset(pages[i], 1, 100);
    pages[i] = realloc(pages[i], 8192);
    free(pages[i]);
  }
  char *text = __libc_malloc(16);
  if (text == NULL) return 1;
  strcpy(text, "mixed");
  text = realloc(text, 64);
  puts(text);
  __libc_free(text);
  return 0;
}
