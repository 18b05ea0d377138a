// Number formats emulated on fp32 storage: bf16 and fp16, bit-exact.
//
// Policy, shared by every entry point here:
// - Round to nearest, ties to even.
// - Subnormals are kept (gradual underflow): fp16 down to 2^-24; bf16 keeps fp32's subnormal
//   range like PyTorch and ggml, not Eigen's flush. RoundOptions::flush_subnormals opts in to
//   flushing results that would be subnormal in the target format to a zero of the same sign.
// - Finite values at or beyond the halfway point above the largest finite value become ±inf
//   (fp16: |x| >= 65520; bf16: |x| >= 0x7F7F8000 ≈ 3.3961e38).
// - Every NaN becomes the canonical quiet NaN with its sign kept: bf16 0x7FC0, fp16 0x7E00, i.e.
//   fp32 0x7FC00000 after widening. Payloads are dropped: PyTorch does the same for bf16, and
//   hardware payload truncation would otherwise make results depend on the code path.
// - Signed zeros are kept.
// The code assumes the default floating-point environment (round-to-nearest, no FTZ/DAZ): the
// scalar fp16 conversion lets FP additions do the rounding (FP16-library algorithm, as c10::Half)
// and the vector paths assume no DAZ. It is built without -ffast-math and FP contraction.
#pragma once

#include <cstdint>
#include <string_view>

namespace nurture::precision {

enum class Format : uint8_t { fp32, bf16, fp16 };

const char* name(Format f);
// Accepts fp32/float32, bf16/bfloat16, fp16/float16/half; throws std::invalid_argument.
Format parse_format(std::string_view text);

uint16_t fp32_to_bf16_bits(float x);
float bf16_bits_to_fp32(uint16_t bits);  // exact
uint16_t fp32_to_fp16_bits(float x);
float fp16_bits_to_fp32(uint16_t bits);  // exact

struct RoundOptions {
  // Results that would be subnormal in the target format become ±0 (decided after rounding,
  // so a value that rounds up to the smallest normal survives). For fp32 this flushes fp32
  // subnormals.
  bool flush_subnormals = false;
};

// The fp32 value nearest to x that the format can hold. fp32 is the identity (NaN payloads
// included) unless flushing.
float round_to(Format f, float x, const RoundOptions& opts = {});

// What rounding did to a buffer. round_inplace adds to the counters, so one RoundStats can
// collect a whole step; it is not synchronised (the RoundFn glue in round_fn.h is).
struct RoundStats {
  int64_t elements = 0;
  int64_t underflow = 0;  // finite non-zero inputs that became ±0 (including flushed subnormals)
  int64_t overflow = 0;   // finite inputs that became ±inf
  int64_t subnormal = 0;  // results stored as subnormals of the target format (0 when flushing)
  int64_t nan = 0;        // NaN inputs
  int64_t inf = 0;        // ±inf inputs

  RoundStats& operator+=(const RoundStats& o);
  bool operator==(const RoundStats&) const = default;
};

// Rounds p[0..n) in place, as round_to does for each element. Picks the widest vector path
// the CPU supports at run time; all paths give the same bits. stats may be null (fastest).
void round_inplace(Format f, float* p, int64_t n, const RoundOptions& opts = {},
                   RoundStats* stats = nullptr);
// The same from src into dst (one pass, e.g. master weights into their half working copy).
// dst may equal src; otherwise the ranges must not overlap.
void round_copy(Format f, const float* src, float* dst, int64_t n, const RoundOptions& opts = {},
                RoundStats* stats = nullptr);

// mantissa_bits counts stored fraction bits (no implicit bit); epsilon = 2^-mantissa_bits.
struct FormatInfo {
  const char* name;
  int bits, exponent_bits, mantissa_bits;
  double max, min_normal, min_subnormal, epsilon;
};
FormatInfo info(Format f);

}  // namespace nurture::precision
