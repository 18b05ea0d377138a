// run_ptq on a real (tiny, briefly trained) checkpoint and the default suite: the ptq.json
// schema, the paper's relative degradation, the baseline precision, and that recipes differ.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

#include "eval/runner.h"
#include "quant/ptq.h"
#include "precision/format.h"
#include "quant/fake_quant.h"
#include "quant/ptq_report.h"
#include "tests/e2e/e2e_support.h"
#include "train/load_model.h"

using namespace nurture;
namespace fs = std::filesystem;

namespace {

struct PtqRun {
  test::TempDir dir{"quant-ptq"};
  train::LoadedModel lm;
  eval::HeldOut heldout;
  eval::PreparedSuite suite;
};

constexpr int64_t kLimit = 24;

PtqRun& run() {
  static std::unique_ptr<PtqRun> r = [] {
    auto x = std::make_unique<PtqRun>();
    std::ostringstream log;
    train::Trainer t(test::tiny_config(x->dir / "run", {"train.steps=30"}), log);
    t.setup(false);
    t.run();
    x->lm = train::load_model(*train::Trainer::latest_checkpoint(x->dir / "run"));
    x->heldout = eval::load_heldout(x->lm.config, *x->lm.tokenizer);
    eval::EvalOptions opt;
    opt.limit = kLimit;
    opt.heldout = &x->heldout;
    x->suite = eval::prepare_suite(eval::load_suite("default"), *x->lm.tokenizer, x->lm.gpt->config().seq_len, opt);
    return x;
  }();
  return *r;
}

quant::PtqOptions options(const std::string& recipes, precision::Format baseline) {
  quant::PtqOptions opt;
  opt.recipes = quant::parse_recipe_list(recipes);
  opt.baseline = baseline;
  opt.calibration = &run().heldout.tokens;
  opt.calibration_sequences = 4;
  opt.eval.limit = kLimit;
  opt.eval.heldout = &run().heldout;
  return opt;
}

size_t task_index(const quant::PtqResult& r, const std::string& name) {
  for (size_t i = 0; i < r.tasks.size(); ++i)
    if (r.tasks[i].name == name) return i;
  ADD_FAILURE() << "no task " << name;
  return 0;
}

}  // namespace

TEST(RelativeChange, IsThePapersRelativeDegradation) {
  const quant::Change lower = quant::relative_change(2.0, 2.1, false);  // bits per byte went up: worse
  EXPECT_NEAR(lower.abs, 0.1, 1e-12);
  EXPECT_NEAR(lower.rel_pct, 5.0, 1e-9);
  EXPECT_NEAR(lower.degradation_pct, 5.0, 1e-9);
  const quant::Change higher = quant::relative_change(0.5, 0.4, true);  // accuracy went down: worse
  EXPECT_NEAR(higher.abs, -0.1, 1e-12);
  EXPECT_NEAR(higher.rel_pct, -20.0, 1e-9);
  EXPECT_NEAR(higher.degradation_pct, 20.0, 1e-9);
  EXPECT_TRUE(std::isnan(quant::relative_change(0.0, 0.1, true).degradation_pct));
  EXPECT_FALSE(std::signbit(quant::relative_change(0.5, 0.5, true).degradation_pct));
}

