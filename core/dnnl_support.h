// What every oneDNN primitive user here shares (core/gemm_bf16.cpp, quant/int8_gemm.cpp): the one
// CPU engine, a 64-byte-aligned scratch buffer that only grows (primitive scratchpads and converted
// operands are reused across calls, so steady-state GEMMs allocate nothing), and the per-thread
// cache of primitives by shape.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

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

// Primitives by shape key. Creating one costs far more than running a small GEMM, and a model has
// a few dozen shapes, so a linear search with oldest-first eviction beyond Cap is enough. Keep
// one per thread (thread_local): oneDNN primitives may be shared, their memory objects may not.
template <class Key, class Entry, size_t Cap = 64>
class PrimitiveCache {
 public:
  // The entry for k; make(k) builds it (returning std::unique_ptr<Entry>) when absent.
  template <class Make>
  Entry& get(const Key& k, Make&& make) {
    for (auto& e : entries_)
      if (e->key == k) return *e;
    std::unique_ptr<Entry> e = make(k);
    ++created_;
    if (entries_.size() >= Cap) entries_.erase(entries_.begin());
    entries_.push_back(std::move(e));
    return *entries_.back();
  }
  // Primitives built so far (tests check that warm calls build none).
  int64_t created() const { return created_; }

 private:
  std::vector<std::unique_ptr<Entry>> entries_;
  int64_t created_ = 0;
};

}  // namespace nurture::core
