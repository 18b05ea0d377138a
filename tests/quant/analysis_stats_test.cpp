// The activation and weight statistics of `nurture analyze` on inputs small enough to work out
// by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "quant/analysis_stats.h"

using namespace nurture::quant;

namespace {

// Token 0 = [1, -1, 1, -1]: mean 0, std 1, and int8 per-token quantization is exact (scale
// 1/127, every value ±127 steps). Token 1 = [0, 2, 4, 6]: mean 3, std √5, scale 6/127, so 2
// and 4 land on 42 and 85 steps (252/127 and 510/127), each off by 2/127; 0 and 6 are exact.
// RMSE = √((2·(2/127)²) / 8) = 1/127.
const std::vector<float> kX = {1, -1, 1, -1, 0, 2, 4, 6};

}  // namespace

TEST(InputStats, HandMadeActivations) {
  InputStatsAccumulator acc;
  acc.add(kX.data(), 2, 4);
  const InputStats s = acc.result();
  EXPECT_EQ(s.tokens, 2);
  EXPECT_NEAR(s.rmse_int8, 1.0 / 127.0, 1e-7);
  EXPECT_NEAR(s.token_std, (1.0 + std::sqrt(5.0)) / 2.0, 1e-12);
  EXPECT_EQ(s.max_abs, 6.0);
}

TEST(InputStats, BatchesAccumulateLikeOnePass) {
  InputStatsAccumulator one, two;
  one.add(kX.data(), 2, 4);
  two.add(kX.data(), 1, 4);
  two.add(kX.data() + 4, 1, 4);
  EXPECT_DOUBLE_EQ(one.result().rmse_int8, two.result().rmse_int8);
  EXPECT_DOUBLE_EQ(one.result().token_std, two.result().token_std);
  EXPECT_DOUBLE_EQ(one.result().max_abs, two.result().max_abs);
}

TEST(InputStats, IntegerTokensWithMax127QuantizeExactly) {
  // Every token holds 127 as its max, so the scale is 1 and integers are representable: RMSE 0.
  std::vector<float> x = {127, -3, 5, 0, -127, 64, 1, 2};
  InputStatsAccumulator acc;
  acc.add(x.data(), 2, 4);
  EXPECT_EQ(acc.result().rmse_int8, 0.0);
  EXPECT_EQ(acc.result().max_abs, 127.0);
}

TEST(InputStats, AnOutlierFeatureRaisesTheErrorOfEveryOtherFeature) {
  // Per-token absmax: one large feature coarsens the grid of the whole token (the reason
  // outlier dimensions hurt W8A8).
  std::vector<float> calm(64), spiky(64);
  for (int j = 0; j < 64; ++j) calm[j] = spiky[j] = 0.37f * float((j * 7) % 13) - 2.1f;
  spiky[5] = 60.0f;
  InputStatsAccumulator a, b;
  a.add(calm.data(), 1, 64);
  b.add(spiky.data(), 1, 64);
  EXPECT_GT(b.result().rmse_int8, 10 * a.result().rmse_int8);
}

TEST(InputStats, EmptyIsZero) {
  InputStatsAccumulator acc;
  const InputStats s = acc.result();
  EXPECT_EQ(s.tokens, 0);
  EXPECT_EQ(s.rmse_int8, 0.0);
}

TEST(ValueStats, MeanStdMax) {
  const std::vector<float> g = {1, 2, 3, -4};
  const ValueStats v = value_stats(g.data(), 4);
  EXPECT_DOUBLE_EQ(v.mean, 0.5);
  EXPECT_DOUBLE_EQ(v.std, std::sqrt((0.25 + 2.25 + 6.25 + 20.25) / 4.0));
  EXPECT_EQ(v.max_abs, 4.0);
  const std::vector<float> ones(8, 1.0f);
  EXPECT_EQ(value_stats(ones.data(), 8).std, 0.0);  // an untrained LayerNorm gain
}

TEST(Histogram, CountsEveryValueOnce) {
  const std::vector<float> x = {-1, -0.5f, 0, 0.25f, 0.5f, 1};
  const Histogram h = histogram(x.data(), int64_t(x.size()), 4, true);
  ASSERT_EQ(h.edges.size(), 5u);
  EXPECT_EQ(h.edges.front(), -1.0);
  EXPECT_EQ(h.edges.back(), 1.0);
  // Bins [-1,-0.5) [-0.5,0) [0,0.5) [0.5,1]: the right edge belongs to the last bin.
  EXPECT_EQ(h.counts, (std::vector<int64_t>{1, 1, 2, 2}));
  const Histogram asym = histogram(x.data(), int64_t(x.size()), 2, 0.0, 1.0);
  EXPECT_EQ(asym.counts, (std::vector<int64_t>{4, 2}));  // below-range values land in the first bin
}

TEST(Histogram, ConstantTensorGetsAUnitWideRange) {
  const std::vector<float> ones(10, 1.0f);
  const Histogram h = histogram(ones.data(), 10, 4, false);
  EXPECT_EQ(h.edges.front(), 0.5);
  EXPECT_EQ(h.edges.back(), 1.5);
  EXPECT_EQ(h.counts, (std::vector<int64_t>{0, 0, 10, 0}));
}
