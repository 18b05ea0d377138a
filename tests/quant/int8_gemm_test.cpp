// The int8 GEMM path (quant/int8_gemm.h, quant/int8_weights.h) against the fake-quant reference:
// same codes and scales as quant::compute_params/quantize, exact int32 products, and dequantized
// outputs within fp32 rounding of an fp32 GEMM on the fake-quantized operands.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/gemm.h"
#include "quant/int8_gemm.h"
#include "quant/int8_weights.h"
#include "quant/quantizer.h"

namespace nurture::quant {
namespace {

std::vector<float> randn(int64_t n, uint32_t seed, float std = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, std);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = nd(rng);
  return v;
}

QuantSpec row_spec(int bits, float clip = 1.0f) {
  QuantSpec s;
  s.bits = bits;
  s.gran = Granularity::row;
  s.clip = clip;
  return s;
}

// Exact integer reference of x_q · w_qᵀ.
std::vector<int32_t> int_matmul(const int8_t* x, const int8_t* w, int64_t M, int64_t N, int64_t K) {
  std::vector<int32_t> acc(static_cast<size_t>(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int32_t s = 0;
      for (int64_t k = 0; k < K; ++k) s += int32_t(x[m * K + k]) * int32_t(w[n * K + k]);
      acc[size_t(m * N + n)] = s;
    }
  return acc;
}

TEST(Int8Quantize, RowsMatchReferenceQuantizerBitForBit) {
  // Odd widths exercise the masked tails; a zero row, a row of ties (x/scale = k + 0.5) and a
  // row with one huge outlier exercise the scale rules and round-half-even.
  for (int64_t K : {1, 15, 16, 17, 100, 256}) {
    const int64_t M = 7;
    std::vector<float> x = randn(M * K, 11 + uint32_t(K));
    for (int64_t k = 0; k < K; ++k) x[size_t(1 * K + k)] = 0.0f;
    for (int64_t k = 0; k < K; ++k) x[size_t(2 * K + k)] = float(k % 5) - 2.5f;  // multiples of 0.5
    x[size_t(2 * K)] = 127.0f;                                                   // scale 1: ties at ±0.5
    x[size_t(3 * K + K / 2)] = 1000.0f;
    for (float clip : {1.0f, 0.9f}) {
      const QuantParams p = compute_params(x.data(), M, K, row_spec(8, clip));
      std::vector<int8_t> ref(size_t(M * K)), got(size_t(M * K));
      quantize(x.data(), p, ref.data());
      std::vector<float> scale(static_cast<size_t>(M));
      quantize_rows_int8(x.data(), M, K, clip, got.data(), scale.data(), false);
      for (int64_t m = 0; m < M; ++m) EXPECT_EQ(scale[size_t(m)], p.scale[size_t(m)]) << "K=" << K << " row " << m;
      for (int64_t i = 0; i < M * K; ++i) ASSERT_EQ(got[size_t(i)], ref[size_t(i)]) << "K=" << K << " i=" << i;
      // u8 storage is the same code + 128.
      std::vector<uint8_t> u(size_t(M * K));
      quantize_rows_int8(x.data(), M, K, clip, u.data(), scale.data(), true);
      for (int64_t i = 0; i < M * K; ++i) ASSERT_EQ(int(u[size_t(i)]), int(ref[size_t(i)]) + 128);
    }
  }
}

TEST(Int8Weights, CodesScalesAndBytesMatchQuantizer) {
  const int64_t N = 5, K = 33;  // odd element count: the last int4 byte is half used
  const std::vector<float> w = randn(N * K, 3, 0.02f);
  for (int bits : {8, 4}) {
    const QuantizedWeight qw = QuantizedWeight::from_float(w.data(), N, K, bits);
    const QuantParams p = compute_params(w.data(), N, K, row_spec(bits));
    std::vector<int8_t> ref(size_t(N * K)), scratch;
    quantize(w.data(), p, ref.data());
    const int8_t* codes = qw.codes(scratch);
    for (int64_t i = 0; i < N * K; ++i) ASSERT_EQ(codes[i], ref[size_t(i)]) << bits << " bits, i=" << i;
    EXPECT_EQ(qw.scale(), p.scale);
    EXPECT_EQ(qw.bytes(), storage_bytes(N, K, row_spec(bits)));
    std::vector<float> deq(size_t(N * K)), fq(size_t(N * K));
    qw.dequantize_to(deq.data());
    fake_quant(w.data(), N, K, row_spec(bits), fq.data());
    EXPECT_EQ(deq, fq);
    for (int64_t n = 0; n < N; ++n) {
      int32_t s = 0;
      for (int64_t k = 0; k < K; ++k) s += ref[size_t(n * K + k)];
      EXPECT_EQ(qw.row_sum()[size_t(n)], s);
    }
  }
  EXPECT_EQ(QuantizedWeight::from_float(w.data(), N, K, 4).bytes(), (N * K + 1) / 2 + N * 4);
  EXPECT_THROW(QuantizedWeight::from_float(w.data(), N, K, 6), std::invalid_argument);
}

TEST(Int8Gemm, IntegerProductIsExact) {
  // Shapes that are not multiples of oneDNN's 16/64 blocking, and extreme codes (±127) whose
  // products would overflow int16 partial sums if the kernel used them.
  struct Shape {
    int64_t M, N, K;
  };
  for (const Shape s : {Shape{1, 1, 1}, Shape{3, 5, 7}, Shape{37, 19, 65}, Shape{130, 67, 257}}) {
    std::mt19937 rng(uint32_t(s.M * 131 + s.N * 7 + s.K));
    std::uniform_int_distribution<int> code(-127, 127);
    std::vector<int8_t> x(size_t(s.M * s.K)), w(size_t(s.N * s.K));
    for (auto& v : x) v = int8_t(code(rng));
    for (auto& v : w) v = int8_t(code(rng));
    x[0] = -127;
    w[0] = -127;
    const std::vector<int32_t> ref = int_matmul(x.data(), w.data(), s.M, s.N, s.K);
    for (Int8Kernel kern : {Int8Kernel::s8s8, Int8Kernel::u8s8}) {
      std::vector<uint8_t> xin(x.size());
      for (size_t i = 0; i < x.size(); ++i) xin[i] = kern == Int8Kernel::u8s8 ? uint8_t(x[i] + 128) : uint8_t(x[i]);
      std::vector<int32_t> acc(size_t(s.M * s.N), -1);
      int8_gemm_s32(kern, s.M, s.N, s.K, xin.data(), w.data(), acc.data());
      EXPECT_EQ(acc, ref) << name(kern) << " " << s.M << "x" << s.N << "x" << s.K << " impl " << int8_gemm_last_impl();
    }
  }
}

// The dequantized int8 linear against the fake-quant one: fp32 sgemm of (q_x·s_x)(q_w·s_w)ᵀ + b.
// Both compute Σ_k q_x q_w s_x s_w; the int32 sum is exact, so the int8 path's only rounding is
// the two scale multiplications (≤ 2 ulp of |y|) and the bias add, while the fp32 GEMM rounds
// each partial sum: |Δ| ≤ (K + 3)·2⁻²⁴·Σ_k |x̂_k ŵ_k| + ulp(|b|). We allow 2× that bound.
// All codes at the extremes: (127 + 128)·127 + (127 + 128)·127 = 64770 per pair overflows the
// int16 pair sums of pre-VNNI int8 instructions (VPMADDUBSW saturates), so a kernel that used
// them would fail here; VNNI's VPDPBUSD accumulates straight into int32.
TEST(Int8Gemm, ExtremeCodesDoNotSaturate) {
  const int64_t M = 4, N = 20, K = 96;
  for (int sign : {1, -1}) {
    std::vector<int8_t> x(size_t(M * K), int8_t(127)), w(size_t(N * K), int8_t(127 * sign));
    const std::vector<int32_t> ref = int_matmul(x.data(), w.data(), M, N, K);
    EXPECT_EQ(ref[0], 127 * 127 * K * sign);
    for (Int8Kernel kern : {Int8Kernel::s8s8, Int8Kernel::u8s8}) {
      std::vector<uint8_t> xin(x.size());
      for (size_t i = 0; i < x.size(); ++i) xin[i] = kern == Int8Kernel::u8s8 ? uint8_t(x[i] + 128) : uint8_t(x[i]);
      std::vector<int32_t> acc(size_t(M * N), 0);
      int8_gemm_s32(kern, M, N, K, xin.data(), w.data(), acc.data());
      EXPECT_EQ(acc, ref) << name(kern) << " sign " << sign;
    }
  }
}

TEST(Int8Gemm, DequantizedLinearMatchesFakeQuantWithinFp32Rounding) {
  struct Shape {
    int64_t M, N, K;
  };
  // {300, 1100, 40}: wider than int8_gemm's 256 KiB output block, so it runs in row blocks of 59
  // rows with a shorter last one.
  for (const Shape s :
       {Shape{1, 3, 5}, Shape{33, 47, 63}, Shape{70, 100, 129}, Shape{64, 256, 256}, Shape{300, 1100, 40}}) {
    std::vector<float> x = randn(s.M * s.K, 5 + uint32_t(s.K)), w = randn(s.N * s.K, 6, 0.05f), b = randn(s.N, 7, 0.1f);
    x[0] = 40.0f;  // an outlier feature in the first token
    for (int bits : {8, 4}) {
      const QuantizedWeight qw = QuantizedWeight::from_float(w.data(), s.N, s.K, bits);
      std::vector<float> xf(x.size()), wf(w.size());
      fake_quant(x.data(), s.M, s.K, row_spec(8), xf.data());
      qw.dequantize_to(wf.data());
      std::vector<float> ref(size_t(s.M * s.N));
      core::sgemm(false, true, s.M, s.N, s.K, 1.0f, xf.data(), s.K, wf.data(), s.K, 0.0f, ref.data(), s.N);
      for (int64_t m = 0; m < s.M; ++m)
        for (int64_t n = 0; n < s.N; ++n) ref[size_t(m * s.N + n)] += b[size_t(n)];

      for (Int8Kernel kern : {Int8Kernel::s8s8, Int8Kernel::u8s8}) {
        std::vector<uint8_t> xq(x.size());
        std::vector<float> sx(size_t(s.M)), y(size_t(s.M * s.N), NAN);
        quantize_rows_int8(x.data(), s.M, s.K, 1.0f, xq.data(), sx.data(), kern == Int8Kernel::u8s8);
        std::vector<int8_t> scratch;
        int8_gemm(kern, s.M, s.N, s.K, xq.data(), sx.data(), qw.codes(scratch), qw.scale().data(), b.data(), y.data());
        for (int64_t m = 0; m < s.M; ++m)
          for (int64_t n = 0; n < s.N; ++n) {
            double abs_sum = 0;
            for (int64_t k = 0; k < s.K; ++k)
              abs_sum += std::fabs(double(xf[size_t(m * s.K + k)]) * wf[size_t(n * s.K + k)]);
            const double tol = 2.0 * ((s.K + 3) * std::ldexp(abs_sum, -24) + std::ldexp(std::fabs(b[size_t(n)]), -23));
            const size_t i = size_t(m * s.N + n);
            ASSERT_NEAR(y[i], ref[i], tol) << name(kern) << " " << bits << " bits, shape " << s.M << "x" << s.N << "x"
                                           << s.K << " at " << m << "," << n;
          }
      }
    }
  }
  EXPECT_NE(int8_gemm_last_impl().find("brg"), std::string::npos) << int8_gemm_last_impl();
}

// A row holding a NaN or infinity comes out of the int8 linear as a NaN row, as in the fake-quant
// forward; the other rows are unaffected (scales bit-identical to the reference quantizer).
TEST(Int8Gemm, NonFiniteRowsBecomeNaNRows) {
  const int64_t M = 5, N = 20, K = 37;  // K not a multiple of 16: the masked tail is checked too
  std::vector<float> x = randn(M * K, 21);
  x[1 * K + 36] = std::numeric_limits<float>::quiet_NaN();  // in the tail
  x[3 * K + 4] = -std::numeric_limits<float>::infinity();
  const std::vector<float> w = randn(N * K, 22, 0.05f);
  const QuantizedWeight qw = QuantizedWeight::from_float(w.data(), N, K, 8);
  const QuantParams ref = compute_params(x.data(), M, K, row_spec(8));
  std::vector<int8_t> scratch;
  for (Int8Kernel kern : {Int8Kernel::s8s8, Int8Kernel::u8s8}) {
    std::vector<int8_t> xq(size_t(M * K));
    std::vector<float> sx(static_cast<size_t>(M)), y(static_cast<size_t>(M * N));
    quantize_rows_int8(x.data(), M, K, 1.0f, xq.data(), sx.data(), kern == Int8Kernel::u8s8);
    int8_gemm(kern, M, N, K, xq.data(), sx.data(), qw.codes(scratch), qw.scale().data(), nullptr, y.data());
    for (int64_t m = 0; m < M; ++m) {
      const bool bad = m == 1 || m == 3;
      EXPECT_EQ(std::isnan(sx[size_t(m)]), bad) << "row " << m;
      if (!bad) {
        EXPECT_EQ(sx[size_t(m)], ref.scale[size_t(m)]) << "row " << m;
      }
      for (int64_t n = 0; n < N; ++n) EXPECT_EQ(std::isnan(y[size_t(m * N + n)]), bad) << "row " << m << " col " << n;
    }
  }
}

TEST(Int8Gemm, NoBiasAndPrimitiveCache) {
  const int64_t M = 9, N = 10, K = 11;
  std::vector<float> x = randn(M * K, 1), w = randn(N * K, 2);
  const QuantizedWeight qw = QuantizedWeight::from_float(w.data(), N, K, 8);
  std::vector<int8_t> xq(size_t(M * K)), scratch;
  std::vector<float> sx(static_cast<size_t>(M)), y1(size_t(M * N)), y2(size_t(M * N));
  quantize_rows_int8(x.data(), M, K, 1.0f, xq.data(), sx.data(), false);
  int8_gemm(Int8Kernel::s8s8, M, N, K, xq.data(), sx.data(), qw.codes(scratch), qw.scale().data(), nullptr, y1.data());
  const int64_t created = int8_gemm_primitives_created();
  int8_gemm(Int8Kernel::s8s8, M, N, K, xq.data(), sx.data(), qw.codes(scratch), qw.scale().data(), nullptr, y2.data());
  EXPECT_EQ(int8_gemm_primitives_created(), created);  // second call reuses the primitive
  EXPECT_EQ(y1, y2);
  const std::vector<int32_t> acc = int_matmul(xq.data(), qw.codes(scratch), M, N, K);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n)
      EXPECT_FLOAT_EQ(y1[size_t(m * N + n)], float(acc[size_t(m * N + n)]) * qw.scale()[size_t(n)] * sx[size_t(m)]);
}

}  // namespace
}  // namespace nurture::quant
