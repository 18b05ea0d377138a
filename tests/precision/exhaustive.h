// Helpers for the tests that sweep all 2^32 fp32 bit patterns on every OpenMP thread.
#pragma once

#include <omp.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tests/precision/reference.h"

namespace nurture::precision {

// 16K patterns: the few buffers a check keeps per block stay in L2.
inline constexpr int64_t kBlock = int64_t(1) << 14;
inline constexpr int64_t kBlocks = (int64_t(1) << 32) / kBlock;

// Counts failures and keeps the smallest failing input, so reports do not depend on threads.
struct Mismatch {
  int64_t count = 0;
  uint32_t input = 0, got = 0, want = 0;

  void note(uint32_t in, uint32_t g, uint32_t w) {
    if (count++ == 0 || in < input) input = in, got = g, want = w;
  }
  void merge(const Mismatch& o) {
    if (o.count == 0) return;
    if (count == 0 || o.input < input) input = o.input, got = o.got, want = o.want;
    count += o.count;
  }
};

inline std::string describe(const std::string& what, const Mismatch& m) {
  char buf[192];
  std::snprintf(buf, sizeof buf,
                "%s: %lld mismatches; smallest input 0x%08X gave 0x%08X, want 0x%08X", what.c_str(),
                static_cast<long long>(m.count), m.input, m.got, m.want);
  return buf;
}

inline void compare(const uint32_t* in, const uint32_t* got, const uint32_t* want, int64_t n,
                    Mismatch& m) {
  if (std::memcmp(got, want, n * sizeof(uint32_t)) == 0) return;
  for (int64_t i = 0; i < n; ++i) {
    if (got[i] != want[i]) m.note(in[i], got[i], want[i]);
  }
}

// The reference encoding of one block of patterns; a plain loop the compiler vectorises.
template <class F>
void encode_block(const uint32_t* in, uint16_t* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = uint16_t(ref::encode<F>(in[i]));
}

template <class F>
std::vector<uint32_t> decode_table() {
  std::vector<uint32_t> t(65536);
  for (uint32_t h = 0; h < 65536; ++h) t[h] = ref::decode<F>(h);
  return t;
}

// Calls check(state, block_index, patterns, n) for every block of the 2^32 patterns, in
// parallel. Each thread works on its own copy of `init`; the copies are merged (State::merge)
// into the result.
template <class State, class Check>
State for_all_fp32_blocks(const State& init, Check&& check) {
  State total = init;
#pragma omp parallel
  {
    State mine = init;
    std::vector<uint32_t> in(kBlock);
#pragma omp for schedule(dynamic, 64)
    for (int64_t b = 0; b < kBlocks; ++b) {
#pragma omp simd
      for (int64_t i = 0; i < kBlock; ++i) in[i] = uint32_t(b * kBlock + i);
      check(mine, b, in.data(), kBlock);
    }
#pragma omp critical
    total.merge(mine);
  }
  return total;
}

}  // namespace nurture::precision
