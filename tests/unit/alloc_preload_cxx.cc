// alloc_preload_cxx.cc: C++ new and delete reach the preloaded allocator
// (libstdc++'s operator new calls malloc). Exits 0 when they do.
#include <dlfcn.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "poolmalloc.h"

int main() {
  auto stats = reinterpret_cast<int (*)(pm_stats_t *)>(dlsym(RTLD_DEFAULT, "pm_stats"));
  if (stats == nullptr) {
    std::fprintf(stderr, "libpoolmalloc is not preloaded\n");
    return 1;
  }
  pm_stats_t before, after;
  stats(&before);
  std::vector<std::unique_ptr<std::string>> strings;
  for (int i = 0; i < 1000; i++)
    strings.push_back(std::make_unique<std::string>(100, 'x'));
  stats(&after);
  // 1000 string objects and their 1000 buffers, plus the vector's growth.
  if (after.total_allocations - before.total_allocations < 2000) {
    std::fprintf(stderr, "operator new bypassed the allocator\n");
    return 1;
  }
  strings.clear();
  pm_stats_t freed;
  stats(&freed);
  return freed.total_frees - after.total_frees >= 2000 ? 0 : 1;
}