TEST(Ptq, AllRecipesOnATinyCheckpoint) {
  PtqRun& r = run();
  model::ParamStore& P = r.lm.gpt->params();
  const std::vector<float> before(P.master(), P.master() + P.numel());
  const quant::PtqResult res = quant::run_ptq(*r.lm.gpt, r.suite, options("all", precision::Format::fp16));
  // The master weights are restored.
  EXPECT_EQ(std::vector<float>(P.master(), P.master() + P.numel()), before);

  ASSERT_EQ(res.recipes.size(), quant::all_recipes().size());
  ASSERT_EQ(res.tasks.size(), 4u);
  EXPECT_EQ(res.tasks[0].name, "heldout");
  EXPECT_EQ(res.tasks[0].metric, "bits_per_byte");
  EXPECT_FALSE(res.tasks[0].higher_is_better);
  EXPECT_EQ(res.tasks[2].metric, "acc_mutual_info");  // the suite's headline for cloze
  EXPECT_TRUE(res.tasks[2].higher_is_better);
  EXPECT_EQ(res.calibration_tokens, 4 * 64);

  const quant::RecipeResult& pre = res.recipes[0];
  EXPECT_EQ(pre.name, "pre");
  EXPECT_TRUE(pre.changes.empty());
  // 2 blocks of [192,64] + [64,64] + [256,64] + [64,256] weights = 98304 elements.
  EXPECT_EQ(pre.weight_bytes, 98304 * 2);
  auto find = [&](const std::string& n) -> const quant::RecipeResult& {
    for (const quant::RecipeResult& rr : res.recipes)
      if (rr.name == n) return rr;
    throw std::runtime_error("no recipe " + n);
  };
  EXPECT_EQ(find("w8a8").weight_bytes, 98304 + 4 * 2 * (192 + 64 + 256 + 64));
  EXPECT_EQ(find("w4").weight_bytes, 98304 / 2 + 4 * 2 * (192 + 64 + 256 + 64));

  for (size_t k = 1; k < res.recipes.size(); ++k) {
    const quant::RecipeResult& rr = res.recipes[k];
    ASSERT_EQ(rr.changes.size(), res.tasks.size()) << rr.name;
    double sum = 0;
    int n = 0;
    for (size_t i = 0; i < res.tasks.size(); ++i) {
      const quant::Change expect = quant::relative_change(pre.scores[i], rr.scores[i], res.tasks[i].higher_is_better);
      EXPECT_DOUBLE_EQ(rr.changes[i].abs, expect.abs);
      if (std::isfinite(expect.degradation_pct)) {
        sum += expect.degradation_pct;
        ++n;
      }
    }
    ASSERT_GT(n, 0);
    EXPECT_FALSE(rr.failed) << rr.name;
    EXPECT_NEAR(rr.mean_degradation_pct, sum / n, 1e-9) << rr.name;
  }

  // int4 weights hurt held-out bits per byte more than int8 vector-wise does.
  const size_t h = task_index(res, "heldout");
  const double d_w8a8 = find("w8a8").changes[h].abs, d_w4 = find("w4").changes[h].abs;
  RecordProperty("heldout_bpb_pre", std::to_string(pre.scores[h]));
  RecordProperty("d_w8a8", std::to_string(d_w8a8));
  RecordProperty("d_w4", std::to_string(d_w4));
  EXPECT_GT(d_w4, 0.0);
  EXPECT_GT(std::fabs(d_w4), std::fabs(d_w8a8));
  EXPECT_GE(find("llm-int8").llm_int8_calls, 1);
  EXPECT_NE(find("w8a8").scores[h], pre.scores[h]);

  // The schema the sweep and report helpers read.
  const nlohmann::ordered_json j = quant::to_json(res, {"runs/x/checkpoints/step_0000030.h5", 30, kLimit});
  EXPECT_EQ(j["format"], "nurture-ptq-v2");
  EXPECT_TRUE(j["paired_se"].contains("accuracy"));
  EXPECT_NE(j["paired_se"]["likelihood"].get<std::string>().find("B=1000, seed=1234"), std::string::npos);
  EXPECT_EQ(j["activation_calibration"]["used"], true);  // w8a8-tensor, smoothquant-tensor
  EXPECT_EQ(j["activation_calibration"]["rule"], "absmax");
  EXPECT_EQ(j["activation_calibration"]["tokens"], 4 * 64);
  EXPECT_EQ(j["checkpoint"], "runs/x/checkpoints/step_0000030.h5");
  EXPECT_EQ(j["step"], 30);
  EXPECT_EQ(j["suite"], "default");
  EXPECT_EQ(j["baseline"], "fp16");
  EXPECT_EQ(j["limit"], kLimit);
  for (const char* key : {"name", "kind", "metric", "higher_is_better"}) EXPECT_TRUE(j["tasks"][0].contains(key));
  EXPECT_FALSE(j["recipes"][0].contains("change"));
  for (const auto& rj : j["recipes"]) {
    for (const char* key : {"name", "description", "weight_bytes", "seconds", "scores", "stderr", "weight_bits",
                            "act_bits", "weight_granularity", "act_granularity", "failed", "failed_tasks"})
      EXPECT_TRUE(rj.contains(key)) << key;
    EXPECT_TRUE(rj["scores"].contains("heldout"));
    EXPECT_EQ(rj["failed"], false);
    if (rj["name"] == "pre") continue;
    EXPECT_TRUE(rj["mean_degradation_pct"].is_number());
    EXPECT_TRUE(rj["mean_degradation_se_pct"].is_number());
    for (const char* task : {"heldout", "lastword", "cloze", "completion"})
      for (const char* key : {"abs", "abs_se", "rel_pct", "degradation_pct", "degradation_se_pct", "failed"})
        EXPECT_TRUE(rj["change"][task].contains(key)) << task << " " << key;
  }
  EXPECT_EQ(j["recipes"][0]["weight_bits"], 0);
  EXPECT_EQ(j["recipes"][0]["act_granularity"], "none");
  EXPECT_EQ(j["recipes"][1]["name"], "w8a8");
  EXPECT_EQ(j["recipes"][1]["weight_bits"], 8);
  EXPECT_EQ(j["recipes"][1]["act_bits"], 8);
  EXPECT_EQ(j["recipes"][1]["weight_granularity"], "per-channel");
  EXPECT_EQ(j["recipes"][1]["act_granularity"], "per-token");
  // The paired error of a change is far below the unpaired errors of its two scores.
  const quant::RecipeResult& w4r = find("w4");
  RecordProperty("heldout_w4_abs_se", std::to_string(w4r.changes[h].abs_se));
  RecordProperty("heldout_stderr_pre", std::to_string(pre.stderrs[h]));
  EXPECT_GT(w4r.changes[h].abs_se, 0.0);
  EXPECT_LT(w4r.changes[h].abs_se, 0.5 * pre.stderrs[h]);
  // The resampled metric with every item once is the reported metric, for every metric.
  for (size_t t = 0; t < r.suite.tasks.size(); ++t)
    for (const eval::Metric& m : pre.suite.tasks[t].metrics) {
      const std::vector<uint32_t> ones(pre.suite.tasks[t].item_scores.size(), 1);
      EXPECT_NEAR(eval::weighted_metric(r.suite.tasks[t], pre.suite.tasks[t], m.name, ones), m.value,
                  1e-12 * std::max(1.0, std::fabs(m.value)))
          << r.suite.tasks[t].spec.name << " " << m.name;
    }
  const std::string md = quant::format_markdown(res, {"ck.h5", 30, kLimit});
  EXPECT_NE(md.find("| heldout | bits_per_byte ↓ |"), std::string::npos) << md;
  EXPECT_NE(md.find("any \\|x\\| >= 6"), std::string::npos) << md;  // escaped inside the table
  EXPECT_NE(quant::format_table(res).find("mean degradation %"), std::string::npos);
}

