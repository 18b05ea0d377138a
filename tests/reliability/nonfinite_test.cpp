// fp32 divergence names the step, the loss and the first value that went non-finite
// (train/nonfinite.h); the fp16 side (loss scaler skips, collapsing scale) is in tests/e2e.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "config/config.h"
#include "reliability_support.h"
#include "train/nonfinite.h"
#include "train/trainer.h"

namespace nurture::test {
namespace {

model::ParamStore small_store() {
  model::ParamStore P;
  P.add("wte", {4, 3}, true);
  P.add("h.0.attn.c_attn.weight", {6, 3}, true);
  P.add("h.0.attn.c_attn.bias", {6}, false);
  P.finalize();
  return P;
}

TEST(NonFinite, FirstValueInParameterOrderWithItsIndexAndCount) {
  model::ParamStore P = small_store();
  EXPECT_FALSE(train::first_nonfinite(P, P.master()));
  const auto& w = P.info(1);
  P.master()[w.offset + 2 * 3 + 1] = std::numeric_limits<float>::quiet_NaN();  // [2, 1]
  P.master()[P.info(2).offset + 5] = -std::numeric_limits<float>::infinity();
  const auto v = train::first_nonfinite(P, P.master());
  ASSERT_TRUE(v);
  EXPECT_EQ(train::to_string(*v), "h.0.attn.c_attn.weight[2, 1] = nan");
  EXPECT_EQ(v->count, 2);
  EXPECT_EQ(
      train::describe_nonfinite(P).rfind("first non-finite parameter: h.0.attn.c_attn.weight[2, 1] = nan (2 of ", 0),
      0u)
      << train::describe_nonfinite(P);
}

TEST(NonFinite, GradientsAreNamedWhenParametersAreFinite) {
  model::ParamStore P = small_store();
  P.grad()[P.info(2).offset + 4] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(train::describe_nonfinite(P).rfind(
                "parameters finite; first non-finite gradient: h.0.attn.c_attn.bias[4] = inf (1 of ", 0),
            0u)
      << train::describe_nonfinite(P);
  P.grad()[P.info(2).offset + 4] = 0;
  P.master()[P.info(0).offset + 7] = -3e20f;
  EXPECT_EQ(train::describe_nonfinite(P), "parameters and gradients finite (largest |parameter| 3e+20 in wte)");
}

// lr 1e3 without clipping: the weights grow to ~1e15 within a few steps, attention scores
// overflow and the loss turns nan. The error is one line with the step, the loss and what
// went non-finite first.
TEST(NonFinite, Fp32DivergenceStopsNamingStepLossAndFirstNonFiniteValue) {
  const TempDir root("diverge");
  const std::string src = NURTURE_SOURCE_DIR;
  config::Config cfg =
      config::load_config(src + "/configs/tiny.yaml",
                          {"output.dir=" + (root / "run").string(), "data.cache_dir=" + (root / "cache").string(),
                           "data.corpus=" + src + "/datasets/tinyshakespeare", "train.eval_every=0", "optim.lr=1000",
                           "optim.min_lr=0", "optim.warmup_steps=0", "optim.grad_clip=null", "train.steps=30"});
  std::ostringstream log;
  train::Trainer t(cfg, log);
  t.setup(false);
  std::string err;
  try {
    t.run();
  } catch (const std::runtime_error& e) {
    err = e.what();
  }
  ASSERT_FALSE(err.empty()) << "lr 1e3 must diverge within 30 steps";
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  const std::string step = "at step " + std::to_string(t.steps_done() + 1);
  EXPECT_NE(err.find(step), std::string::npos) << err;
  EXPECT_TRUE(err.rfind("loss is ", 0) == 0 || err.rfind("gradient norm is ", 0) == 0) << err;
  EXPECT_NE(err.find("first non-finite"), std::string::npos) << err;
  EXPECT_NE(err.find("lower optim.lr"), std::string::npos) << err;
  std::cout << "fp32 divergence message: " << err << "\n";
}

}  // namespace
}  // namespace nurture::test
