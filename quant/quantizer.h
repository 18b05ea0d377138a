// Integer quantizers for post-training quantization (Ahmadian et al. 2023, section 2; LLM.int8(),
// Dettmers et al. 2022; SmoothQuant, Xiao et al. 2023). Everything else in quant/ builds on these.
//
// Matrices are row-major [rows, cols]. Activations X are [tokens, in]; weights are stored
// torch-style [out, in]. So "per-token" (X) and "per-output-channel" (W) are both per *row*, and
// group-wise means groups of `group` consecutive elements along a row (the input dim), the last
// group of a row possibly shorter.
//
// Symmetric absmax (the default):
//   qmax  = 2^(bits-1) - 1                         (127 for int8, 7 for int4)
//   scale = clip · max|x| / qmax                    over the tensor | row | group
//   q     = clamp(rne(x / scale), -qmax, qmax)      (rne: round half to even)
//   x̂     = q · scale
// An all-zero tensor/row/group gets scale 1, so it dequantizes to exactly 0.
//
// Asymmetric (symmetric = false), for one tensor/row/group:
//   lo = clip · min(min x, 0), hi = clip · max(max x, 0)   (0 is always representable)
//   scale = (hi - lo) / (2^bits - 1), zero = clamp(rne(-lo / scale), 0, 2^bits - 1)
//   u = clamp(rne(x / scale) + zero, 0, 2^bits - 1), stored q = u - 2^(bits-1) (fits int8)
//   x̂ = (q + 2^(bits-1) - zero) · scale
// `zero` holds the unsigned zero point; symmetric specs leave it empty.
//
// The caller's floating-point rounding mode must be the default (to nearest): rne uses
// std::nearbyint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nurture::quant {

enum class Granularity { tensor, row, group };
const char* name(Granularity g);

struct QuantSpec {
  int bits = 8;  // 2..8
  bool symmetric = true;
  Granularity gran = Granularity::row;
  int group = 128;    // elements per group along a row (Granularity::group only)
  float clip = 1.0f;  // absmax (or the asymmetric range) is multiplied by this before scaling
};

// Throws std::invalid_argument when bits, group or clip are out of range.
void validate(const QuantSpec& spec);

struct QuantParams {
  QuantSpec spec;
  int64_t rows = 0, cols = 0;
  std::vector<float> scale;   // one per tensor | row | (row, group), row-major over (row, group)
  std::vector<int32_t> zero;  // asymmetric only: same layout as scale

  int64_t groups_per_row() const;
  // Index into scale/zero for element (r, c).
  int64_t index(int64_t r, int64_t c) const;
};

QuantParams compute_params(const float* x, int64_t rows, int64_t cols, const QuantSpec& spec);
void quantize(const float* x, const QuantParams& p, int8_t* q);
void dequantize(const int8_t* q, const QuantParams& p, float* x);
// quantize → dequantize in one pass with params computed from x itself. out may alias x.
void fake_quant(const float* x, int64_t rows, int64_t cols, const QuantSpec& spec, float* out);

// Static per-tensor quantization (symmetric): one scale fixed in advance from calibration data,
// scale = clip · absmax / qmax (1 when absmax is 0), instead of the tensor's own range. Values
// beyond the calibrated range saturate at ±qmax. It is element-wise, so a row's result never
// depends on the other rows (the batch it is packed with). A non-finite element dequantizes to
// NaN (an overflow must not be clamped into a plausible value); the others are unaffected.
float static_scale(float absmax, const QuantSpec& spec);
void quantize_static(const float* x, int64_t n, float scale, const QuantSpec& spec, int8_t* q);
void fake_quant_static(const float* x, int64_t n, float absmax, const QuantSpec& spec, float* out);

// Two int4 values per byte: element 2i in the low nibble, 2i+1 in the high nibble, each as a
// 4-bit two's complement value (so the symmetric range -7..7 and the asymmetric -8..7 both fit).
// An odd n leaves the last high nibble 0. Values outside -8..7 are a caller bug (not checked).
std::vector<uint8_t> pack_int4(const int8_t* q, int64_t n);
void unpack_int4(const uint8_t* packed, int64_t n, int8_t* q);

// Bytes to store a rows × cols matrix quantized with `spec`: the codes (bits/8 per element,
// int4 packed two per byte, rounded up per matrix) plus one fp32 scale (and one int32 zero
// point when asymmetric) per tensor | row | group.
int64_t storage_bytes(int64_t rows, int64_t cols, const QuantSpec& spec);

}  // namespace nurture::quant