TEST(Ptq, BaselinePrecisionReachesTheForward) {
  PtqRun& r = run();
  // pre under fp32 is exactly a plain fp32 eval run.
  const quant::PtqResult fp32 = quant::run_ptq(*r.lm.gpt, r.suite, options("pre", precision::Format::fp32));
  eval::EvalOptions eo;
  eo.limit = kLimit;
  eo.heldout = &r.heldout;
  const eval::SuiteResult plain = eval::run_suite(*r.lm.gpt, r.suite, eo);
  const size_t h = task_index(fp32, "heldout");
  EXPECT_EQ(fp32.recipes[0].scores[h], plain.task("heldout")->metric("bits_per_byte")->value);
  // fp16 and bf16 round weights and activations: the held-out score moves, bf16 (8 bits of
  // mantissa) more than fp16 (11).
  const double s32 = fp32.recipes[0].scores[h];
  const double s16 = quant::run_ptq(*r.lm.gpt, r.suite, options("pre", precision::Format::fp16)).recipes[0].scores[h];
  const double sb16 = quant::run_ptq(*r.lm.gpt, r.suite, options("pre", precision::Format::bf16)).recipes[0].scores[h];
  EXPECT_NE(s16, s32);
  EXPECT_GT(std::fabs(sb16 - s32), std::fabs(s16 - s32));
}

