// Metric aggregation on hand-made scores with known answers.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/runner.h"

using namespace nurture;

namespace {
eval::Score ll(double v, int tokens = 1, bool greedy = false) {
  eval::Score s;
  s.logprob = v;
  s.tokens = tokens;
  s.greedy = greedy;
  return s;
}

eval::PreparedItem item(int label, std::vector<double> chars) {
  eval::PreparedItem it;
  it.label = label;
  it.chars = chars;
  it.bytes = chars;
  it.requests.resize(chars.size());
  return it;
}
}  // namespace

TEST(Metrics, AccAndAccNormOnAThreeItemTask) {
  // item 0: raw ll picks choice 1 (correct); per char also 1          → acc ✓, acc_norm ✓
  // item 1: raw ll picks choice 0 (wrong); per char -2 vs -0.3 picks 1 → acc ✗, acc_norm ✓
  // item 2: raw ll picks choice 0 (correct); per char picks choice 2   → acc ✓, acc_norm ✗
  const std::vector<eval::PreparedItem> items = {item(1, {1, 10}), item(1, {2, 20}), item(0, {1, 4, 30})};
  const std::vector<std::vector<eval::Score>> scores = {{ll(-5), ll(-3)}, {ll(-4), ll(-6)}, {ll(-1), ll(-2), ll(-9)}};
  std::vector<double> correct;
  const auto m = eval::choice_metrics(items, scores, false, &correct);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].name, "acc");
  EXPECT_DOUBLE_EQ(m[0].value, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m[0].stderr_, std::sqrt(2.0 / 9.0 / 3.0));  // binomial sqrt(p(1-p)/n)
  EXPECT_EQ(m[1].name, "acc_norm");
  EXPECT_DOUBLE_EQ(m[1].value, 2.0 / 3.0);
  EXPECT_EQ(correct, (std::vector<double>{1, 0, 1}));
  // Partial scoring (WinoGrande) reports acc only.
  EXPECT_EQ(eval::choice_metrics(items, scores, true).size(), 1u);
}

TEST(Metrics, MutualInfoSubtractsTheUnconditionalScore) {
  // item 0: conditional picks 1 (-3 > -5) but 1 is likely anyway: MI  -5-(-9)=4 vs -3-(-2)=-1 → 0 (correct)
  // item 1: MI -4-(-4)=0 vs -6-(-8)=2 → 1 (correct, where raw ll picks 0)
  const std::vector<eval::PreparedItem> items = {item(0, {1, 1}), item(1, {1, 1})};
  const std::vector<std::vector<eval::Score>> cond = {{ll(-5), ll(-3)}, {ll(-4), ll(-6)}};
  const std::vector<std::vector<eval::Score>> uncond = {{ll(-9), ll(-2)}, {ll(-4), ll(-8)}};
  const auto m = eval::choice_metrics(items, cond, false, nullptr, &uncond);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_DOUBLE_EQ(m[0].value, 0.0);  // acc
  EXPECT_EQ(m[3].name, "acc_mutual_info");
  EXPECT_DOUBLE_EQ(m[3].value, 1.0);
  EXPECT_EQ(eval::choice_metrics(items, cond, false).size(), 3u);  // only when asked for
}

TEST(Metrics, TiesGoToTheFirstChoice) {
  const std::vector<eval::PreparedItem> items = {item(0, {3, 3}), item(1, {3, 3})};
  const auto m = eval::choice_metrics(items, {{ll(-2), ll(-2)}, {ll(-2), ll(-2)}}, false);
  EXPECT_DOUBLE_EQ(m[0].value, 0.5);  // numpy argmax: the first maximum
}

TEST(Metrics, LastWordAccIsGreedyAndPerplexityIsPerItem) {
  const std::vector<eval::Score> s = {ll(-1, 1, true), ll(-3, 2, false), ll(-2, 3, true), ll(-6, 1, false)};
  const auto m = eval::last_word_metrics(s);
  EXPECT_DOUBLE_EQ(m[0].value, 0.5);
  EXPECT_NEAR(m[1].value, std::exp(3.0), 1e-9);  // exp(-mean(ll)) over items, not tokens
  EXPECT_GT(m[1].stderr_, 0);
  EXPECT_EQ(m[1].stderr_method, "bootstrap");
}

TEST(Metrics, LikelihoodRatiosAndBootstrap) {
  std::vector<eval::PreparedItem> items(3);
  items[0].target_bytes = 40, items[1].target_bytes = 40, items[2].target_bytes = 20;
  const std::vector<eval::Score> s = {ll(-20, 10), ll(-24, 10), ll(-6, 5)};
  const auto m = eval::likelihood_metrics(items, s);
  EXPECT_DOUBLE_EQ(m[0].value, 50.0 / 25.0);                   // token_loss = -Σll/Σtokens
  EXPECT_DOUBLE_EQ(m[1].value, std::exp(2.0));                 // perplexity
  EXPECT_DOUBLE_EQ(m[2].value, 50.0 / 100.0 / std::log(2.0));  // bits_per_byte = -Σll/Σbytes/ln2
  EXPECT_GT(m[0].stderr_, 0);
  EXPECT_EQ(m[0].stderr_, eval::likelihood_metrics(items, s)[0].stderr_);  // fixed bootstrap seed
}

