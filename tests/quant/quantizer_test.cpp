// Worked examples for every quantizer and granularity. The inputs are chosen so the scales are
// exact powers of two, which makes the ties (x.5) real ties and the expected numbers exact.
#include "quant/quantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace nurture::quant {
namespace {

struct Quantized {
  QuantParams p;
  std::vector<int8_t> q;
  std::vector<float> back;
};

Quantized run(const std::vector<float>& x, int64_t rows, int64_t cols, const QuantSpec& spec) {
  Quantized r;
  r.p = compute_params(x.data(), rows, cols, spec);
  r.q.resize(x.size());
  r.back.resize(x.size());
  quantize(x.data(), r.p, r.q.data());
  dequantize(r.q.data(), r.p, r.back.data());
  return r;
}

TEST(Quantizer, Int8PerTensorRoundsHalfToEven) {
  // max|x| = 127 → scale 1, so q = rne(x): 2.5 → 2, 3.5 → 4, -1.5 → -2.
  const std::vector<float> x = {127, 2.5f, 3.5f, -1.5f};
  const Quantized r = run(x, 2, 2, {.bits = 8, .gran = Granularity::tensor});
  ASSERT_EQ(r.p.scale.size(), 1u);
  EXPECT_EQ(r.p.scale[0], 1.0f);
  EXPECT_EQ(r.q, (std::vector<int8_t>{127, 2, 4, -2}));
  EXPECT_EQ(r.back, (std::vector<float>{127, 2, 4, -2}));
  EXPECT_TRUE(r.p.zero.empty());
}

TEST(Quantizer, Int8PerRowHasOneScalePerRowAndZeroRowsStayZero) {
  // Row 0: max 254 → scale 2; 5/2 = 2.5 → 2, -3/2 = -1.5 → -2.
  // Row 1: all zero → scale 1, dequantizes to exactly 0.
  // Row 2: max 63.5 → scale 0.5; -1.25/0.5 = -2.5 → -2, 0.75/0.5 = 1.5 → 2.
  const std::vector<float> x = {254, 5, -3, 0, 0, 0, 63.5f, -1.25f, 0.75f};
  const Quantized r = run(x, 3, 3, {.bits = 8, .gran = Granularity::row});
  EXPECT_EQ(r.p.scale, (std::vector<float>{2.0f, 1.0f, 0.5f}));
  EXPECT_EQ(r.q, (std::vector<int8_t>{127, 2, -2, 0, 0, 0, 127, -2, 2}));
  EXPECT_EQ(r.back, (std::vector<float>{254, 4, -4, 0, 0, 0, 63.5f, -1, 1}));
}

TEST(Quantizer, Int4GroupWiseAlongRowsWithShortLastGroup) {
  // int4: qmax 7. Group 2 over 5 columns: groups [0,2) [2,4) [4,5).
  // Row 0: [7, 1.5] scale 1 → [7, 2]; [-14, 3] scale 2 → [-7, rne(1.5) = 2]; [3.5] scale 0.5 → [7].
  // Row 1: [-7, 0] scale 1 → [-7, 0]; then two all-zero groups with scale 1.
  const std::vector<float> x = {7, 1.5f, -14, 3, 3.5f, -7, 0, 0, 0, 0};
  const Quantized r = run(x, 2, 5, {.bits = 4, .gran = Granularity::group, .group = 2});
  EXPECT_EQ(r.p.groups_per_row(), 3);
  EXPECT_EQ(r.p.scale, (std::vector<float>{1, 2, 0.5f, 1, 1, 1}));
  EXPECT_EQ(r.p.index(0, 4), 2);
  EXPECT_EQ(r.p.index(1, 3), 4);
  EXPECT_EQ(r.q, (std::vector<int8_t>{7, 2, -7, 2, 7, -7, 0, 0, 0, 0}));
  EXPECT_EQ(r.back, (std::vector<float>{7, 2, -14, 4, 3.5f, -7, 0, 0, 0, 0}));
}

TEST(Quantizer, Int4PerRowSaturatesAtSeven) {
  // max 14 → scale 2; 13/2 = 6.5 → 6 (tie to even), -5/2 = -2.5 → -2.
  const std::vector<float> x = {14, 13, -5};
  const Quantized r = run(x, 1, 3, {.bits = 4, .gran = Granularity::row});
  EXPECT_EQ(r.p.scale, (std::vector<float>{2}));
  EXPECT_EQ(r.q, (std::vector<int8_t>{7, 6, -2}));
  EXPECT_EQ(r.back, (std::vector<float>{14, 12, -4}));
}

TEST(Quantizer, ClipRatioShrinksTheScaleAndSaturates) {
  // max|x| = 300 with clip 0.5: scale = 0.5 · 300 / 127.
  const std::vector<float> x = {254, 100, -20, -300};
  const Quantized r = run(x, 1, 4, {.bits = 8, .gran = Granularity::tensor, .clip = 0.5f});
  // max|x| = 254 with clip 0.5: scale = 0.5 · 254 / 127 = 1, and 254 saturates at 127.
  EXPECT_FLOAT_EQ(r.p.scale[0], 150.0f / 127.0f);
  const std::vector<float> y = {254, 100, -20};
  const Quantized s = run(y, 1, 3, {.bits = 8, .gran = Granularity::tensor, .clip = 0.5f});
  EXPECT_EQ(s.p.scale[0], 1.0f);
  EXPECT_EQ(s.q, (std::vector<int8_t>{127, 100, -20}));
  EXPECT_EQ(s.back, (std::vector<float>{127, 100, -20}));
}

TEST(Quantizer, AsymmetricInt8UsesAZeroPoint) {
  // lo = -10, hi = 245 → scale 255/255 = 1, zero = 10. u = x + 10 = [0, 15, 255];
  // stored q = u - 128 = [-128, -113, 127]; dequantized (q + 128 - 10) · 1 = x.
  const std::vector<float> x = {-10, 5, 245};
  const Quantized r = run(x, 1, 3, {.bits = 8, .symmetric = false, .gran = Granularity::tensor});
  EXPECT_EQ(r.p.scale, (std::vector<float>{1}));
  EXPECT_EQ(r.p.zero, (std::vector<int32_t>{10}));
  EXPECT_EQ(r.q, (std::vector<int8_t>{-128, -113, 127}));
  EXPECT_EQ(r.back, x);
}

TEST(Quantizer, AsymmetricInt4PerRow) {
  // Row [-3, 12, 4.5]: range 15 → scale 1, zero 3; u = [0, 15, rne(4.5) + 3 = 7]; q = u - 8.
  // Row [2, 32, 17]: lo is clamped to 0 (zero must be representable) → scale 32/15, zero 0.
  const std::vector<float> x = {-3, 12, 4.5f, 2, 32, 17};
  const Quantized r = run(x, 2, 3, {.bits = 4, .symmetric = false, .gran = Granularity::row});
  EXPECT_EQ(r.p.zero, (std::vector<int32_t>{3, 0}));
  EXPECT_EQ(r.p.scale[0], 1.0f);
  EXPECT_FLOAT_EQ(r.p.scale[1], 32.0f / 15.0f);
  EXPECT_EQ(r.q[0], -8);
  EXPECT_EQ(r.q[1], 7);
  EXPECT_EQ(r.q[2], -1);
  EXPECT_EQ(r.back[0], -3.0f);
  EXPECT_EQ(r.back[1], 12.0f);
  EXPECT_EQ(r.back[2], 4.0f);
  EXPECT_EQ(r.q[4], 7);                           // 32 → u 15
  EXPECT_FLOAT_EQ(r.back[4], 32.0f);              // the max maps back exactly (up to float)
  EXPECT_NEAR(r.back[5], 17.0f, 32.0f / 15 / 2);  // within half a step
}

TEST(Quantizer, FakeQuantMayAliasItsInput) {
  std::vector<float> x = {254, 5, -3, 63.5f, -1.25f, 0.75f};
  fake_quant(x.data(), 2, 3, {.bits = 8, .gran = Granularity::row}, x.data());
  EXPECT_EQ(x, (std::vector<float>{254, 4, -4, 63.5f, -1, 1}));
}

TEST(Quantizer, FakeQuantErrorIsAtMostHalfAStep) {
  std::vector<float> x(64 * 48);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7919) % 1000) / 97.0f - 5.0f;
  for (Granularity g : {Granularity::tensor, Granularity::row, Granularity::group}) {
    for (int bits : {4, 8}) {
      const QuantSpec spec{.bits = bits, .gran = g, .group = 16};
      const QuantParams p = compute_params(x.data(), 64, 48, spec);
      std::vector<float> y(x.size());
      fake_quant(x.data(), 64, 48, spec, y.data());
      for (int64_t r = 0; r < 64; ++r)
        for (int64_t c = 0; c < 48; ++c) {
          const float s = p.scale[size_t(p.index(r, c))];
          ASSERT_LE(std::abs(y[size_t(r * 48 + c)] - x[size_t(r * 48 + c)]), 0.5f * s * 1.0001f)
              << name(g) << " bits " << bits;
        }
    }
  }
}

