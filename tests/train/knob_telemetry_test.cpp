// Knob telemetry pieces computed by hand: kurtosis, weight norms by kind, LayerNorm gain spread,
// and the residual-stream observer.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "train/knob_telemetry.h"

namespace nurture::train {
namespace {

TEST(KnobTelemetry, KurtosisByHand) {
  const std::vector<float> pm1 = {1, -1, 1, -1};  // m2 = 1, m4 = 1
  EXPECT_DOUBLE_EQ(kurtosis(pm1.data(), 4), 1.0);
  // mean 1, deviations −1, −1, −1, 3: m2 = 12/4 = 3, m4 = 84/4 = 21, 21/9.
  const std::vector<float> spike = {0, 0, 0, 4};
  EXPECT_DOUBLE_EQ(kurtosis(spike.data(), 4), 21.0 / 9.0);
  // One outlier in 8 channels: mean 1, m2 = (7 + 49)/8 = 7, m4 = (7 + 2401)/8 = 301, 301/49.
  const std::vector<float> outlier = {0, 0, 0, 0, 0, 0, 0, 8};
  EXPECT_DOUBLE_EQ(kurtosis(outlier.data(), 8), 301.0 / 49.0);
  const std::vector<float> flat = {2, 2, 2};
  EXPECT_EQ(kurtosis(flat.data(), 3), 0.0);
}

model::GPTConfig tiny_gpt(bool bias) {
  model::GPTConfig g;
  g.vocab_size = 10;
  g.d_model = 4;
  g.n_layer = 2;
  g.n_head = 2;
  g.seq_len = 3;
  g.bias = bias;
  return g;
}

// Every parameter set to 1: each kind's norm is √(its element count).
TEST(KnobTelemetry, WeightNormsByKind) {
  for (bool bias : {true, false}) {
    model::GPT gpt(tiny_gpt(bias));
    auto& P = gpt.params();
    for (size_t i = 0; i < P.infos().size(); ++i) {
      float* p = P.master(int(i));
      for (int64_t j = 0; j < P.info(int(i)).shape.numel(); ++j) p[j] = 1.0f;
    }
    const WeightStats s = weight_stats(gpt);
    const double C = 4, V = 10, T = 3, L = 2;
    const double matrix = L * (3 * C * C + C * C + 4 * C * C + 4 * C * C) + V * C;  // blocks + lm_head
    const double embedding = V * C + T * C;
    const double ln_gain = (2 * L + 1) * C;
    const double biases = bias ? L * (C + 3 * C + C + C + 4 * C + C) + C : 0;  // ln_1, attn, proj, ln_2, fc, proj; ln_f
    EXPECT_DOUBLE_EQ(s.matrix, std::sqrt(matrix)) << bias;
    EXPECT_DOUBLE_EQ(s.embedding, std::sqrt(embedding));
    EXPECT_DOUBLE_EQ(s.ln_gain, std::sqrt(ln_gain));
    EXPECT_DOUBLE_EQ(s.bias, std::sqrt(biases));
    EXPECT_DOUBLE_EQ(s.all, std::sqrt(matrix + embedding + ln_gain + biases));
    EXPECT_EQ(s.ln1_gain_std, std::vector<double>({0.0, 0.0}));
  }
}

// Population std: gains {1, 3, 1, 3} have mean 2 and std 1.
TEST(KnobTelemetry, LayerNormGainStdPerBlock) {
  model::GPT gpt(tiny_gpt(true));
  gpt.init(1);
  float* g = gpt.params().master(gpt.blocks()[1].ln_2_w);
  g[0] = 1, g[1] = 3, g[2] = 1, g[3] = 3;
  const WeightStats s = weight_stats(gpt);
  EXPECT_EQ(s.ln1_gain_std, std::vector<double>({0.0, 0.0}));  // GPT-2 init: gains 1
  EXPECT_EQ(s.ln2_gain_std, std::vector<double>({0.0, 1.0}));
}

TEST(KnobTelemetry, ResidualStatsPerBlock) {
  ResidualStats r;
  // Two tokens of 4 channels after block 1: max |x| 5; kurtosis 1 (±1) and 1 (±5), mean 1.
  std::vector<float> x = {1, -1, 1, -1, 5, -5, 5, -5};
  core::Tensor t;
  t.data = x.data();
  t.shape = core::Shape({1, 2, 4});
  r.residual(-1, t);  // the embeddings: ignored
  r.residual(1, t);
  ASSERT_EQ(r.max_abs().size(), 2u);
  EXPECT_EQ(r.max_abs()[0], 0.0);  // block 0 not seen
  EXPECT_EQ(r.max_abs()[1], 5.0);
  EXPECT_DOUBLE_EQ(r.kurtosis()[1], 1.0);
  // One token {0,0,0,4} (21/9) and one {1,-1,1,-1} (1): mean (21/9 + 1)/2.
  std::vector<float> y = {0, 0, 0, 4, 1, -1, 1, -1};
  t.data = y.data();
  r.residual(0, t);
  EXPECT_DOUBLE_EQ(r.kurtosis()[0], (21.0 / 9.0 + 1.0) / 2.0);
  EXPECT_EQ(r.max_abs()[0], 4.0);
}

}  // namespace
}  // namespace nurture::train
