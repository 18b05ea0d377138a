// Internal to precision/: the scalar conversions, inline so that the vector kernels' tails and
// the public functions in format.cpp share one definition. Include only from files built with
// the precision target's flags (no -ffast-math, -ffp-contract=off): fp32_to_fp16 relies on the
// FPU's round-to-nearest-even.
#pragma once

#include <bit>
#include <cstdint>

#include "precision/format.h"

namespace nurture::precision::scalar {

inline constexpr uint32_t kSign = 0x80000000u;
inline constexpr uint32_t kAbs = 0x7FFFFFFFu;
inline constexpr uint32_t kInf = 0x7F800000u;
inline constexpr uint32_t kQuietNan = 0x7FC00000u;  // what every NaN widens back to

// Smallest normal of each format, as fp32 bits: results below it are the format's subnormals.
inline constexpr uint32_t min_normal_bits(Format f) {
  return f == Format::fp16 ? 0x38800000u /* 2^-14 */ : 0x00800000u /* 2^-126 */;
}

// PyTorch c10::detail::round_to_nearest_even: adding 0x7FFF plus the lsb of the kept half
// carries into bit 16 exactly when the dropped half is above the tie, or at the tie with an odd
// kept half. Overflow needs no branch: the carry walks into the exponent and stops at inf.
inline uint16_t bf16_from_bits(uint32_t u) {
  if ((u & kAbs) > kInf) return uint16_t(((u & kSign) | kQuietNan) >> 16);
  return uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

// FP16 library / c10::Half fp16_ieee_from_fp32_value. Scaling by 2^112 then 2^-110 sends
// out-of-range values to inf while keeping the rest exact; adding a power of two chosen from
// the exponent (at least 2^-14's worth) aligns the value so that the FPU's own RNE addition
// drops exactly the bits fp16 cannot hold, subnormals included.
inline uint16_t fp16_from_float(float x) {
  const uint32_t w = std::bit_cast<uint32_t>(x);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & kSign;
  float base = (std::bit_cast<float>(w & kAbs) * 0x1.0p+112f) * 0x1.0p-110f;
  uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = std::bit_cast<float>((bias >> 1) + 0x07800000u) + base;
  const uint32_t bits = std::bit_cast<uint32_t>(base);
  const uint32_t exp_bits = (bits >> 13) & 0x7C00u;
  const uint32_t mantissa_bits = bits & 0x0FFFu;
  const uint32_t nonsign = exp_bits + mantissa_bits;
  return uint16_t((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t man = h & 0x3FFu;
  if (exp == 0) {
    // man * 2^-24 is exact in fp32; the sign is applied last so that -0 survives.
    const float mag = float(man) * 0x1.0p-24f;
    return std::bit_cast<float>(std::bit_cast<uint32_t>(mag) | sign);
  }
  if (exp == 0x1F) return std::bit_cast<float>(sign | kInf | (man << 13));
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (man << 13));
}

// The fp32 bits of round_to(f, x) before any flushing.
inline uint32_t round_bits(Format f, uint32_t u) {
  switch (f) {
    case Format::bf16:
      return uint32_t(bf16_from_bits(u)) << 16;
    case Format::fp16:
      return std::bit_cast<uint32_t>(fp16_to_float(fp16_from_float(std::bit_cast<float>(u))));
    case Format::fp32:
      break;
  }
  return u;
}

inline uint32_t flush_if_subnormal(Format f, uint32_t r) {
  return (r & kAbs) < min_normal_bits(f) ? r & kSign : r;
}

}  // namespace nurture::precision::scalar
