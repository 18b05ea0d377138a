// The three outlier-dimension rules on a planted activation set where the flagged dimensions
// are known in advance (see quant/analysis_outliers.h for how the rules are read).
#include <gtest/gtest.h>

#include <vector>

#include "quant/analysis_outliers.h"

using namespace nurture::quant;

namespace {

constexpr int kLayers = 5;
constexpr int64_t kPositions = 100, kDim = 64;

// Background: ±0.5 alternating (per-token mean ≈ 0, std ≈ 0.5, so the adaptive threshold is
// about 2 and nothing fires). Planted, with disjoint positions so rows do not interact:
//   dim 3:  7.0 in layers 0-1 (40%) at positions 0-5 (6%, exactly the minimum) -> all rules
//   dim 10: 7.0 in every layer at positions 10-14 (5% < 6%)                   -> no rule
//   dim 20: 7.0 in layer 2 only (20% < 25%) at positions 20-49                -> no rule
//   dim 30: 5.0 (between 4.2 and 6) in every layer at positions 50-69         -> fixed, adaptive
//   dim 40: -6.0 (magnitude exactly 6) in every layer at positions 70-79      -> all rules
//   dim 50: 1.0 in rows whose other features are ±0.01, every layer, positions 80-89
//           (small for a fixed threshold, 8σ above its token's mean)        -> adaptive only
std::vector<float> layer_input(int layer) {
  std::vector<float> x(static_cast<size_t>(kPositions * kDim));
  for (int64_t t = 0; t < kPositions; ++t)
    for (int64_t j = 0; j < kDim; ++j) {
      const float base = (t + j) % 2 ? 0.5f : -0.5f;
      x[size_t(t * kDim + j)] = (t >= 80 && t < 90) ? base * 0.02f : base;
    }
  auto put = [&](int64_t t0, int64_t t1, int64_t j, float v) {
    for (int64_t t = t0; t < t1; ++t) x[size_t(t * kDim + j)] = v;
  };
  if (layer <= 1) put(0, 6, 3, 7.0f);
  put(10, 15, 10, 7.0f);
  if (layer == 2) put(20, 50, 20, 7.0f);
  put(50, 70, 30, 5.0f);
  put(70, 80, 40, -6.0f);
  put(80, 90, 50, 1.0f);
  return x;
}

OutlierResult run(OutlierRule rule) {
  OutlierCounter c(default_criteria(rule), kLayers, kPositions, kDim);
  for (int l = 0; l < kLayers; ++l) {
    const std::vector<float> x = layer_input(l);
    // Two batches, as calibration delivers them: positions are global.
    c.add(l, 0, x.data(), 50);
    c.add(l, 50, x.data() + 50 * kDim, 50);
  }
  return c.result();
}

std::vector<int> dims(const OutlierResult& r) {
  std::vector<int> d;
  for (const OutlierDim& x : r.dims) d.push_back(x.dim);
  return d;
}

}  // namespace

TEST(Outliers, LlmInt8RuleNeedsMagnitudeSixInAQuarterOfLayersAndSixPercentOfTokens) {
  const OutlierResult r = run(OutlierRule::llm_int8);
  EXPECT_EQ(dims(r), (std::vector<int>{3, 40}));
  ASSERT_EQ(r.dims.size(), 2u);
  EXPECT_DOUBLE_EQ(r.dims[0].pct_layers, 40.0);
  EXPECT_DOUBLE_EQ(r.dims[0].pct_tokens, 6.0);
  EXPECT_DOUBLE_EQ(r.dims[1].pct_layers, 100.0);
  EXPECT_DOUBLE_EQ(r.dims[1].pct_tokens, 10.0);
  // Table 5's columns: averages over the outlier dimensions.
  EXPECT_DOUBLE_EQ(r.pct_layers, 70.0);
  EXPECT_DOUBLE_EQ(r.pct_sequences, 8.0);
  // Dims 3, 10, 20 and 40 reach 6.0 somewhere; 10 and 20 fail the spread criteria.
  EXPECT_EQ(r.candidates, 4);
}

TEST(Outliers, FixedRuleUsesTheLowerThreshold) {
  const OutlierResult r = run(OutlierRule::fixed);
  EXPECT_EQ(dims(r), (std::vector<int>{3, 30, 40}));
  EXPECT_EQ(r.candidates, 5);
}

TEST(Outliers, AdaptiveRuleIsRelativeToEachToken) {
  const OutlierResult r = run(OutlierRule::adaptive);
  EXPECT_EQ(dims(r), (std::vector<int>{3, 30, 40, 50}));
}

TEST(Outliers, NoOutliersGivesZeroColumns) {
  OutlierCounter c(default_criteria(OutlierRule::llm_int8), 2, 4, 3);
  const std::vector<float> x(12, 1.0f);
  c.add(0, 0, x.data(), 4);
  c.add(1, 0, x.data(), 4);
  const OutlierResult r = c.result();
  EXPECT_TRUE(r.dims.empty());
  EXPECT_EQ(r.pct_sequences, 0.0);
  EXPECT_EQ(r.pct_layers, 0.0);
  EXPECT_EQ(r.candidates, 0);
}

TEST(Outliers, RejectsPositionsOutsideTheCalibrationSet) {
  OutlierCounter c(default_criteria(OutlierRule::fixed), 2, 4, 3);
  const std::vector<float> x(6, 0.0f);
  EXPECT_THROW(c.add(0, 3, x.data(), 2), std::out_of_range);
  EXPECT_THROW(c.add(2, 0, x.data(), 2), std::out_of_range);
}
