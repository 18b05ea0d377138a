#include "quant/ptq.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "precision/policy.h"
#include "quant/fake_quant.h"
#include "quant/int8_model.h"
#include "quant/smoothquant.h"

namespace nurture::quant {

namespace {

int float_bytes(precision::Format f) { return f == precision::Format::fp32 ? 4 : 2; }

}  // namespace

PtqResult run_ptq(model::GPT& gpt, const eval::PreparedSuite& suite, const PtqOptions& opt) {
  if (opt.recipes.empty() || opt.recipes.front().name != "pre")
    throw std::invalid_argument("ptq: the recipe list must start with 'pre'");
  PtqResult res;
  res.suite = suite.name;
  res.baseline = opt.baseline;
  res.quantize_head = opt.quantize_head;
  for (const eval::PreparedTask& t : suite.tasks) {
    PtqTask pt;
    pt.name = t.spec.name;
    pt.kind = eval::name(t.spec.kind);
    pt.metric = eval::headline_metric(t.spec);
    res.tasks.push_back(pt);
  }

  model::ParamStore& P = gpt.params();
  if (P.has_working_copy()) P.enable_working_copy(false);  // forward must read the master buffer
  const int64_t n = P.numel();
  // The parameters a recipe may change: all (restore_embeddings), or from the first block
  // parameter to ln_f, plus lm_head when it is quantized (the layout is wte, wpe, blocks, ln_f,
  // lm_head: model/params.h).
  int64_t lo = 0, hi = n;
  if (!opt.restore_embeddings) {
    lo = P.info(gpt.config().n_layer > 0 ? gpt.blocks().front().ln_1_w : gpt.ln_f_w()).offset;
    if (!opt.quantize_head) hi = P.info(gpt.lm_head()).offset;
  }
  const std::vector<float> original(P.master() + lo, P.master() + hi);
  auto reset_to_baseline = [&] { std::copy(original.begin(), original.end(), P.master() + lo); };
  auto round_to_baseline = [&] {
    if (opt.baseline != precision::Format::fp32) precision::round_inplace(opt.baseline, P.master(), n);
  };

  // The baseline forward: half activations, GEMMs in fp32 on the rounded operands (never the
  // native bf16 GEMM, which would round the fake-quantized operands once more).
  precision::PolicyConfig pc;
  pc.dtype = opt.baseline;
  pc.native_gemm = false;
  precision::MixedPrecision policy(pc);
  const core::OpPrecision prec = policy.op_precision(false);
  const std::vector<LinearRef> linears = quantized_linears(gpt, opt.quantize_head);
  auto log = [&](const std::string& m) {
    if (opt.eval.log) opt.eval.log(m);
  };

  // Calibration windows from the end of the held-out split, run through the baseline model:
  // SmoothQuant's per-channel max |X_j| (computed once), and each per-tensor recipe's static
  // activation ranges (on that recipe's own model, after smoothing and rounding, before its
  // weights are quantized).
  auto calibrate = [&](const Recipe& recipe) {
    if (!opt.calibration || opt.calibration->size() < 2)
      throw std::invalid_argument("recipe '" + recipe.name + "' needs held-out calibration text");
    InputAbsMax m = calibrate_input_absmax(gpt, *opt.calibration, opt.calibration_sequences, prec);
    res.calibration_tokens = m.tokens;
    res.calibration_sequences = m.sequences;
    return m;
  };
  InputAbsMax calib;
  bool calibrated = false;
  try {
    for (const Recipe& recipe : opt.recipes) {
      reset_to_baseline();
      if (recipe.smooth) {
        if (!calibrated) {
          round_to_baseline();
          calib = calibrate(recipe);
          calibrated = true;
          log("smoothquant calibration: " + std::to_string(calib.tokens) + " held-out tokens");
          reset_to_baseline();
        }
        apply_smoothing(gpt, calib, recipe.alpha);
      }
      round_to_baseline();
      InputAbsMax ranges;
      if (recipe.static_act_scales()) {
        ranges = calibrate(recipe);
        res.static_act_scales = true;
        log("recipe " + recipe.name + ": static activation scales from " + std::to_string(ranges.tokens) +
            " held-out tokens (max |x| per linear input)");
      }
      std::unique_ptr<Int8Model> int8;
      if (opt.int8_kernels && recipe.quantize_weights) {
        try {
          Int8Options io = int8_options(recipe, opt.quantize_head);
          if (recipe.static_act_scales()) {
            io.act_absmax.assign(size_t(gpt.config().n_layer + 1) * 5, 0.0f);
            for (const LinearRef& r : linears)
              io.act_absmax[size_t(r.layer) * 5 + size_t(r.site)] = ranges.tensor_absmax(r.layer, r.site);
          }
          int8 = std::make_unique<Int8Model>(gpt, io);
        } catch (const std::invalid_argument& e) {
          log(std::string("recipe ") + recipe.name + ": no integer kernels (" + e.what() + "); fake quantization");
        }
      }
      if (recipe.quantize_weights && !recipe.llm_int8 && !int8) fake_quant_weights(gpt, linears, recipe.weight);
      std::unique_ptr<FakeQuantObserver> obs;
      if ((recipe.quantize_acts || recipe.llm_int8) && !int8)
        obs = std::make_unique<FakeQuantObserver>(recipe, gpt, opt.quantize_head);
      if (obs && recipe.static_act_scales()) obs->set_static_act_ranges(ranges);

      eval::EvalOptions eo = opt.eval;
      eo.score.prec = prec;
      eo.score.observer = int8 ? static_cast<model::ForwardObserver*>(int8.get()) : obs.get();
      log("recipe " + recipe.name + ": " + recipe.description);
      const auto t0 = std::chrono::steady_clock::now();
      RecipeResult rr;
      rr.suite = eval::run_suite(gpt, suite, eo);
      rr.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rr.name = recipe.name;
      rr.description = recipe.description;
      rr.weight_bits = recipe.weight_bits();
      rr.act_bits = recipe.act_bits();
      rr.weight_granularity = recipe.weight_granularity();
      rr.act_granularity = recipe.act_granularity();
      rr.kernels = int8                                                                   ? "int8"
                   : (recipe.quantize_weights || recipe.quantize_acts || recipe.llm_int8) ? "fake"
                                                                                          : "float";
      rr.weight_bytes = weight_bytes(gpt, linears, recipe, float_bytes(opt.baseline));
      if (recipe.llm_int8 && obs) {
        rr.llm_int8_calls = obs->llm_int8_calls();
        rr.llm_int8_outlier_columns = obs->llm_int8_outlier_columns();
      } else if (recipe.llm_int8 && int8) {
        rr.llm_int8_calls = int8->llm_int8_calls();
        rr.llm_int8_outlier_columns = int8->llm_int8_outlier_columns();
      }
      for (size_t i = 0; i < res.tasks.size(); ++i) {
        PtqTask& task = res.tasks[i];
        const eval::TaskResult* tr = rr.suite.task(task.name);
        const eval::Metric* m = tr ? tr->metric(task.metric) : nullptr;
        if (!m) throw std::logic_error("ptq: task " + task.name + " did not report " + task.metric);
        task.higher_is_better = m->higher_is_better;
        rr.scores.push_back(m->value);
        rr.stderrs.push_back(m->stderr_);
      }
      std::vector<std::string> names;
      for (const PtqTask& t : res.tasks) names.push_back(t.name);
      if (res.recipes.empty()) {  // pre: failed if its own scores are not finite
        for (size_t i = 0; i < res.tasks.size(); ++i)
          if (!std::isfinite(rr.scores[i])) rr.failed_tasks.push_back(res.tasks[i].name);
        rr.failed = !rr.failed_tasks.empty();
        rr.mean_degradation_pct = rr.mean_degradation_se_pct = 0;
      } else {
        const RecipeResult& pre = res.recipes.front();
        for (size_t i = 0; i < res.tasks.size(); ++i)
          rr.changes.push_back(paired_change(suite.tasks[i], res.tasks[i].metric, res.tasks[i].higher_is_better,
                                             pre.suite.tasks[i], rr.suite.tasks[i]));
        const RecipeSummary sum = summarize(names, rr.changes);
        rr.failed = sum.failed;
        rr.failed_tasks = sum.failed_tasks;
        rr.mean_degradation_pct = sum.mean_pct;
        rr.mean_degradation_se_pct = sum.mean_se_pct;
      }
      res.recipes.push_back(std::move(rr));
    }
  } catch (...) {
    reset_to_baseline();
    throw;
  }
  reset_to_baseline();
  return res;
}

}  // namespace nurture::quant
