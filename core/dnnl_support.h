// What every oneDNN primitive user here shares: the one CPU engine, and a 64-byte-aligned scratch
// buffer that only grows (primitive scratchpads and converted operands are reused across calls,
// so steady-state GEMMs allocate nothing).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>

#include <oneapi/dnnl/dnnl.hpp>

namespace nurture::core {

inline dnnl::engine& dnnl_cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

class AlignedScratch {
 public:
  AlignedScratch() = default;
  AlignedScratch(const AlignedScratch&) = delete;
  AlignedScratch& operator=(const AlignedScratch&) = delete;
  ~AlignedScratch() { std::free(p_); }
  // At least `bytes` (never null, even for 0); the contents are not kept when it grows.
  void* get(size_t bytes) {
    if (bytes > cap_ || !p_) {
      std::free(p_);
      p_ = nullptr;
      cap_ = 0;
      const size_t cap = (std::max<size_t>(bytes, 64) + 63) / 64 * 64;
      p_ = std::aligned_alloc(64, cap);
      if (!p_) throw std::bad_alloc();
      cap_ = cap;
    }
    return p_;
  }

 private:
  void* p_ = nullptr;
  size_t cap_ = 0;
};

}  // namespace nurture::core