TEST(Quantizer, PackInt4LayoutAndRoundTrip) {
  const std::vector<int8_t> q = {-8, 7, -1, 0, 3};
  const std::vector<uint8_t> packed = pack_int4(q.data(), 5);
  EXPECT_EQ(packed, (std::vector<uint8_t>{0x78, 0x0F, 0x03}));
  std::vector<int8_t> all;
  for (int v = -8; v <= 7; ++v) all.push_back(int8_t(v));
  for (int v = 7; v >= -8; --v) all.push_back(int8_t(v));
  all.push_back(-5);  // odd length
  const std::vector<uint8_t> p2 = pack_int4(all.data(), int64_t(all.size()));
  ASSERT_EQ(p2.size(), (all.size() + 1) / 2);
  std::vector<int8_t> back(all.size());
  unpack_int4(p2.data(), int64_t(all.size()), back.data());
  EXPECT_EQ(back, all);
}

TEST(Quantizer, StorageBytesCountCodesAndScales) {
  EXPECT_EQ(storage_bytes(4, 6, {.bits = 8, .gran = Granularity::row}), 24 + 4 * 4);
  EXPECT_EQ(storage_bytes(4, 6, {.bits = 8, .gran = Granularity::tensor}), 24 + 4);
  EXPECT_EQ(storage_bytes(4, 6, {.bits = 4, .gran = Granularity::group, .group = 4}), 12 + 8 * 4);
  EXPECT_EQ(storage_bytes(4, 6, {.bits = 4, .symmetric = false, .gran = Granularity::row}), 12 + 4 * 8);
}

