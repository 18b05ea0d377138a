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

Change relative_change(double pre, double post, bool higher_is_better) {
  Change c;
  c.abs = post - pre;
  c.rel_pct = pre != 0 ? 100.0 * (post - pre) / pre : std::numeric_limits<double>::quiet_NaN();
  c.degradation_pct = higher_is_better ? 0.0 - c.rel_pct : c.rel_pct;  // 0 - x: no "-0.00"
  return c;
}

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
  const std::vector<float> original(P.master(), P.master() + n);
  auto reset_to_baseline = [&] { std::copy(original.begin(), original.end(), P.master()); };
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

  InputAbsMax calib;
  bool calibrated = false;
  try {
    for (const Recipe& recipe : opt.recipes) {
      reset_to_baseline();
      if (recipe.smooth) {
        if (!calibrated) {
          if (!opt.calibration || opt.calibration->size() < 2)
            throw std::invalid_argument("recipe '" + recipe.name + "' needs held-out calibration text");
          round_to_baseline();
          calib = calibrate_input_absmax(gpt, *opt.calibration, opt.calibration_sequences, prec);
          res.calibration_tokens = calib.tokens;
          calibrated = true;
          log("smoothquant calibration: " + std::to_string(calib.tokens) + " held-out tokens");
          reset_to_baseline();
        }
        apply_smoothing(gpt, calib, recipe.alpha);
      }
      round_to_baseline();
      std::unique_ptr<Int8Model> int8;
      if (opt.int8_kernels && recipe.quantize_weights) {
        try {
          int8 = std::make_unique<Int8Model>(gpt, int8_options(recipe, opt.quantize_head));
        } catch (const std::invalid_argument& e) {
          log(std::string("recipe ") + recipe.name + ": no integer kernels (" + e.what() + "); fake quantization");
        }
      }
      if (recipe.quantize_weights && !recipe.llm_int8 && !int8) fake_quant_weights(gpt, linears, recipe.weight);
      std::unique_ptr<FakeQuantObserver> obs;
      if ((recipe.quantize_acts || recipe.llm_int8) && !int8)
        obs = std::make_unique<FakeQuantObserver>(recipe, gpt, opt.quantize_head);

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
      if (!res.recipes.empty()) {
        const RecipeResult& pre = res.recipes.front();
        double sum = 0;
        int count = 0;
        for (size_t i = 0; i < res.tasks.size(); ++i) {
          rr.changes.push_back(relative_change(pre.scores[i], rr.scores[i], res.tasks[i].higher_is_better));
          if (std::isfinite(rr.changes.back().degradation_pct)) {
            sum += rr.changes.back().degradation_pct;
            ++count;
          }
        }
        rr.mean_degradation_pct = count ? sum / count : std::numeric_limits<double>::quiet_NaN();
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