TEST(Ptq, SmoothQuantNeedsCalibrationText) {
  model::GPTConfig c;
  c.vocab_size = 32;
  c.d_model = 16;
  c.n_layer = 1;
  c.n_head = 2;
  c.seq_len = 8;
  model::GPT gpt(c);
  gpt.init(1);
  quant::PtqOptions opt;
  opt.recipes = quant::parse_recipe_list("smoothquant");
  const eval::PreparedSuite empty;
  EXPECT_THROW(quant::run_ptq(gpt, empty, opt), std::invalid_argument);
  opt.recipes = quant::parse_recipe_list("w8a8");
  opt.recipes.erase(opt.recipes.begin());  // without "pre"
  EXPECT_THROW(quant::run_ptq(gpt, empty, opt), std::invalid_argument);
}

TEST(Ptq, Int8KernelsAgreeWithFakeQuantization) {
  // Same scales, integer GEMMs: the held-out bits per byte differ only by fp32 summation order
  // (and the rare activation code that flips at a rounding midpoint), far below what quantization
  // itself changes. Unsupported recipes fall back to fake quantization and say so.
  PtqRun& r = run();
  quant::PtqOptions fake = options("w8a8,w4,w4-g128,llm-int8,w8a8-tensor,w8a6,w3", precision::Format::fp32);
  quant::PtqOptions real = fake;
  real.int8_kernels = true;
  const quant::PtqResult a = quant::run_ptq(*r.lm.gpt, r.suite, fake);
  const quant::PtqResult b = quant::run_ptq(*r.lm.gpt, r.suite, real);
  const size_t h = task_index(a, "heldout");
  ASSERT_EQ(b.recipes.size(), 8u);
  EXPECT_EQ(b.recipes[1].kernels, "int8");
  EXPECT_EQ(b.recipes[2].kernels, "int8");
  EXPECT_EQ(b.recipes[3].kernels, "fake");  // group-wise: no integer kernel
  EXPECT_EQ(b.recipes[4].kernels, "int8");
  EXPECT_EQ(a.recipes[1].kernels, "fake");
  EXPECT_EQ(b.recipes[4].llm_int8_calls, a.recipes[4].llm_int8_calls);
  EXPECT_EQ(b.recipes[4].llm_int8_outlier_columns, a.recipes[4].llm_int8_outlier_columns);
  EXPECT_EQ(b.recipes[5].kernels, "int8");  // w8a8-tensor: the static activation scales
  EXPECT_EQ(b.recipes[6].kernels, "fake");  // w8a6: int6 activations have no integer kernel
  EXPECT_EQ(b.recipes[7].kernels, "fake");  // w3: nor have 3-bit weights
  EXPECT_EQ(b.recipes[6].scores, a.recipes[6].scores);
  for (size_t k = 1; k < 6; ++k) {
    const double quant_effect = std::abs(a.recipes[k].scores[h] - a.recipes[0].scores[h]);
    EXPECT_NEAR(b.recipes[k].scores[h], a.recipes[k].scores[h], 1e-5 + 0.05 * quant_effect) << a.recipes[k].name;
  }
  EXPECT_EQ(b.recipes[3].scores[h], a.recipes[3].scores[h]);  // the same fake-quant path
}

