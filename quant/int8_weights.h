// Quantized weight storage for the real int8 inference path (quant/int8_model.h).
//
// A linear weight W [out, in] (torch layout) is quantized once, symmetric absmax per output
// channel (one scale per row), with quant::compute_params/quantize, so its codes and scales are
// exactly the ones the fake-quant recipes use. 8-bit codes are kept as int8; 4-bit codes are kept
// packed two per byte (quant::pack_int4) and widened to int8 only for the GEMM that uses them
// (oneDNN 2.6, Debian's libdnnl, has no int4 data type).
#pragma once

#include <cstdint>
#include <vector>

#include "quant/quantizer.h"

namespace nurture::quant {

class QuantizedWeight {
 public:
  QuantizedWeight() = default;
  // Quantizes w [rows, cols] per row to `bits` (8 or 4) bits; clip scales absmax as in QuantSpec.
  // Throws std::invalid_argument for other bit widths.
  static QuantizedWeight from_float(const float* w, int64_t rows, int64_t cols, int bits, float clip = 1.0f);
  // A weight quantized as one row (one scale: per-tensor quantization) viewed as [rows, cols]:
  // the same row-major codes, the scale repeated per row (bytes() still counts one scale).
  QuantizedWeight reshaped(int64_t rows, int64_t cols) const;

  int64_t rows() const { return rows_; }  // output channels (N of the GEMM)
  int64_t cols() const { return cols_; }  // input features (K of the GEMM)
  int bits() const { return bits_; }
  const std::vector<float>& scale() const { return scale_; }  // one per row
  // Σ_k q[n, k] per row: the compensation term of a u8 (x + 128) activation GEMM.
  const std::vector<int32_t>& row_sum() const { return row_sum_; }

  // Row-major int8 codes [rows, cols]. For 8-bit weights this is the stored array (no copy);
  // 4-bit weights are unpacked into `scratch` (resized as needed) and that is returned.
  const int8_t* codes(std::vector<int8_t>& scratch) const;
  // Dequantized weights q · scale [rows, cols], the values the fake-quant forward multiplies by.
  void dequantize_to(float* out) const;

  // Bytes held: codes (int4 packed two per byte) + one fp32 scale per row. Matches
  // quant::storage_bytes for the same spec. The row sums are derived data, not counted.
  int64_t bytes() const;

 private:
  int64_t rows_ = 0, cols_ = 0;
  int bits_ = 8;
  bool per_tensor_ = false;
  std::vector<int8_t> q8_;   // bits == 8
  std::vector<uint8_t> q4_;  // bits == 4: pack_int4 of the row-major codes
  std::vector<float> scale_;
  std::vector<int32_t> row_sum_;
};

}  // namespace nurture::quant
