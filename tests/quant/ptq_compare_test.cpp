// Comparing a recipe with pre on hand-made per-item scores: the paired standard errors, the
// relative degradation's error, and failed tasks failing the recipe.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "eval/runner.h"
#include "quant/ptq_compare.h"

namespace nurture::quant {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

eval::Score ll(double v, int tokens = 1) {
  eval::Score s;
  s.logprob = v;
  s.tokens = tokens;
  return s;
}

// A 2-choice task whose items are answered correctly (choice 0 scores higher) or not.
eval::PreparedTask choice_task(size_t n) {
  eval::PreparedTask t;
  t.spec.kind = eval::TaskKind::multiple_choice;
  for (size_t i = 0; i < n; ++i) {
    eval::PreparedItem it;
    it.label = 0;
    it.chars = it.bytes = {1, 1};
    it.requests.resize(2);
    t.items.push_back(it);
  }
  return t;
}

eval::TaskResult choice_run(const eval::PreparedTask& t, const std::vector<int>& correct) {
  eval::TaskResult r;
  for (int c : correct) r.item_scores.push_back(c ? std::vector<eval::Score>{ll(-1), ll(-2)}
                                                  : std::vector<eval::Score>{ll(-2), ll(-1)});
  r.metrics = eval::choice_metrics(t.items, r.item_scores, false);
  return r;
}

// The worked example of tests/eval/metrics_test.cpp PairedStderrOfADifferenceByHand, through
// paired_change: pre 1 1 0 1, post 1 0 0 1 → abs −0.25 ± 0.25, degradation +33.3% ± 31.43%.
TEST(PtqCompare, AccuracyChangeHasThePairedErrorOfTheItems) {
  const eval::PreparedTask t = choice_task(4);
  const eval::TaskResult pre = choice_run(t, {1, 1, 0, 1}), post = choice_run(t, {1, 0, 0, 1});
  const Change c = paired_change(t, "acc", true, pre, post);
  EXPECT_FALSE(c.failed);
  EXPECT_NEAR(c.abs, -0.25, 1e-12);
  EXPECT_NEAR(c.abs_se, 0.25, 1e-12);
  EXPECT_NEAR(c.rel_pct, -100.0 / 3.0, 1e-9);
  EXPECT_NEAR(c.degradation_pct, 100.0 / 3.0, 1e-9);
  EXPECT_NEAR(c.degradation_se_pct, 31.42696805273545, 1e-9);
  // The same outcomes twice: zero change, zero error (unpaired errors would be ~0.2 each).
  const Change same = paired_change(t, "acc", true, pre, pre);
  EXPECT_EQ(same.abs, 0.0);
  EXPECT_EQ(same.abs_se, 0.0);
}

// Bits per byte: post loses exactly c nats per byte of every window, so post − pre is c/ln 2 on
// every resample and the paired bootstrap error is 0, although each score alone varies with the
// resample.
TEST(PtqCompare, LikelihoodChangeUsesAPairedBootstrap) {
  eval::PreparedTask t;
  t.spec.kind = eval::TaskKind::likelihood;
  eval::TaskResult pre, post;
  const std::vector<double> lls = {-10, -40, -7, -22, -31, -15};
  const std::vector<int> bytes = {8, 20, 9, 12, 30, 10};
  const double c = 0.05;
  for (size_t i = 0; i < lls.size(); ++i) {
    eval::PreparedItem it;
    it.target_bytes = uint64_t(bytes[i]);
    it.requests.resize(1);
    t.items.push_back(it);
    pre.item_scores.push_back({ll(lls[i], 4)});
    post.item_scores.push_back({ll(lls[i] - c * bytes[i], 4)});
  }
  auto flat = [](const eval::TaskResult& r) {
    std::vector<eval::Score> s;
    for (const auto& v : r.item_scores) s.push_back(v[0]);
    return s;
  };
  pre.metrics = eval::likelihood_metrics(t.items, flat(pre));
  post.metrics = eval::likelihood_metrics(t.items, flat(post));
  ASSERT_GT(pre.metric("bits_per_byte")->stderr_, 0.01);  // unpaired: each score is uncertain
  const Change ch = paired_change(t, "bits_per_byte", false, pre, post);
  EXPECT_NEAR(ch.abs, c / std::log(2.0), 1e-12);
  EXPECT_NEAR(ch.abs_se, 0.0, 1e-12);
  EXPECT_GT(ch.degradation_pct, 0.0);  // more bits per byte: worse
  EXPECT_TRUE(std::isfinite(ch.degradation_se_pct));
  EXPECT_GT(ch.degradation_se_pct, 0.0);  // the ratio still varies with pre
}

TEST(PtqCompare, ANonFiniteScoreIsAFailedChange) {
  const Change c = relative_change(0.5, kNaN, true);
  EXPECT_TRUE(c.failed);
  EXPECT_TRUE(std::isnan(c.degradation_pct));
  EXPECT_TRUE(relative_change(std::numeric_limits<double>::infinity(), 1.0, false).failed);
  EXPECT_FALSE(relative_change(0.0, 0.1, true).failed);  // pre == 0: no relative change, not a failure
}

TEST(PtqCompare, MeanOverTasksAndFailedRecipes) {
  Change a = relative_change(1.0, 1.02, false), b = relative_change(0.5, 0.48, true);
  a.degradation_se_pct = 3, b.degradation_se_pct = 4;  // degradations 2% and 4%
  const RecipeSummary ok = summarize({"a", "b"}, {a, b});
  EXPECT_FALSE(ok.failed);
  EXPECT_NEAR(ok.mean_pct, 3.0, 1e-9);
  EXPECT_NEAR(ok.mean_se_pct, 2.5, 1e-12);  // sqrt(9 + 16)/2
  EXPECT_EQ(ok.tasks_in_mean, 2);

  // A failed task does not lower the mean: the recipe fails.
  const Change nan = relative_change(0.5, kNaN, true);
  const RecipeSummary bad = summarize({"a", "b", "c", "d"}, {a, nan, b, nan});
  EXPECT_TRUE(bad.failed);
  EXPECT_EQ(bad.failed_tasks, (std::vector<std::string>{"b", "d"}));
  EXPECT_TRUE(std::isnan(bad.mean_pct));
  EXPECT_TRUE(std::isnan(bad.mean_se_pct));

  // pre == 0: left out of the mean, as before.
  const RecipeSummary zero = summarize({"a", "z"}, {a, relative_change(0.0, 0.1, true)});
  EXPECT_FALSE(zero.failed);
  EXPECT_NEAR(zero.mean_pct, 2.0, 1e-9);
  EXPECT_EQ(zero.tasks_in_mean, 1);
}

}  // namespace
}  // namespace nurture::quant
