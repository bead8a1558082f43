// cxx_threads.cc: a C++17 program whose STL containers cross threads.
//
// Producers build batches (vector<string>, map) and hand them to consumers
// as shared_ptr through a mutex-protected queue; consumers count words in
// unordered_maps and drop the last reference, so most blocks are freed by a
// thread other than the one that allocated them. Over-aligned elements go
// through the aligned operator new (aligned_alloc) and must come back
// aligned. Results are stored per
// batch id, which makes the printed summary independent of scheduling:
// it must be identical under every allocator.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

constexpr int producer_count = 3;
constexpr int consumer_count = 3;
constexpr int batches_per_producer = 400;
constexpr int words_per_batch = 300;

struct alignas(256) cell {
  std::uint64_t value;
};

struct batch {
  int id;
  std::vector<std::string> words;
  std::map<std::string, int> first_seen;
  std::vector<cell> cells;
};

class batch_queue {
public:
  void push(std::shared_ptr<batch> item) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items_.push_back(std::move(item));
    }
    ready_.notify_one();
  }
  // Returns nullptr once every producer is done and the queue is empty.
  std::shared_ptr<batch> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return !items_.empty() || producers_left_ == 0; });
    if (items_.empty()) return nullptr;
    auto item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  void producer_done() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      producers_left_--;
    }
    ready_.notify_all();
  }

private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<batch>> items_;
  int producers_left_ = producer_count;
};

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

std::shared_ptr<batch> make_batch(int id) {
  auto b = std::make_shared<batch>();
  b->id = id;
  for (int i = 0; i < words_per_batch; i++) {
    std::uint64_t r = mix(static_cast<std::uint64_t>(id) * 7919 + i);
    std::string word = "w" + std::to_string(r % 500);
    word.append(r % 37, static_cast<char>('a' + r % 26)); // lengths vary
    b->first_seen.emplace(word, i);
    b->words.push_back(std::move(word));
    if (i % 16 == 0) b->cells.push_back(cell{r});
  }
  return b;
}

// Returns the batch's checksum; *misaligned counts over-aligned elements
// whose storage is not 256-byte aligned.
std::uint64_t consume_batch(const batch &b, int *misaligned) {
  std::unordered_map<std::string, int> counts;
  for (const auto &word : b.words)
    counts[word]++;
  std::uint64_t sum = 0;
  *misaligned += reinterpret_cast<std::uintptr_t>(b.cells.data()) % alignof(cell) != 0;
  for (const auto &c : b.cells)
    sum += c.value;
  for (const auto &[word, first] : b.first_seen)
    sum += mix(std::hash<std::string>{}(word) ^ (counts[word] * 131u + first));
  return sum;
}

} // namespace

int main() {
  const int total = producer_count * batches_per_producer;
  std::vector<std::uint64_t> results(total);
  std::vector<int> consumed_by(total, -1);
  std::vector<int> misaligned(consumer_count, 0);
  batch_queue queue;

  std::vector<std::thread> threads;
  for (int p = 0; p < producer_count; p++)
    threads.emplace_back([&queue, p] {
      for (int i = 0; i < batches_per_producer; i++)
        queue.push(make_batch(p * batches_per_producer + i));
      queue.producer_done();
    });
  for (int c = 0; c < consumer_count; c++)
    threads.emplace_back([&, c] {
      while (auto b = queue.pop()) {
        results[b->id] = consume_batch(*b, &misaligned[c]);
        consumed_by[b->id] = c;
      }
    });
  for (auto &t : threads)
    t.join();

  std::uint64_t checksum = 0;
  int missing = 0, misaligned_total = 0;
  for (int m : misaligned)
    misaligned_total += m;
  for (int i = 0; i < total; i++) {
    checksum = mix(checksum ^ results[i]);
    missing += consumed_by[i] < 0;
  }
  std::printf("batches %d missing %d misaligned %d\n", total, missing, misaligned_total);
  std::printf("checksum %016llx\n", static_cast<unsigned long long>(checksum));
  std::printf("first %016llx last %016llx\n", static_cast<unsigned long long>(results[0]),
              static_cast<unsigned long long>(results[total - 1]));
  return missing == 0 && misaligned_total == 0 ? 0 : 1;
}