// A NaN or infinity poisons only its own unit: that unit's scale is NaN, its codes 0 (no undefined
// float→int conversion) and it dequantizes to NaN; the other units are quantized as usual.
TEST(Quantizer, NonFiniteValuesMakeTheirUnitNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {1.0f, nan,   -2.0f, 0.5f,   // row 0: NaN
                                3.0f, 1.0f,  -inf,  2.0f,   // row 1: -inf
                                1.0f, -1.0f, 0.5f,  2.0f};  // row 2: finite
  for (bool symmetric : {true, false})
    for (Granularity gran : {Granularity::row, Granularity::group, Granularity::tensor}) {
      SCOPED_TRACE(std::string(symmetric ? "symmetric " : "asymmetric ") + name(gran));
      const QuantSpec spec{.bits = 8, .symmetric = symmetric, .gran = gran, .group = 2};
      const QuantParams p = compute_params(x.data(), 3, 4, spec);
      std::vector<int8_t> q(12, 99);
      quantize(x.data(), p, q.data());
      std::vector<float> out(12);
      dequantize(q.data(), p, out.data());
      for (int64_t i = 0; i < 12; ++i) {
        const int64_t u = p.index(i / 4, i % 4);
        const bool poisoned = std::isnan(p.scale[size_t(u)]);
        // The units holding a non-finite value: rows 0 and 1 (per row), group 0 of row 0 and
        // group 1 of row 1 (groups of 2), or the whole tensor.
        const bool expect = gran == Granularity::tensor ? true
                            : gran == Granularity::row  ? i < 8
                                                        : (i == 0 || i == 1 || i == 6 || i == 7);
        EXPECT_EQ(poisoned, expect) << "element " << i;
        if (poisoned) {
          EXPECT_TRUE(std::isnan(out[size_t(i)])) << "element " << i;
          if (symmetric) {
            EXPECT_EQ(q[size_t(i)], 0) << "element " << i;
          }
        } else {
          EXPECT_NEAR(out[size_t(i)], x[size_t(i)], 0.02f) << "element " << i;
        }
      }
    }
}

TEST(Quantizer, RejectsBadSpecs) {
  const float x[2] = {1, 2};
  EXPECT_THROW(compute_params(x, 1, 2, {.bits = 9}), std::invalid_argument);
  EXPECT_THROW(compute_params(x, 1, 2, {.bits = 8, .gran = Granularity::group, .group = 0}), std::invalid_argument);
  EXPECT_THROW(compute_params(x, 1, 2, {.bits = 8, .clip = 0.0f}), std::invalid_argument);
}


// Static per-tensor scales (calibrated absmax, not the tensor's own): absmax 31.75 at 8 bits is
// scale 31.75/127 = 0.25 exactly, so every code below is exact.
//   0.125 → 0.5 → rne 0 → 0;  0.375 → 1.5 → 2 → 0.5;  40 → 160 → saturates at 127 → 31.75;
//   −10.1 → −40.4 → −40 → −10;  NaN and −inf → NaN (an overflow stays visible)
TEST(Quantizer, StaticPerTensorScaleWorkedExample) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  QuantSpec spec;
  spec.gran = Granularity::tensor;
  EXPECT_EQ(static_scale(31.75f, spec), 0.25f);
  const std::vector<float> x = {0.125f, 0.375f, 40.0f, -10.1f, nan, -inf};
  std::vector<float> out(x.size());
  fake_quant_static(x.data(), int64_t(x.size()), 31.75f, spec, out.data());
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.5f);
  EXPECT_EQ(out[2], 31.75f);
  EXPECT_EQ(out[3], -10.0f);
  EXPECT_TRUE(std::isnan(out[4]));
  EXPECT_TRUE(std::isnan(out[5]));
  std::vector<int8_t> q(4);
  quantize_static(x.data(), 4, 0.25f, spec, q.data());
  EXPECT_EQ(q, (std::vector<int8_t>{0, 2, 127, -40}));
  // 4 bits: qmax 7, absmax 1.75 → scale 0.25; 5 saturates at 1.75.
  spec.bits = 4;
  const float five = 5.0f;
  float y = 0;
  fake_quant_static(&five, 1, 1.75f, spec, &y);
  EXPECT_EQ(y, 1.75f);
  EXPECT_EQ(static_scale(0.0f, spec), 1.0f);                  // an all-zero calibration
  EXPECT_TRUE(std::isnan(static_scale(inf, spec)));           // an overflowed calibration
  fake_quant_static(&five, 1, nan, spec, &y);
  EXPECT_TRUE(std::isnan(y));
}

}  // namespace
}  // namespace nurture::quant
