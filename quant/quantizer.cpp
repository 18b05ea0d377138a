#include "quant/quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace nurture::quant {

const char* name(Granularity g) {
  switch (g) {
    case Granularity::tensor: return "tensor";
    case Granularity::row: return "row";
    case Granularity::group: return "group";
  }
  return "?";
}

void validate(const QuantSpec& spec) {
  if (spec.bits < 2 || spec.bits > 8)
    throw std::invalid_argument("quantizer bits must be 2..8, got " + std::to_string(spec.bits));
  if (spec.gran == Granularity::group && spec.group < 1)
    throw std::invalid_argument("quantizer group size must be >= 1, got " + std::to_string(spec.group));
  if (!(spec.clip > 0.0f && spec.clip <= 1.0f))
    throw std::invalid_argument("quantizer clip ratio must be in (0, 1], got " + std::to_string(spec.clip));
}

int64_t QuantParams::groups_per_row() const {
  switch (spec.gran) {
    case Granularity::tensor: return 1;
    case Granularity::row: return 1;
    case Granularity::group: return (cols + spec.group - 1) / spec.group;
  }
  return 1;
}

int64_t QuantParams::index(int64_t r, int64_t c) const {
  switch (spec.gran) {
    case Granularity::tensor: return 0;
    case Granularity::row: return r;
    case Granularity::group: return r * groups_per_row() + c / spec.group;
  }
  return 0;
}

namespace {

int qmax_sym(int bits) { return (1 << (bits - 1)) - 1; }
int umax_asym(int bits) { return (1 << bits) - 1; }

float rne(float v) { return std::nearbyint(v); }

// A code for a rounded value already clamped to the code range. NaN (the unit holds a
// non-finite value, so its scale is NaN) gets 0 instead of an undefined float→int conversion.
int code(float v) { return std::isnan(v) ? 0 : int(v); }

// Visits each quantization unit (the tensor, a row or a group) as a list of contiguous row
// segments: fn(unit, row, c0, c1) for every segment [c0, c1) of row `row` in that unit.
template <typename Fn>
void for_each_segment(const QuantParams& p, Fn&& fn) {
  switch (p.spec.gran) {
    case Granularity::tensor:
      for (int64_t r = 0; r < p.rows; ++r) fn(int64_t(0), r, int64_t(0), p.cols);
      break;
    case Granularity::row:
      for (int64_t r = 0; r < p.rows; ++r) fn(r, r, int64_t(0), p.cols);
      break;
    case Granularity::group: {
      const int64_t g = p.spec.group, gpr = p.groups_per_row();
      for (int64_t r = 0; r < p.rows; ++r)
        for (int64_t k = 0; k < gpr; ++k) fn(r * gpr + k, r, k * g, std::min(p.cols, (k + 1) * g));
      break;
    }
  }
}

int64_t num_units(const QuantParams& p) { return p.spec.gran == Granularity::tensor ? 1 : p.rows * p.groups_per_row(); }

}  // namespace

QuantParams compute_params(const float* x, int64_t rows, int64_t cols, const QuantSpec& spec) {
  validate(spec);
  QuantParams p;
  p.spec = spec;
  p.rows = rows;
  p.cols = cols;
  const int64_t n = num_units(p);
  // Per unit: the smallest and largest value (for symmetric only max|x| matters), and whether
  // it holds a NaN or infinity.
  std::vector<float> lo(size_t(n), 0.0f), hi(size_t(n), 0.0f);
  std::vector<char> nonfinite(size_t(n), 0);
  for_each_segment(p, [&](int64_t u, int64_t r, int64_t c0, int64_t c1) {
    const float* row = x + r * cols;
    float l = lo[size_t(u)], h = hi[size_t(u)];
    bool bad = false;
    for (int64_t c = c0; c < c1; ++c) {
      l = std::min(l, row[c]);
      h = std::max(h, row[c]);
      bad |= !std::isfinite(row[c]);
    }
    lo[size_t(u)] = l;
    hi[size_t(u)] = h;
    nonfinite[size_t(u)] |= char(bad);
  });
  // A unit holding a non-finite value has no meaningful range: its scale is NaN, so its codes
  // are 0 and it dequantizes to NaN, which carries on to the loss as it would without
  // quantization (an fp16 forward that overflowed shows as NaN, not as plausible numbers).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  p.scale.resize(size_t(n));
  if (spec.symmetric) {
    const float qmax = float(qmax_sym(spec.bits));
    for (int64_t u = 0; u < n; ++u) {
      const float amax = spec.clip * std::max(-lo[size_t(u)], hi[size_t(u)]);
      p.scale[size_t(u)] = nonfinite[size_t(u)] ? nan : amax > 0.0f ? amax / qmax : 1.0f;
    }
  } else {
    const int umax = umax_asym(spec.bits);
    p.zero.resize(size_t(n));
    for (int64_t u = 0; u < n; ++u) {
      const float l = spec.clip * lo[size_t(u)], h = spec.clip * hi[size_t(u)];
      const float s = nonfinite[size_t(u)] ? nan : h > l ? (h - l) / float(umax) : 1.0f;
      p.scale[size_t(u)] = s;
      p.zero[size_t(u)] = std::clamp(code(rne(-l / s)), 0, umax);
    }
  }
  return p;
}

