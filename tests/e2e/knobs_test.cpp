// Each optimization knob shows in metrics.jsonl whether it acted (issue 16): weight norms under
// weight decay, the clipped fraction, loss-scale events, residual-stream statistics, and counters
// that survive a resume.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "e2e_support.h"
#include "nlohmann/json.hpp"
#include "optim/schedule.h"

using namespace nurture;
using test::TempDir;
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

namespace {
struct Records {
  std::vector<nlohmann::json> steps, intervals, validations;
};
Records read_metrics(const fs::path& run) {
  std::ifstream in(run / "metrics.jsonl");
  Records r;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("val_loss")) r.validations.push_back(j);
    else r.steps.push_back(j);
    if (j.contains("weight_norm")) r.intervals.push_back(j);
  }
  return r;
}

// 20 steps of configs/tiny.yaml, log_every 5, under `dir`.
train::Trainer& train_tiny(std::unique_ptr<train::Trainer>& t, const fs::path& dir, Strings extra) {
  static std::ostringstream log;
  extra.insert(extra.begin(), "train.log_every=5");
  t = std::make_unique<train::Trainer>(test::tiny_config(dir, extra), log);
  t->setup(false);
  t->run();
  return *t;
}
}  // namespace

// Constant lr 1e-3 after a 5-step warm-up and λ = 5: the decay alone multiplies the matrices by
// Π(1 − lr_t·λ) ≈ 0.91 over 20 steps; their norm ends below the λ = 0 run's. LayerNorm gains and
// biases never decay.
TEST(Knobs, WeightDecayShrinksTheDecayedWeights) {
  const TempDir root("knobs-wd");
  std::unique_ptr<train::Trainer> a, b;
  const Strings common = {"optim.schedule=constant", "optim.grad_clip=null"};
  Strings off = common, on = common;
  off.push_back("optim.weight_decay=0");
  on.push_back("optim.weight_decay=5");
  train_tiny(a, root / "wd0", off);
  train_tiny(b, root / "wd5", on);
  const Records r0 = read_metrics(root / "wd0"), r5 = read_metrics(root / "wd5");
  ASSERT_EQ(r0.intervals.size(), 4u);  // steps 5, 10, 15, 20
  ASSERT_EQ(r5.intervals.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r5.intervals[i]["step"], 5 * (i + 1));
    EXPECT_LT(r5.intervals[i]["weight_norm_matrix"].get<double>(), r0.intervals[i]["weight_norm_matrix"].get<double>())
        << i;
    EXPECT_EQ(r0.intervals[i]["decay_factor"], 1.0);
  }
  // decay_factor = Π (1 − lr_t·λ) over the schedule the run used.
  optim::Schedule s{optim::ScheduleKind::constant, 1e-3, 1e-4, 5, 20};
  double expect = 1;
  for (int64_t it = 0; it < 20; ++it) expect *= 1.0 - s.at(it) * 5.0;
  EXPECT_NEAR(r5.intervals.back()["decay_factor"].get<double>(), expect, 1e-12);
  EXPECT_NEAR(b->summary().decay_factor, expect, 1e-12);
  // Every kind's norm is consistent with the total.
  const auto& last = r5.intervals.back();
  auto sq = [&](const char* k) { return std::pow(last[k].get<double>(), 2); };
  EXPECT_NEAR(sq("weight_norm"), sq("weight_norm_matrix") + sq("weight_norm_embedding") + sq("weight_norm_ln_gain") +
                                     sq("weight_norm_bias"),
              1e-9 * sq("weight_norm"));
  EXPECT_EQ(last["ln1_gain_std"].size(), 2u);  // tiny.yaml: 2 blocks
  EXPECT_EQ(last["ln2_gain_std"].size(), 2u);
}

TEST(Knobs, ClippedFractionIsOneWithATinyClipAndZeroWithout) {
  const TempDir root("knobs-clip");
  std::unique_ptr<train::Trainer> a, b;
  train_tiny(a, root / "tiny", {"optim.grad_clip=1e-9"});
  train_tiny(b, root / "none", {"optim.grad_clip=null"});
  const Records tiny = read_metrics(root / "tiny"), none = read_metrics(root / "none");
  ASSERT_EQ(tiny.intervals.size(), 4u);
  for (const auto& rec : tiny.intervals) {
    EXPECT_EQ(rec["interval_steps"], 5);
    EXPECT_EQ(rec["clipped_steps"], 5);
    EXPECT_EQ(rec["clipped_fraction"], 1.0);
  }
  EXPECT_EQ(tiny.intervals.back()["clipped_total"], 20);
  EXPECT_EQ(a->summary().clipped_steps, 20);
  for (const auto& rec : none.intervals) {
    EXPECT_EQ(rec["clipped_steps"], 0);
    EXPECT_EQ(rec["clipped_fraction"], 0.0);
  }
  EXPECT_FALSE(none.intervals.back().contains("loss_scale_growths"));  // fp32: no loss scaler
  // The validations measure the residual stream after each block on the first validation batch.
  ASSERT_FALSE(none.validations.empty());
  const auto& v = none.validations.back();
  ASSERT_EQ(v["val_residual_max"].size(), 2u);
  ASSERT_EQ(v["val_residual_kurtosis"].size(), 2u);
  for (int l = 0; l < 2; ++l) {
    EXPECT_GT(v["val_residual_max"][l].get<double>(), 0.0);
    EXPECT_GT(v["val_residual_kurtosis"][l].get<double>(), 1.0);  // kurtosis >= 1 for any non-constant row
  }
}

// fp16 with a 2-step growth interval: the scale both grows and backs off in 20 steps. The counts
// agree with the per-step loss_scale series, and survive a resume exactly.
TEST(Knobs, LossScaleEventsMatchTheScaleSeriesAndSurviveResume) {
  const TempDir root("knobs-scale");
  std::ostringstream log;
  const Strings fp16 = {"train.log_every=5", "precision.dtype=fp16", "precision.growth_interval_fraction=0.1",
                        "optim.grad_clip=0.5"};
  train::Trainer straight(test::tiny_config(root / "straight", fp16), log);
  straight.setup(false);
  straight.run();
  {
    train::Trainer first(test::tiny_config(root / "split", fp16), log);
    first.setup(false);
    first.run(/*stop_at=*/12);  // mid-interval
  }
  train::Trainer second(test::tiny_config(root / "split", fp16), log);
  second.setup(true);
  second.run();

  const Records s = read_metrics(root / "straight"), r = read_metrics(root / "split");
  int64_t growths = 0, backoffs = 0;
  double scale = 65536;  // precision.init_scale
  for (const auto& rec : s.steps) {
    const double next = rec["step"] == 20 ? straight.scaler().scale() : double(s.steps[rec["step"].get<int>()]["loss_scale"]);
    growths += next > scale;
    backoffs += next < scale;
    scale = next;
  }
  const auto& last = s.intervals.back();
  EXPECT_EQ(last["loss_scale_growths"], growths);
  EXPECT_EQ(last["loss_scale_backoffs"], backoffs);
  EXPECT_GT(growths, 0);
  EXPECT_GT(backoffs, 0);
  // Resumed at step 12, between two interval records: the same knob fields as the straight run.
  ASSERT_EQ(s.intervals.size(), r.intervals.size());
  for (size_t i = 0; i < s.intervals.size(); ++i)
    for (const char* k : {"clipped_steps", "clipped_total", "interval_steps", "loss_scale_growths",
                          "loss_scale_backoffs", "decay_factor", "weight_norm"})
      EXPECT_EQ(s.intervals[i][k], r.intervals[i][k]) << k << " at " << s.intervals[i]["step"];
}
