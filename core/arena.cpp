#include "core/arena.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace nurture::core {

namespace {
constexpr size_t kAlignFloats = 16;  // 64 bytes: one cache line, one AVX-512 register
size_t round_up(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }
void free_floats(float* p) { std::free(p); }
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
  std::memset(p, 0, n * sizeof(float));
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