// A planted overflow: block 0's MLP output weights scaled by 3e5 overflow the fp16 forward
// (|x| > 65504) on some items, whose log-likelihoods become NaN. Before, an acc task still
// reported a plausible accuracy (argmax over NaN log-likelihoods picks the first choice) and the
// mean skipped the NaN tasks, so an overflow lowered the mean degradation. Now a task with any
// non-finite item has NaN metrics, its change fails, and so does the recipe.
TEST(Ptq, AnOverflowFailsTheTaskAndTheRecipe) {
  PtqRun& r = run();
  model::ParamStore& P = r.lm.gpt->params();
  const std::vector<float> saved(P.master(), P.master() + P.numel());
  const int w = r.lm.gpt->blocks()[0].mlp_proj_w;
  for (int64_t i = 0; i < P.info(w).shape.numel(); ++i) P.master(w)[i] *= 3e5f;
  const quant::PtqResult res = quant::run_ptq(*r.lm.gpt, r.suite, options("w8a8,w4", precision::Format::fp16));
  const quant::PtqResult fp32 = quant::run_ptq(*r.lm.gpt, r.suite, options("w8a8", precision::Format::fp32));
  std::copy(saved.begin(), saved.end(), P.master());
  ASSERT_EQ(res.recipes.size(), 3u);
  // pre fails the tasks it overflowed on.
  const quant::RecipeResult& pre = res.recipes[0];
  EXPECT_TRUE(pre.failed);
  for (size_t t = 0; t < res.tasks.size(); ++t) {
    const bool overflowed = pre.suite.tasks[t].nonfinite > 0;
    EXPECT_EQ(std::isnan(pre.scores[t]), overflowed) << res.tasks[t].name;
    EXPECT_EQ(std::count(pre.failed_tasks.begin(), pre.failed_tasks.end(), res.tasks[t].name), overflowed ? 1 : 0);
  }
  bool acc_task_failed = false;
  for (size_t k = 1; k < 3; ++k) {
    const quant::RecipeResult& rr = res.recipes[k];
    EXPECT_TRUE(rr.failed) << rr.name;
    EXPECT_TRUE(std::isnan(rr.mean_degradation_pct));
    EXPECT_TRUE(std::isnan(rr.mean_degradation_se_pct));
    size_t failed = 0;
    for (size_t t = 0; t < res.tasks.size(); ++t) {
      const bool bad = pre.suite.tasks[t].nonfinite > 0 || rr.suite.tasks[t].nonfinite > 0;
      EXPECT_EQ(rr.changes[t].failed, bad) << rr.name << " " << res.tasks[t].name;
      failed += bad;
      acc_task_failed = acc_task_failed || (bad && res.tasks[t].metric != "bits_per_byte");
    }
    EXPECT_EQ(rr.failed_tasks.size(), failed);
    const std::string label = "FAILED (" + std::to_string(failed) + "/4 tasks)";
    EXPECT_NE(quant::format_table(res).find(label), std::string::npos) << quant::format_table(res);
    EXPECT_NE(quant::format_markdown(res, {"x.h5", 30, kLimit}).find(label), std::string::npos);
  }
  EXPECT_TRUE(acc_task_failed);  // not only the likelihood task, whose NaN sum was always NaN
  const nlohmann::ordered_json j = quant::to_json(res, {"x.h5", 30, kLimit});
  const std::string bad_task = res.recipes[1].failed_tasks.at(0);
  EXPECT_TRUE(j["recipes"][1]["mean_degradation_pct"].is_null());
  EXPECT_TRUE(j["recipes"][1]["mean_degradation_se_pct"].is_null());
  EXPECT_EQ(j["recipes"][1]["failed"], true);
  EXPECT_EQ(j["recipes"][1]["failed_tasks"].size(), res.recipes[1].failed_tasks.size());
  EXPECT_EQ(j["recipes"][1]["change"][bad_task]["failed"], true);
  EXPECT_TRUE(j["recipes"][1]["change"][bad_task]["degradation_pct"].is_null());
  EXPECT_TRUE(j["recipes"][1]["scores"][bad_task].is_null() || j["recipes"][0]["scores"][bad_task].is_null());
  EXPECT_NE(quant::format_table(res).find("w8a8: failed tasks: " + bad_task), std::string::npos);
  // The same weights in fp32 do not overflow: nothing fails.
  EXPECT_FALSE(fp32.recipes[0].failed);
  EXPECT_FALSE(fp32.recipes[1].failed);
  EXPECT_TRUE(std::isfinite(fp32.recipes[1].mean_degradation_pct));
}