TEST(Metrics, BootstrapStderrOfTheMeanMatchesTheFormula) {
  std::vector<double> x;
  for (int i = 0; i < 400; ++i) x.push_back((i * 37) % 11);
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= x.size();
  for (double v : x) var += (v - mean) * (v - mean);
  const double analytic = std::sqrt(var / x.size() / x.size());
  const double boot = eval::bootstrap_stderr(int64_t(x.size()), [&](std::span<const uint32_t> w) {
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += w[i] * x[i];
    return s / double(x.size());
  });
  EXPECT_NEAR(boot, analytic, 0.1 * analytic);
}

// Paired errors, by hand. Four items scored before (a) and after (b):
//   a = 1 1 0 1 (mean 0.75), b = 1 0 0 1, d = b − a = 0 −1 0 0 (mean −0.25)
//   Σ(d − d̄)² = 3·0.0625 + 0.5625 = 0.75 → sample variance 0.25 → SE = sqrt(0.25/4) = 0.25.
// Unpaired, each proportion has its own SE sqrt(p(1−p)/n) ≈ 0.22 and 0.25; the paired SE is what
// the difference has. Relative change 100·(−0.25)/0.75 = −33.3%, delta method:
//   Var(ā) = 0.25/4 = 0.0625, Var(d̄) = 0.0625, Cov(ā, d̄) = (Σ(a − ā)(d − d̄) = −0.25)/3/4
//   Var(d̄/ā) = 0.0625/0.5625 − 2·(−0.25)·(−0.0208333)/0.421875 + 0.0625·0.0625/0.31640625
//            = 0.111111 − 0.024691 + 0.012346 = 0.098765 → SE = 31.427%.
TEST(Metrics, PairedStderrOfADifferenceByHand) {
  const std::vector<double> a = {1, 1, 0, 1}, b = {1, 0, 0, 1};
  EXPECT_NEAR(eval::paired_stderr(a, b), 0.25, 1e-12);
  EXPECT_NEAR(eval::paired_relative_stderr_pct(a, b), 100.0 * std::sqrt(0.0987654320987654), 1e-9);
  // Identical runs: no uncertainty in the difference however noisy the scores are.
  EXPECT_EQ(eval::paired_stderr(a, a), 0.0);
  EXPECT_EQ(eval::paired_relative_stderr_pct(a, a), 0.0);
  // Every item flips the same way: the difference is certain, too.
  const std::vector<double> c = {1, 1, 1, 1}, z = {0, 0, 0, 0};
  EXPECT_EQ(eval::paired_stderr(c, z), 0.0);
  EXPECT_TRUE(std::isnan(eval::paired_relative_stderr_pct(z, c)));  // ā == 0: no relative change
  EXPECT_EQ(eval::paired_stderr(std::vector<double>{1}, std::vector<double>{0}), 0.0);  // n < 2
}

// The per-item outcomes and the resampled metric (what paired errors are computed from) are the
// reported metrics' own definitions.
TEST(Metrics, ChoiceOutcomeAndWeightedMetricAgreeWithTheMetrics) {
  eval::PreparedTask t;
  t.spec.kind = eval::TaskKind::multiple_choice;
  t.items = {item(0, {1, 1}), item(1, {1, 4}), item(1, {2, 1})};
  eval::TaskResult r;
  r.item_scores = {{ll(-1), ll(-2)}, {ll(-1), ll(-2)}, {ll(-3), ll(-2)}};
  r.metrics = eval::choice_metrics(t.items, r.item_scores, false);
  for (const char* m : {"acc", "acc_norm", "acc_bytes"}) {
    const std::vector<uint32_t> ones(3, 1);
    EXPECT_DOUBLE_EQ(eval::weighted_metric(t, r, m, ones), r.metric(m)->value) << m;
  }
  EXPECT_EQ(eval::item_outcomes(t, r, "acc"), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(eval::item_outcomes(t, r, "acc_norm"), (std::vector<double>{1, 1, 0}));  // -2/4 > -1/1; -3/2 > -2/1
  const std::vector<uint32_t> w = {0, 2, 1};  // item 1 twice, item 2 once
  EXPECT_DOUBLE_EQ(eval::weighted_metric(t, r, "acc", w), 1.0 / 3.0);
  EXPECT_TRUE(eval::item_outcomes(t, r, "perplexity").empty());
}
