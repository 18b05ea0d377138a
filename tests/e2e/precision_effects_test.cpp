// The effects of mixed precision the framework must make visible (issue: mixed precision),
// each on a model small enough to train in seconds.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "e2e_support.h"
#include "nlohmann/json.hpp"

using namespace nurture;
using test::TempDir;
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

namespace {
std::vector<nlohmann::json> step_records(const fs::path& run) {
  std::ifstream in(run / "metrics.jsonl");
  std::vector<nlohmann::json> r;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) r.push_back(j);
  }
  return r;
}
}  // namespace

// A 4096-token vocabulary over 4096 tokens per batch puts the logit gradients of unlikely
// tokens at p/N ≈ 2^-24 — fp16's smallest subnormal — and below, more so as the softmax
// sharpens. Without loss scaling they flush to zero; with dynamic scaling they survive.
TEST(PrecisionEffects, Fp16UnderflowWithoutLossScalingAndItsCure) {
  const TempDir root("underflow");
  std::ostringstream log;
  Strings shape = {"model.vocab_size=4096", "model.d_model=32", "model.n_layer=1", "model.n_head=2",
                   "train.batch_size=64", "train.steps=60", "optim.lr=3e-3"};
  auto run = [&](const std::string& name, Strings extra) {
    Strings ov = shape;
    ov.insert(ov.end(), extra.begin(), extra.end());
    train::Trainer t(test::tiny_config(root / name, ov), log);
    t.setup(false);
    t.run();
    return t.validation_loss();
  };
  const double fp32 = run("fp32", {});
  const double none = run("none", {"precision.dtype=fp16", "precision.loss_scale=none"});
  const double dynamic = run("dynamic", {"precision.dtype=fp16", "precision.loss_scale=dynamic"});

  auto late_underflow = [&](const std::string& name) {
    auto r = step_records(root / name);
    double s = 0;
    for (size_t i = r.size() - 20; i < r.size(); ++i) s += r[i]["act_grad_underflow"].get<double>();
    return s / 20;
  };
  EXPECT_GT(late_underflow("none"), 0.2) << "most tiny logit gradients must flush to zero in fp16";
  EXPECT_LT(late_underflow("dynamic"), 0.01);
  EXPECT_GT(none - fp32, 0.02) << "losing those gradients must slow learning: fp32 " << fp32 << ", none " << none;
  EXPECT_LT(std::abs(dynamic - fp32), 0.015) << "dynamic scaling must track fp32: fp32 " << fp32 << ", dynamic "
                                             << dynamic;
}

// bf16 has 8 significant bits: a weight of 0.02 moves in steps of 2^-13 ≈ 1.2e-4, so an
// Adam update of ~lr = 5e-6 rounds away unless an fp32 master copy accumulates it.
TEST(PrecisionEffects, HalfMasterWeightsStallWhereFp32MastersLearn) {
  const TempDir root("master");
  std::ostringstream log;
  auto run = [&](const std::string& mw, double* changed) {
    train::Trainer t(test::tiny_config(root / mw, {"precision.dtype=bf16", "precision.master_weights=" + mw,
                                                   "optim.lr=5e-6", "optim.min_lr=0", "optim.schedule=constant",
                                                   "optim.warmup_steps=0", "train.steps=30"}),
                     log);
    t.setup(false);
    const auto before = test::master_weights(t);
    const double v0 = t.validation_loss();
    t.run();
    const auto after = test::master_weights(t);
    int64_t n = 0;
    for (size_t i = 0; i < before.size(); ++i) n += before[i] != after[i];
    *changed = double(n) / double(before.size());
    return v0 - t.validation_loss();
  };
  double changed_half = 0, changed_fp32 = 0;
  const double gain_half = run("half", &changed_half);
  const double gain_fp32 = run("fp32", &changed_fp32);
  EXPECT_LT(changed_half, 0.2) << "most bf16 master weights must not move at all";
  EXPECT_GT(changed_fp32, 0.9);
  EXPECT_GT(gain_fp32, 3 * std::max(gain_half, 1e-4)) << "fp32 gain " << gain_fp32 << ", half gain " << gain_half;
}

TEST(PrecisionEffects, InjectedOverflowSkipsExactlyThatStepAndHalvesTheScale) {
  const TempDir root("overflow");
  std::ostringstream log;
  train::Trainer t(test::tiny_config(root / "run", {"precision.dtype=fp16", "precision.init_scale=1024",
                                                    "train.steps=8"}),
                   log);
  t.setup(false);
  t.inject_gradient_overflow(4);
  std::vector<float> before_4;
  for (int s = 1; s <= 8; ++s) {
    if (s == 4) before_4 = test::master_weights(t);
    train::StepResult r = t.step();
    EXPECT_EQ(r.skipped, s == 4) << "step " << s;
    EXPECT_EQ(r.loss_scale, s <= 4 ? 1024.0f : 512.0f) << "scale used at step " << s;
    if (s == 4) {
      EXPECT_TRUE(test::bit_equal(before_4, test::master_weights(t))) << "a skipped step changes nothing";
    }
    if (s == 5) {
      EXPECT_FALSE(test::bit_equal(before_4, test::master_weights(t))) << "training resumes";
    }
  }
  EXPECT_EQ(t.scaler().skipped_steps(), 1);
  EXPECT_EQ(t.scaler().scale(), 512.0f);
}

TEST(PrecisionEffects, CollapsingLossScaleIsAClearError) {
  const TempDir root("collapse");
  std::ostringstream log;
  train::Trainer t(test::tiny_config(root / "run", {"precision.dtype=fp16", "precision.init_scale=1",
                                                    "precision.min_scale=0.25"}),
                   log);
  t.setup(false);
  for (int s = 1; s <= 2; ++s) {
    t.inject_gradient_overflow(s);
    t.step();  // 1 → 0.5 → 0.25
  }
  t.inject_gradient_overflow(3);
  try {
    t.step();
    FAIL() << "a scale below min_scale must stop training";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("loss scale fell to 0.125"), std::string::npos) << e.what();
  }
}

TEST(PrecisionEffects, NonFiniteFp32LossStopsWithTheStep) {
  const TempDir root("diverge");
  std::ostringstream log;
  train::Trainer t(test::tiny_config(root / "run", {"optim.lr=1000", "optim.min_lr=0", "optim.warmup_steps=0",
                                                    "optim.grad_clip=null", "train.steps=50"}),
                   log);
  t.setup(false);
  try {
    t.run();
    FAIL() << "lr 1e3 must diverge";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("at step"), std::string::npos) << e.what();
  }
}

// Native bf16 GEMMs compute the same exact products as the fp32-GEMM emulation and differ
// only in fp32 summation order, so a short run must agree to within accumulated rounding
// noise (a relative change of ~1e-6 per GEMM, compounding over steps: 2e-3 on the loss is a
// generous bound; a wrong product or operand would be off by orders of magnitude more).
TEST(PrecisionEffects, NativeBf16GemmMatchesEmulation) {
  const TempDir root("nativegemm");
  std::ostringstream log;
  auto run = [&](const std::string& native) {
    train::Trainer t(test::tiny_config(root / native, {"precision.dtype=bf16", "precision.native_gemm=" + native}),
                     log);
    t.setup(false);
    t.run();
    return t.validation_loss();
  };
  const double native = run("true"), emulated = run("false");
  EXPECT_NEAR(native, emulated, 2e-3);
}
