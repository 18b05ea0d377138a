#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/rng.h"
#include "model/gpt.h"
#include "optim/adamw.h"
#include "tests/support/support.h"

using namespace nurture;

namespace {
model::GPTConfig tiny_config() {
  model::GPTConfig c;
  c.vocab_size = 32;
  c.d_model = 32;
  c.n_layer = 2;
  c.n_head = 4;
  c.seq_len = 16;
  return c;
}

using test::random_tokens;

// One full-batch training step; returns the loss.
float train_step(model::GPT& gpt, optim::AdamW& opt, const std::vector<int32_t>& x, const std::vector<int32_t>& y,
                 int B, int T, double lr, uint64_t key) {
  core::Arena a, g;
  core::Tape tape;
  core::Ctx ctx(a, g, &tape);
  ctx.training = true;
  gpt.params().zero_grad();
  core::Tensor logits = gpt.forward(ctx, x.data(), B, T, key);
  core::Tensor loss = core::cross_entropy(ctx, logits, y.data());
  loss.grad[0] = 1.0f;
  tape.backward(ctx.prec);
  opt.step(lr);
  return loss.data[0];
}
}  // namespace

TEST(GPT, ParameterNamesAndShapesFollowNanoGPT) {
  model::GPT gpt(tiny_config());
  const auto& P = gpt.params();
  EXPECT_EQ(P.info(P.find("wte")).shape, (core::Shape{32, 32}));
  EXPECT_EQ(P.info(P.find("wpe")).shape, (core::Shape{16, 32}));
  EXPECT_EQ(P.info(P.find("h.1.attn.c_attn.weight")).shape, (core::Shape{96, 32}));
  EXPECT_EQ(P.info(P.find("h.0.mlp.c_fc.weight")).shape, (core::Shape{128, 32}));
  EXPECT_EQ(P.info(P.find("h.0.mlp.c_proj.weight")).shape, (core::Shape{32, 128}));
  EXPECT_EQ(P.info(P.find("lm_head.weight")).shape, (core::Shape{32, 32}));
  EXPECT_GE(P.find("ln_f.bias"), 0);
  EXPECT_FALSE(P.info(P.find("h.0.ln_1.weight")).decay);
  EXPECT_FALSE(P.info(P.find("h.0.attn.c_attn.bias")).decay);
  EXPECT_TRUE(P.info(P.find("h.0.attn.c_attn.weight")).decay);
  EXPECT_TRUE(P.info(P.find("h.0.attn.c_attn.weight")).quantizable);
  EXPECT_FALSE(P.info(P.find("lm_head.weight")).quantizable);
  // 12·L·d² + biases + LN + embeddings + head for L=2, d=32, V=32, T=16.
  const int64_t d = 32, L = 2;
  const int64_t expect = 32 * d + 16 * d + L * (12 * d * d + 13 * d) + 2 * d + 32 * d;
  EXPECT_EQ(gpt.num_params(), expect);
}

TEST(GPT, NoBiasAndPositionVariants) {
  auto c = tiny_config();
  c.bias = false;
  c.pos = model::PosEmbedding::alibi;
  model::GPT gpt(c);
  EXPECT_EQ(gpt.params().find("wpe"), -1);
  EXPECT_EQ(gpt.params().find("h.0.attn.c_attn.bias"), -1);
  c.pos = model::PosEmbedding::sinusoidal;
  model::GPT s(c);
  s.init(1);
  core::Arena a, g;
  core::Ctx ctx(a, g, nullptr);
  auto ids = random_tokens(16, 32, 3);
  core::Tensor logits = s.forward(ctx, ids.data(), 1, 16);
  for (int64_t i = 0; i < logits.numel(); ++i) ASSERT_TRUE(std::isfinite(logits.data[i]));
}

TEST(GPT, InitStatistics) {
  auto c = tiny_config();
  c.d_model = 64;
  c.n_layer = 8;
  model::GPT gpt(c);
  gpt.init(42);
  auto stdev = [&](const std::string& n) {
    int i = gpt.params().find(n);
    const float* w = gpt.params().master(i);
    const int64_t k = gpt.params().info(i).numel();
    double s = 0, s2 = 0;
    for (int64_t j = 0; j < k; ++j) s += w[j], s2 += double(w[j]) * w[j];
    return std::sqrt(s2 / k - (s / k) * (s / k));
  };
  EXPECT_NEAR(stdev("h.0.mlp.c_fc.weight"), 0.02, 0.002);
  EXPECT_NEAR(stdev("h.3.mlp.c_proj.weight"), 0.02 / std::sqrt(16.0), 0.0005);
  EXPECT_NEAR(stdev("h.3.attn.c_proj.weight"), 0.02 / std::sqrt(16.0), 0.0005);
  EXPECT_EQ(gpt.params().master(gpt.params().find("ln_f.weight"))[5], 1.0f);
  EXPECT_EQ(gpt.params().master(gpt.params().find("h.0.attn.c_attn.bias"))[5], 0.0f);
}

