#include "core/arena.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace nurture::core {

namespace {
constexpr size_t kAlignFloats = 16;  // 64 bytes: one cache line, one AVX-512 register
size_t round_up(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }
void free_floats(float* p) { std::free(p); }

// Every activation's gradient buffer is zeroed when the forward pass creates it, between the ops'
// parallel loops: one thread clearing the benchmark model's ~550 MB per step left the other idle
// for ~10% of a 2-thread bf16 step. Split across the threads, in 64-byte-aligned pieces.
void zero_floats(float* p, size_t n) {
  constexpr size_t kParallelMin = size_t(1) << 18;  // 1 MB: below that a fork/join costs more
  if (n < kParallelMin || omp_in_parallel() || omp_get_max_threads() == 1) {
    std::memset(p, 0, n * sizeof(float));
    return;
  }
#pragma omp parallel
  {
    const size_t nt = size_t(omp_get_num_threads()), t = size_t(omp_get_thread_num());
    const size_t chunk = round_up((n + nt - 1) / nt);
    const size_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
    std::memset(p + begin, 0, (end - begin) * sizeof(float));
  }
}
}  // namespace

Arena::Arena(size_t initial_floats) {
  if (initial_floats) add_chunk(initial_floats);
}

void Arena::add_chunk(size_t n) {
  n = round_up(std::max<size_t>(n, 1 << 20));
  auto* p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  if (!p) throw std::bad_alloc();
  Chunk c;
  c.mem = {p, free_floats};
  c.cap = n;
  chunks_.push_back(std::move(c));
}

float* Arena::alloc(size_t n) {
  n = round_up(n);
  if (chunks_.empty() || chunks_.back().cap - chunks_.back().used < n)
    add_chunk(std::max(n, chunks_.empty() ? size_t(0) : chunks_.back().cap * 2));
  Chunk& c = chunks_.back();
  float* p = c.mem.get() + c.used;
  c.used += n;
  used_total_ += n;
  high_water_ = std::max(high_water_, used_total_);
  return p;
}

float* Arena::alloc_zero(size_t n) {
  float* p = alloc(n);
  zero_floats(p, n);
  return p;
}

void Arena::reset() {
  // One chunk smaller than the high water: a rewind freed the chunks the peak was in.
  if (chunks_.size() > 1 || (!chunks_.empty() && chunks_.back().cap < high_water_)) {
    chunks_.clear();
    add_chunk(high_water_);
  }
  for (auto& c : chunks_) c.used = 0;
  used_total_ = 0;
}

Arena::Mark Arena::mark() const {
  return chunks_.empty() ? Mark{} : Mark{chunks_.size(), chunks_.back().used, used_total_};
}

void Arena::rewind(const Mark& m) {
  chunks_.resize(m.chunks);
  if (!chunks_.empty()) chunks_.back().used = m.used;
  used_total_ = m.total;
}

size_t Arena::capacity_floats() const {
  size_t s = 0;
  for (auto& c : chunks_) s += c.cap;
  return s;
}

}  // namespace nurture::core
