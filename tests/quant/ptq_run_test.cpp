// run_ptq on a real (tiny, briefly trained) checkpoint and the default suite: the ptq.json
// schema, the paper's relative degradation, the baseline precision, and that recipes differ.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "eval/runner.h"
#include "quant/ptq.h"
#include "quant/ptq_report.h"
#include "tests/e2e/e2e_support.h"
#include "train/load_model.h"

using namespace nurture;
namespace fs = std::filesystem;

namespace {

struct PtqRun {
  fs::path dir;
  train::LoadedModel lm;
  eval::HeldOut heldout;
  eval::PreparedSuite suite;
  ~PtqRun() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

constexpr int64_t kLimit = 24;

PtqRun& run() {
  static std::unique_ptr<PtqRun> r = [] {
    auto x = std::make_unique<PtqRun>();
    x->dir = test::temp_dir("quant-ptq");
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
  EXPECT_EQ(j["format"], "nurture-ptq-v1");
  EXPECT_EQ(j["checkpoint"], "runs/x/checkpoints/step_0000030.h5");
  EXPECT_EQ(j["step"], 30);
  EXPECT_EQ(j["suite"], "default");
  EXPECT_EQ(j["baseline"], "fp16");
  EXPECT_EQ(j["limit"], kLimit);
  for (const char* key : {"name", "kind", "metric", "higher_is_better"}) EXPECT_TRUE(j["tasks"][0].contains(key));
  EXPECT_FALSE(j["recipes"][0].contains("change"));
  for (const auto& rj : j["recipes"]) {
    for (const char* key : {"name", "description", "weight_bytes", "seconds", "scores", "stderr"})
      EXPECT_TRUE(rj.contains(key)) << key;
    EXPECT_TRUE(rj["scores"].contains("heldout"));
    if (rj["name"] == "pre") continue;
    EXPECT_TRUE(rj.contains("mean_degradation_pct"));
    for (const char* key : {"abs", "rel_pct", "degradation_pct"}) EXPECT_TRUE(rj["change"]["heldout"].contains(key));
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
  quant::PtqOptions fake = options("w8a8,w4,w4-g128,llm-int8", precision::Format::fp32);
  quant::PtqOptions real = fake;
  real.int8_kernels = true;
  const quant::PtqResult a = quant::run_ptq(*r.lm.gpt, r.suite, fake);
  const quant::PtqResult b = quant::run_ptq(*r.lm.gpt, r.suite, real);
  const size_t h = task_index(a, "heldout");
  ASSERT_EQ(b.recipes.size(), 5u);
  EXPECT_EQ(b.recipes[1].kernels, "int8");
  EXPECT_EQ(b.recipes[2].kernels, "int8");
  EXPECT_EQ(b.recipes[3].kernels, "fake");  // group-wise: no integer kernel
  EXPECT_EQ(b.recipes[4].kernels, "int8");
  EXPECT_EQ(a.recipes[1].kernels, "fake");
  EXPECT_EQ(b.recipes[4].llm_int8_calls, a.recipes[4].llm_int8_calls);
  EXPECT_EQ(b.recipes[4].llm_int8_outlier_columns, a.recipes[4].llm_int8_outlier_columns);
  for (size_t k = 1; k < 5; ++k) {
    const double quant_effect = std::abs(a.recipes[k].scores[h] - a.recipes[0].scores[h]);
    EXPECT_NEAR(b.recipes[k].scores[h], a.recipes[k].scores[h], 1e-5 + 0.05 * quant_effect) << a.recipes[k].name;
  }
  EXPECT_EQ(b.recipes[3].scores[h], a.recipes[3].scores[h]);  // the same fake-quant path
}