TEST(GPT, InitialLossIsLogVocab) {
  model::GPT gpt(tiny_config());
  gpt.init(1);
  auto x = random_tokens(4 * 16, 32, 5), y = random_tokens(4 * 16, 32, 6);
  core::Arena a, g;
  core::Ctx ctx(a, g, nullptr);
  core::Tensor logits = gpt.forward(ctx, x.data(), 4, 16);
  core::Tensor loss = core::cross_entropy(ctx, logits, y.data());
  EXPECT_NEAR(loss.data[0], std::log(32.0), 0.05);
}

TEST(GPT, OverfitsOneBatch) {
  auto c = tiny_config();
  c.dropout = 0.0f;
  model::GPT gpt(c);
  gpt.init(7);
  optim::AdamW opt(gpt.params(), {0.9, 0.99, 1e-8, 0.0});
  const int B = 4, T = 16;
  auto x = random_tokens(B * T, 32, 8), y = random_tokens(B * T, 32, 9);
  float first = 0, last = 0;
  for (int s = 0; s < 200; ++s) {
    last = train_step(gpt, opt, x, y, B, T, 3e-3, s);
    if (s == 0) first = last;
  }
  EXPECT_GT(first, 3.0f);
  EXPECT_LT(last, 0.05f) << "a 2-layer model must memorise 64 random tokens";
}

TEST(GPT, TrainingIsBitDeterministicWithDropout) {
  auto run = [] {
    auto c = tiny_config();
    c.dropout = 0.1f;
    model::GPT gpt(c);
    gpt.init(11);
    optim::AdamW opt(gpt.params(), {});
    auto x = random_tokens(64, 32, 1), y = random_tokens(64, 32, 2);
    for (int s = 0; s < 5; ++s) train_step(gpt, opt, x, y, 4, 16, 1e-3, s);
    return std::vector<float>(gpt.params().master(), gpt.params().master() + gpt.params().numel());
  };
  auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

TEST(GPT, TapeFreeForwardKeepsOneBlockOfActivationsAndTheSameBits) {
  // Without a tape, run_blocks drops each block's intermediates (Arena::mark / rewind): the logits
  // are the bits of the taped forward, and the activation arena's high water does not grow with
  // the number of blocks.
  auto high_water = [](int layers, std::vector<float>* logits_out) {
    model::GPTConfig c = tiny_config();
    c.n_layer = layers;
    model::GPT gpt(c);
    gpt.init(3);
    const std::vector<int32_t> x = random_tokens(2 * 16, c.vocab_size, 5);
    core::Arena a, g, ta, tg;
    core::Ctx ctx(a, g, nullptr);
    const core::Tensor logits = gpt.forward(ctx, x.data(), 2, 16);
    core::Tape tape;
    core::Ctx taped(ta, tg, &tape);
    const core::Tensor ref = gpt.forward(taped, x.data(), 2, 16);
    EXPECT_EQ(0, std::memcmp(logits.data, ref.data, size_t(logits.numel()) * sizeof(float))) << layers;
    if (logits_out) logits_out->assign(logits.data, logits.data + logits.numel());
    EXPECT_LT(a.high_water_floats(), ta.high_water_floats()) << layers;
    return a.high_water_floats();
  };
  EXPECT_EQ(high_water(2, nullptr), high_water(8, nullptr));
  EXPECT_GT(model::GPT(tiny_config()).inference_tokens(), 0);
  EXPECT_EQ(model::GPT(tiny_config()).inference_tokens(32 + 18 * 32), 1);  // one token's worth
  EXPECT_EQ(model::GPT(tiny_config()).inference_tokens(1), 1);             // never 0
}

TEST(GPT, InferenceModelHasNoGradientBuffer) {
  model::GPTConfig c = tiny_config();
  c.gradients = false;
  model::GPT gpt(c);
  EXPECT_EQ(gpt.params().tensor(0).grad, nullptr);
  EXPECT_NE(model::GPT(tiny_config()).params().tensor(0).grad, nullptr);
}
