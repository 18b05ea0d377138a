// Keys stated relative to the run (config/config_relative.cpp): the paper's weight decay mapped by
// lr_peak·λ·T, and the loss scaler's growth interval as a fraction of the run.
#include <gtest/gtest.h>

#include "config/config.h"
#include "tests/support/support.h"

namespace nurture::config {
namespace {

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides) {
  return test::error_of<ConfigError>([&] { parse_config(yaml, overrides, "x.yaml"); });
}

// By hand, with the defaults lr 6e-4, paper_lr 1.2e-4, paper_steps 75000 and 1200 steps:
// paper side lr·T = 9, this run lr·T = 0.72, so λ = 0.1 · 9 / 0.72 = 1.25 and lr·λ·T = 0.9.
TEST(ConfigRelativeTest, PaperWeightDecayGivesTheSameLrLambdaT) {
  const Config c = parse_config("train: {steps: 1200}\n", {"optim.paper_weight_decay=0.1"});
  EXPECT_EQ(c.optim.paper_weight_decay, 0.1);
  EXPECT_NEAR(c.optim.weight_decay, 1.25, 1e-12);
  EXPECT_NEAR(weight_decay_horizon(c), 0.9, 1e-12);
  // The paper's three values span 0.009 .. 0.9 of the run.
  for (double paper : {0.001, 0.01, 0.1}) {
    const Config p = parse_config("train: {steps: 1200}\n", {"optim.paper_weight_decay=" + std::to_string(paper)});
    EXPECT_NEAR(weight_decay_horizon(p), 9.0 * paper, 1e-12) << paper;
  }
  // Twice the lr or twice the steps: half the λ. The schedule does not matter (peak lr, not Σ lr).
  EXPECT_NEAR(parse_config("", {"train.steps=2400", "optim.paper_weight_decay=0.1"}).optim.weight_decay, 0.625, 1e-12);
  EXPECT_NEAR(
      parse_config("", {"train.steps=1200", "optim.lr=1.2e-3", "optim.paper_weight_decay=0.1"}).optim.weight_decay,
      0.625, 1e-12);
  EXPECT_NEAR(
      parse_config("", {"train.steps=1200", "optim.schedule=wsd", "optim.paper_weight_decay=0.1"}).optim.weight_decay,
      1.25, 1e-12);
  // Another paper-side assumption: lr·T = 3e-4 · 30000 = 9 gives the same λ.
  EXPECT_NEAR(parse_config("", {"train.steps=1200", "optim.paper_lr=3e-4", "optim.paper_steps=30000",
                                "optim.paper_weight_decay=0.1"})
                  .optim.weight_decay,
              1.25, 1e-12);
}

TEST(ConfigRelativeTest, TheLastOfTheTwoKeysWins) {
  // The file's weight_decay, then the override's paper value: derived.
  Config c = parse_config("optim: {weight_decay: 0.1}\ntrain: {steps: 1200}\n", {"optim.paper_weight_decay=0.01"});
  EXPECT_NEAR(c.optim.weight_decay, 0.125, 1e-12);
  // weight_decay after paper_weight_decay: used as given, and the paper value is dropped.
  c = parse_config("", {"optim.paper_weight_decay=0.01", "optim.weight_decay=0.05"});
  EXPECT_EQ(c.optim.weight_decay, 0.05);
  EXPECT_FALSE(c.optim.paper_weight_decay);
  // null turns the mapping off.
  c = parse_config("optim: {weight_decay: 0.1}\n", {"optim.paper_weight_decay=0.01", "optim.paper_weight_decay=null"});
  EXPECT_EQ(c.optim.weight_decay, 0.1);
}

TEST(ConfigRelativeTest, ResolvedConfigRoundTrips) {
  const Config c = parse_config("train: {steps: 1000}\n",
                                {"optim.paper_weight_decay=0.01", "precision.growth_interval_fraction=0.0267"});
  const std::string yaml = to_yaml(c);
  EXPECT_NE(yaml.find("  paper_weight_decay: 0.01\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  weight_decay: 0.15\n"), std::string::npos) << yaml;  // 0.01·9/0.6
  EXPECT_EQ(parse_config(yaml), c);
  EXPECT_EQ(to_yaml(parse_config(yaml)), yaml);
}

TEST(ConfigRelativeTest, GrowthIntervalFraction) {
  // round(0.0267 · 1200) = round(32.04) = 32; PyTorch's 2000 on 75000 steps is 0.02667.
  Config c = parse_config("", {"train.steps=1200", "precision.growth_interval_fraction=0.0267"});
  EXPECT_EQ(c.precision.growth_interval, 32);
  c = parse_config("", {"train.steps=10", "precision.growth_interval_fraction=0.01"});  // 0.1 -> at least 1
  EXPECT_EQ(c.precision.growth_interval, 1);
  c = parse_config("", {"precision.growth_interval_fraction=0.5", "precision.growth_interval=7"});
  EXPECT_EQ(c.precision.growth_interval, 7);
  EXPECT_FALSE(c.precision.growth_interval_fraction);
  EXPECT_EQ(parse_config("").precision.growth_interval, 2000);  // unchanged default
}

TEST(ConfigRelativeTest, Errors) {
  EXPECT_EQ(error_of("", {"precision.growth_interval_fraction=0"}),
            "command line: 'precision.growth_interval_fraction=0': 'precision.growth_interval_fraction' = 0 is out of "
            "range (0, 1]; null growth_interval is used as given");
  EXPECT_EQ(error_of("optim:\n  paper_weight_decay: -1\n", {}).rfind("x.yaml:2: 'optim.paper_weight_decay' = -1", 0),
            0u)
      << error_of("optim:\n  paper_weight_decay: -1\n", {});
  // 1 step: λ = 1 · 9 / 6e-4 = 15000, lr·λ = 9.
  EXPECT_EQ(error_of("train: {steps: 1}\n", {"optim.paper_weight_decay=1"}),
            "command line: 'optim.paper_weight_decay=1': 'optim.lr' * 'optim.weight_decay' = 6e-4 * 15000 = 9 is >= 1, "
            "so decoupled weight decay would zero or flip the weights every step (weight_decay was derived from "
            "'optim.paper_weight_decay' = 1 for 1 steps; lower it or train longer)");
}

}  // namespace
}  // namespace nurture::config
