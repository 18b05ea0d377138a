// Independent reference for fp32 -> {bf16, fp16} -> fp32, integer arithmetic only.
//
// Written from the IEEE 754 definition, deliberately unlike the implementation (which uses the
// carry trick for bf16 and FP arithmetic or F16C for fp16): split the fp32 value into
// significand * 2^exponent, pick the target exponent (clamped at the subnormal floor), shift
// the significand right with round-to-nearest-even on the dropped bits, and let the encoding
// carry into the exponent.
#pragma once

#include <algorithm>
#include <cstdint>

namespace nurture::precision::ref {

template <int kExpBits, int kManBits>
struct Fmt {
  static constexpr uint32_t exp_bits = kExpBits, man_bits = kManBits;
  static constexpr uint32_t bias = (1u << (kExpBits - 1)) - 1;
  static constexpr uint32_t exp_all = (1u << kExpBits) - 1;
  static constexpr uint32_t inf = exp_all << kManBits;
  static constexpr uint32_t quiet_nan = inf | (1u << (kManBits - 1));
  static constexpr uint32_t sign_shift = kExpBits + kManBits;
  static constexpr uint32_t lowest = 128 - bias;  // smallest fp32 exponent field normal in F
};
using Bf16 = Fmt<8, 7>;
using Fp16 = Fmt<5, 10>;

// Unsigned, select-only and always inlined so that the exhaustive test's loop vectorises.
template <class F>
[[gnu::always_inline]] inline uint32_t encode(uint32_t bits) {
  const uint32_t sign = (bits >> 16) & (1u << F::sign_shift);
  const uint32_t e = (bits >> 23) & 0xFF, m = bits & 0x7FFFFF;
  // |x| = sig * 2^(exp - 150); subnormal inputs have no implicit bit and exp = 1.
  const uint32_t sig = e != 0 ? (m | 0x800000u) : m;
  const uint32_t exp = e != 0 ? e : 1u;
  // A normal result keeps man_bits of the 23 fraction bits. Below F's normal range the grid
  // stays that of F's smallest exponent, so shift further; from 25 on sig < 2^24 is under half
  // an ulp, so clamping at 26 changes nothing.
  const uint32_t below = exp < F::lowest ? F::lowest - exp : 0u;
  const uint32_t shift = std::min(23 - F::man_bits + below, 26u);
  uint32_t q = sig >> shift;
  const uint32_t rem = sig - (q << shift), half = (1u << shift) >> 1;
  q += rem > half ? 1u : rem == half ? (q & 1u) : 0u;  // round to nearest, ties to even
  // A normal q has its implicit bit set, so (biased exponent - 1) << man_bits + q encodes it;
  // a rounding carry (q == 2^(man_bits+1), or a subnormal reaching 2^man_bits) moves into the
  // exponent by itself, up to inf.
  uint32_t enc = ((exp < F::lowest ? 0u : exp - F::lowest) << F::man_bits) + q;
  enc = enc >= F::inf ? F::inf : enc;
  enc = e == 0xFF ? (m != 0 ? F::quiet_nan : F::inf) : enc;
  return sign | enc;
}

template <class F>
uint32_t flush(uint32_t h) {
  const uint32_t sign = h & (1u << F::sign_shift);
  return ((h >> F::man_bits) & F::exp_all) == 0 ? sign : h;
}

// The fp32 bits of an encoded value; exact (both formats fit in fp32, bf16 subnormals included).
template <class F>
uint32_t decode(uint32_t h) {
  const uint32_t sign = ((h >> F::sign_shift) & 1) << 31;
  const uint32_t te = (h >> F::man_bits) & F::exp_all, tm = h & ((1u << F::man_bits) - 1);
  if (te == F::exp_all) return sign | 0x7F800000u | (tm << (23 - F::man_bits));
  if (te == 0 && tm == 0) return sign;
  uint32_t sig = te ? tm | (1u << F::man_bits) : tm;
  int exp = te ? int(te) : 1;
  while (!(sig >> F::man_bits)) {  // normalise a subnormal
    sig <<= 1;
    --exp;
  }
  const int e32 = exp - int(F::bias) + 127;
  const uint32_t frac = sig << (23 - F::man_bits);  // implicit bit at position 23
  if (e32 >= 1) return sign | (uint32_t(e32) << 23) | (frac & 0x7FFFFF);
  return sign | (frac >> (1 - e32));
}

}  // namespace nurture::precision::ref
