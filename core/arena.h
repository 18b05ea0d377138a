// Bump allocator for per-step activations and activation gradients.
//
// A training step allocates the same sequence of buffers every time. The first step grows the
// arena chunk by chunk (pointers stay valid: chunks never move); reset() then merges the chunks
// into one block of the high-water size, so every later step allocates nothing from the heap.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace nurture::core {

class Arena {
 public:
  explicit Arena(size_t initial_floats = 0);
  // Uninitialised storage for n floats, 64-byte aligned.
  float* alloc(size_t n);
  // Zero-filled storage for n floats.
  float* alloc_zero(size_t n);
  // Forget every allocation (the memory is kept for reuse).
  void reset();
  // A position in the allocation sequence; rewind(m) forgets every allocation made after mark()
  // returned m (chunks added since are freed). A tape-free forward pass drops each block's
  // intermediates this way, so inference holds one block's activations, not all of them.
  struct Mark {
    size_t chunks = 0, used = 0, total = 0;
  };
  Mark mark() const;
  void rewind(const Mark& m);
  size_t used_floats() const { return used_total_; }
  size_t capacity_floats() const;
  size_t high_water_floats() const { return high_water_; }

 private:
  struct Chunk {
    std::unique_ptr<float[], void (*)(float*)> mem{nullptr, nullptr};
    size_t cap = 0, used = 0;
  };
  void add_chunk(size_t n);
  std::vector<Chunk> chunks_;
  size_t used_total_ = 0, high_water_ = 0;
};

}  // namespace nurture::core
