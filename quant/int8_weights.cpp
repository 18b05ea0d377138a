#include "quant/int8_weights.h"

#include <stdexcept>
#include <string>

namespace nurture::quant {

QuantizedWeight QuantizedWeight::from_float(const float* w, int64_t rows, int64_t cols, int bits, float clip) {
  if (bits != 8 && bits != 4)
    throw std::invalid_argument("int8 inference supports 8- or 4-bit weights, got " + std::to_string(bits));
  QuantSpec spec;
  spec.bits = bits;
  spec.gran = Granularity::row;
  spec.clip = clip;
  const QuantParams p = compute_params(w, rows, cols, spec);
  QuantizedWeight qw;
  qw.rows_ = rows;
  qw.cols_ = cols;
  qw.bits_ = bits;
  qw.scale_ = p.scale;
  std::vector<int8_t> q(static_cast<size_t>(rows * cols));
  quantize(w, p, q.data());
  qw.row_sum_.assign(static_cast<size_t>(rows), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) qw.row_sum_[size_t(r)] += q[size_t(r * cols + c)];
  if (bits == 8)
    qw.q8_ = std::move(q);
  else
    qw.q4_ = pack_int4(q.data(), rows * cols);
  return qw;
}

QuantizedWeight QuantizedWeight::reshaped(int64_t rows, int64_t cols) const {
  if (rows_ != 1 || rows * cols != cols_)
    throw std::invalid_argument("QuantizedWeight::reshaped: only a one-row weight can be reshaped");
  QuantizedWeight qw = *this;
  qw.rows_ = rows;
  qw.cols_ = cols;
  qw.per_tensor_ = true;
  qw.scale_.assign(size_t(rows), scale_[0]);
  std::vector<int8_t> scratch;
  const int8_t* q = codes(scratch);
  qw.row_sum_.assign(size_t(rows), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) qw.row_sum_[size_t(r)] += q[r * cols + c];
  return qw;
}

const int8_t* QuantizedWeight::codes(std::vector<int8_t>& scratch) const {
  if (bits_ == 8) return q8_.data();
  scratch.resize(static_cast<size_t>(rows_ * cols_));
  // Two codes per byte: low nibble first, each a 4-bit two's complement value. A table of the
  // 256 byte values turns the unpacking into one 2-byte copy per byte.
  static const auto table = [] {
    std::vector<int16_t> t(256);
    for (int b = 0; b < 256; ++b) {
      int8_t pair[2];
      const uint8_t byte = static_cast<uint8_t>(b);
      unpack_int4(&byte, 2, pair);
      int16_t v;
      __builtin_memcpy(&v, pair, 2);
      t[size_t(b)] = v;
    }
    return t;
  }();
  const int64_t n = rows_ * cols_, pairs = n / 2;
  int8_t* out = scratch.data();
#pragma omp parallel for schedule(static) if (pairs >= (int64_t{1} << 16))
  for (int64_t i = 0; i < pairs; ++i) __builtin_memcpy(out + 2 * i, &table[q4_[size_t(i)]], 2);
  if (n % 2) unpack_int4(q4_.data() + pairs, 1, out + n - 1);
  return out;
}

void QuantizedWeight::dequantize_to(float* out) const {
  std::vector<int8_t> scratch;
  const int8_t* q = codes(scratch);
#pragma omp parallel for schedule(static) if (rows_ * cols_ >= (int64_t{1} << 16))
  for (int64_t r = 0; r < rows_; ++r) {
    const float s = scale_[size_t(r)];
    for (int64_t c = 0; c < cols_; ++c) out[r * cols_ + c] = float(q[r * cols_ + c]) * s;
  }
}

int64_t QuantizedWeight::bytes() const {
  const int64_t codes = bits_ == 8 ? static_cast<int64_t>(q8_.size()) : static_cast<int64_t>(q4_.size());
  return codes + (per_tensor_ ? 1 : static_cast<int64_t>(scale_.size())) * int64_t(sizeof(float));
}

}  // namespace nurture::quant