// An item's score must not depend on the batch it is packed into: per-token scales come from the
// token's own row, per-tensor scales are static (calibrated). Every item's log-likelihoods are
// compared between --batch-tokens 4096 and 96 (a window or two per forward).
TEST(Ptq, ScoresDoNotDependOnTheBatch) {
  PtqRun& r = run();
  quant::PtqOptions big = options("w8a8,w8a8-tensor,w8a4-tensor", precision::Format::fp16), small = big;
  big.eval.score.batch_tokens = 4096;
  small.eval.score.batch_tokens = 96;
  const quant::PtqResult a = quant::run_ptq(*r.lm.gpt, r.suite, big);
  const quant::PtqResult b = quant::run_ptq(*r.lm.gpt, r.suite, small);
  ASSERT_EQ(a.recipes.size(), 4u);
  // Not bit for bit: the fp32 GEMMs may sum in another order for another number of rows (pre
  // shows the same ~1e-7 relative differences). A score that depends on its batch moves by far more.
  auto rel_diff = [](double x, double y) { return std::fabs(x - y) / std::max(1.0, std::fabs(x)); };
  for (size_t k = 0; k < a.recipes.size(); ++k) {
    double worst = 0;
    for (size_t t = 0; t < a.tasks.size(); ++t) {
      const auto& x = a.recipes[k].suite.tasks[t].item_scores;
      const auto& y = b.recipes[k].suite.tasks[t].item_scores;
      ASSERT_EQ(x.size(), y.size());
      for (size_t i = 0; i < x.size(); ++i)
        for (size_t c = 0; c < x[i].size(); ++c) worst = std::max(worst, rel_diff(x[i][c].logprob, y[i][c].logprob));
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", worst);
    RecordProperty("max_rel_diff_" + a.recipes[k].name, buf);
    EXPECT_LT(worst, 1e-6) << a.recipes[k].name;
  }
  // The test can tell: with the scale taken from each packed batch (the old behaviour), scores
  // do change with the batch size.
  const quant::Recipe tensor = quant::find_recipe("w8a8-tensor");
  auto dynamic_scores = [&](int64_t batch_tokens) {
    model::ParamStore& P = r.lm.gpt->params();
    const std::vector<float> saved(P.master(), P.master() + P.numel());
    precision::round_inplace(precision::Format::fp16, P.master(), P.numel());
    quant::fake_quant_weights(*r.lm.gpt, quant::quantized_linears(*r.lm.gpt, false), tensor.weight);
    quant::FakeQuantObserver obs(tensor, *r.lm.gpt, false);  // no static ranges: per batch
    eval::EvalOptions eo;
    eo.score.observer = &obs;
    eo.score.batch_tokens = batch_tokens;
    const eval::SuiteResult s = eval::run_suite(*r.lm.gpt, r.suite, eo);
    std::copy(saved.begin(), saved.end(), P.master());
    return s.tasks[0].item_scores;  // heldout windows
  };
  const auto d1 = dynamic_scores(4096), d2 = dynamic_scores(96);
  double worst = 0;
  for (size_t i = 0; i < d1.size(); ++i) worst = std::max(worst, rel_diff(d1[i][0].logprob, d2[i][0].logprob));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", worst);
  RecordProperty("max_rel_diff_dynamic_per_tensor", buf);
  EXPECT_GT(worst, 1e-5);
}
