// The CPU's own conversions against the reference, over all 2^32 patterns. These check the
// reference as much as the hardware, and document where hardware semantics differ from ours:
// such differences are counted and printed (and recorded as test properties), not failed.
//
// Observed and expected (Intel SDM, VCVTPS2PH / VCVTNEPS2BF16):
// - F16C VCVTPS2PH with imm = round-to-nearest-even matches bit for bit except NaN payloads:
//   the hardware quiets the NaN and keeps the top 9 payload bits (fp32 fraction bits 21..13);
//   we return the canonical 0x7E00 with the sign kept. NaN-ness and sign always agree.
// - AVX512_BF16 VCVTNEPS2BF16 ignores MXCSR and treats every fp32 subnormal input as zero
//   (DAZ, Eigen's flush), where we keep bf16 subnormals (PyTorch/ggml); the inputs just below
//   2^-126 that we round up to the smallest normal also come out as ±0. Its NaNs are quiet
//   with the sign kept but keep the top 6 payload bits (fraction bits 21..16).
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cstring>
#include <iostream>
#include <string>

#include "tests/precision/exhaustive.h"
#include "tests/precision/reference.h"

namespace nurture::precision {
namespace {

struct HwDiff {
  Mismatch nan_payload, flushed_subnormal, other;

  void merge(const HwDiff& o) {
    nan_payload.merge(o.nan_payload);
    flushed_subnormal.merge(o.flushed_subnormal);
    other.merge(o.other);
  }
};

template <class F>
bool is_nan(uint32_t h) {
  return ((h >> F::man_bits) & F::exp_all) == F::exp_all && (h & ((1u << F::man_bits) - 1)) != 0;
}

template <class F>
void classify(const uint32_t* in, const uint16_t* hw, const uint16_t* want, int64_t n, HwDiff& d) {
  if (std::memcmp(hw, want, n * sizeof(uint16_t)) == 0) return;
  for (int64_t i = 0; i < n; ++i) {
    if (hw[i] == want[i]) continue;
    const uint32_t sign = 1u << F::sign_shift;
    const bool fp32_subnormal = (in[i] & 0x7F800000u) == 0;
    if (is_nan<F>(hw[i]) && is_nan<F>(want[i]) && (hw[i] & sign) == (want[i] & sign)) {
      d.nan_payload.note(in[i], hw[i], want[i]);
    } else if (fp32_subnormal && hw[i] == ((in[i] >> 31) << F::sign_shift)) {
      d.flushed_subnormal.note(in[i], hw[i], want[i]);
    } else {
      d.other.note(in[i], hw[i], want[i]);
    }
  }
}

void report(const char* what, const HwDiff& d) {
  for (auto [label, m] : {std::pair{"nan payload", &d.nan_payload},
                          {"flushed subnormal", &d.flushed_subnormal}, {"other", &d.other}}) {
    if (m->count == 0) continue;
    std::cout << "[ hw diff  ] " << describe(std::string(what) + " " + label, *m) << "\n";
    ::testing::Test::RecordProperty(std::string(what) + " " + label, std::to_string(m->count));
  }
}

__attribute__((target("f16c,avx2"))) void f16c_block(const uint32_t* in, uint16_t* out,
                                                      int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 x = _mm256_loadu_ps(reinterpret_cast<const float*>(in + i));
    const __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
}

__attribute__((target("avx512f,avx512bf16"))) void bf16_block(const uint32_t* in, uint16_t* out,
                                                               int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __m512 x = _mm512_loadu_ps(reinterpret_cast<const float*>(in + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), (__m256i)_mm512_cvtneps_pbh(x));
  }
}

template <class F>
HwDiff sweep(void (*hw_block)(const uint32_t*, uint16_t*, int64_t)) {
  struct State : HwDiff {
    std::vector<uint16_t> want = std::vector<uint16_t>(kBlock), hw = std::vector<uint16_t>(kBlock);
  };
  return for_all_fp32_blocks(State{}, [&](State& s, int64_t, const uint32_t* in, int64_t n) {
    encode_block<F>(in, s.want.data(), n);
    hw_block(in, s.hw.data(), n);
    classify<F>(in, s.hw.data(), s.want.data(), n, s);
  });
}

TEST(precision_hardware, f16c_matches_reference) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "CPU has no F16C";
  const HwDiff d = sweep<ref::Fp16>(f16c_block);
  report("F16C vcvtps2ph", d);
  EXPECT_EQ(d.flushed_subnormal.count, 0) << describe("flushed subnormal", d.flushed_subnormal);
  EXPECT_EQ(d.other.count, 0) << describe("F16C vcvtps2ph", d.other);
}

TEST(precision_hardware, avx512bf16_matches_reference_up_to_daz) {
  if (!__builtin_cpu_supports("avx512bf16")) GTEST_SKIP() << "CPU has no AVX512_BF16";
  const HwDiff d = sweep<ref::Bf16>(bf16_block);
  report("AVX512_BF16 vcvtneps2bf16", d);
  EXPECT_EQ(d.other.count, 0) << describe("AVX512_BF16 vcvtneps2bf16", d.other);
}

}  // namespace
}  // namespace nurture::precision