void quantize(const float* x, const QuantParams& p, int8_t* q) {
  const QuantSpec& spec = p.spec;
  if (spec.symmetric) {
    const float qmax = float(qmax_sym(spec.bits));
    for_each_segment(p, [&](int64_t u, int64_t r, int64_t c0, int64_t c1) {
      const float s = p.scale[size_t(u)];
      const float* xr = x + r * p.cols;
      int8_t* qr = q + r * p.cols;
      for (int64_t c = c0; c < c1; ++c) qr[c] = int8_t(code(std::clamp(rne(xr[c] / s), -qmax, qmax)));
    });
  } else {
    const float umax = float(umax_asym(spec.bits));
    const int offset = 1 << (spec.bits - 1);
    for_each_segment(p, [&](int64_t u, int64_t r, int64_t c0, int64_t c1) {
      const float s = p.scale[size_t(u)], z = float(p.zero[size_t(u)]);
      const float* xr = x + r * p.cols;
      int8_t* qr = q + r * p.cols;
      for (int64_t c = c0; c < c1; ++c) qr[c] = int8_t(code(std::clamp(rne(xr[c] / s) + z, 0.0f, umax)) - offset);
    });
  }
}

void dequantize(const int8_t* q, const QuantParams& p, float* x) {
  const int offset = p.spec.symmetric ? 0 : 1 << (p.spec.bits - 1);
  for_each_segment(p, [&](int64_t u, int64_t r, int64_t c0, int64_t c1) {
    const float s = p.scale[size_t(u)];
    const int z = p.spec.symmetric ? 0 : p.zero[size_t(u)];
    const int8_t* qr = q + r * p.cols;
    float* xr = x + r * p.cols;
    for (int64_t c = c0; c < c1; ++c) xr[c] = float(int(qr[c]) + offset - z) * s;
  });
}

void fake_quant(const float* x, int64_t rows, int64_t cols, const QuantSpec& spec, float* out) {
  const QuantParams p = compute_params(x, rows, cols, spec);
  std::vector<int8_t> q(size_t(rows * cols));
  quantize(x, p, q.data());
  dequantize(q.data(), p, out);
}

float static_scale(float absmax, const QuantSpec& spec) {
  validate(spec);
  // An overflowed calibration (absmax inf or NaN) gives a NaN scale: everything then dequantizes
  // to NaN instead of to 0.
  if (!std::isfinite(absmax)) return std::numeric_limits<float>::quiet_NaN();
  const float amax = spec.clip * absmax;
  return amax > 0.0f ? amax / float(qmax_sym(spec.bits)) : 1.0f;
}

void quantize_static(const float* x, int64_t n, float scale, const QuantSpec& spec, int8_t* q) {
  const float qmax = float(qmax_sym(spec.bits));
  for (int64_t i = 0; i < n; ++i) q[i] = int8_t(code(std::clamp(rne(x[i] / scale), -qmax, qmax)));
}

void fake_quant_static(const float* x, int64_t n, float absmax, const QuantSpec& spec, float* out) {
  const float s = static_scale(absmax, spec), qmax = float(qmax_sym(spec.bits));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 0; i < n; ++i)
    out[i] = std::isfinite(x[i]) && std::isfinite(s) ? std::clamp(rne(x[i] / s), -qmax, qmax) * s : nan;
}

std::vector<uint8_t> pack_int4(const int8_t* q, int64_t n) {
  std::vector<uint8_t> packed(size_t((n + 1) / 2), 0);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t nib = uint8_t(q[i]) & 0x0F;
    packed[size_t(i / 2)] |= (i % 2 == 0) ? nib : uint8_t(nib << 4);
  }
  return packed;
}

void unpack_int4(const uint8_t* packed, int64_t n, int8_t* q) {
  for (int64_t i = 0; i < n; ++i) {
    const int nib = (i % 2 == 0) ? (packed[i / 2] & 0x0F) : (packed[i / 2] >> 4);
    q[i] = int8_t(nib >= 8 ? nib - 16 : nib);  // sign-extend the 4-bit two's complement value
  }
}

int64_t storage_bytes(int64_t rows, int64_t cols, const QuantSpec& spec) {
  QuantParams p;
  p.spec = spec;
  p.rows = rows;
  p.cols = cols;
  const int64_t codes = (rows * cols * spec.bits + 7) / 8;
  const int64_t per_unit = spec.symmetric ? 4 : 8;
  return codes + num_units(p) * per_unit;
}

}  // namespace nurture::quant
