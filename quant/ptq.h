// `nurture ptq`: evaluate a model in its baseline precision ("pre") and under each PTQ recipe on
// one prepared eval suite, and compare (quant/README.md "Output"). Accuracy under quantization
// is measured with fake quantization (quant/fake_quant.h).
//
// Per recipe, starting from the checkpoint's fp32 master weights each time:
//   1. SmoothQuant recipes fold their scales into the weights (quant/smoothquant.h), computed
//      once from calibration text run through the baseline model;
//   2. every parameter is rounded to the baseline format (fp16, bf16 or fp32);
//   2b. per-tensor activation recipes calibrate one static scale per linear input (max |x| over
//      the same calibration windows, run through this recipe's model before its weights are
//      quantized), so no score depends on the batch an item is packed into;
//   3. weight-quantizing recipes fake-quantize the block linears' weights (LLM.int8() keeps the
//      baseline weights and mixes per batch, see FakeQuantObserver);
//   4. the suite runs with the baseline's op precision (activations rounded as a half forward
//      stores them; GEMMs in fp32 on those values) and the recipe's observer.
// The master weights are restored afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/runner.h"
#include "model/gpt.h"
#include "precision/format.h"
#include "quant/ptq_compare.h"
#include "quant/recipes.h"

namespace nurture::quant {

struct PtqOptions {
  std::vector<Recipe> recipes;  // parse_recipe_list(): "pre" first
  precision::Format baseline = precision::Format::fp16;
  bool quantize_head = false;  // lm_head too (default: baseline precision)
  // Run recipes that quant::int8_options supports with real integer GEMMs (quant/int8_model.h)
  // instead of fake quantization; the others (llm-int8, w4-g128) still use fake quantization.
  bool int8_kernels = false;
  const std::vector<int32_t>* calibration = nullptr;  // held-out tokens, needed by Recipe::needs_calibration()
  int calibration_sequences = 16;                     // windows of seq_len from the end of `calibration`
  eval::EvalOptions eval;                             // limit, batch_tokens, log; prec/observer are set here
  // false: run_ptq keeps no copy of wte, wpe and (unless quantize_head) lm_head, which recipes
  // only ever round to the baseline (idempotent), and leaves them rounded afterwards; the other
  // parameters are restored as always. Saves that copy (GPT-2 small: 310 of 650 MB) for a caller
  // that discards the model afterwards (nurture ptq).
  bool restore_embeddings = true;
};

// The headline metric of one task (eval::headline_metric).
struct PtqTask {
  std::string name, kind, metric;
  bool higher_is_better = true;
};

struct RecipeResult {
  std::string name, description;
  std::string kernels = "fake";  // "float" (pre), "fake" (quantize → dequantize → fp32 GEMM) or "int8"
  int64_t weight_bytes = 0;      // block linear weights (+ lm_head with quantize_head) incl. scales
  double seconds = 0;
  std::vector<double> scores, stderrs;                         // per task, in PtqResult::tasks order
  std::vector<Change> changes;                                 // vs "pre" (empty for "pre" itself)
  // Any task with a non-finite score (pre or post) fails the recipe: mean_degradation_pct is
  // then NaN and failed_tasks names those tasks (for "pre": its own non-finite tasks).
  bool failed = false;
  std::vector<std::string> failed_tasks;
  double mean_degradation_pct = 0, mean_degradation_se_pct = 0;
  int weight_bits = 0, act_bits = 0;                 // 0 = not quantized (the baseline format)
  std::string weight_granularity, act_granularity;  // Recipe::weight_granularity() / act_granularity()
  int64_t llm_int8_outlier_columns = -1, llm_int8_calls = -1;  // llm-int8 only
  eval::SuiteResult suite;
};

struct PtqResult {
  std::string suite;
  precision::Format baseline = precision::Format::fp16;
  bool quantize_head = false;
  int64_t calibration_tokens = 0;  // 0 when no recipe needed calibration
  int64_t calibration_sequences = 0;
  bool static_act_scales = false;  // some recipe used calibrated per-tensor activation scales
  std::vector<PtqTask> tasks;
  std::vector<RecipeResult> recipes;
};

// Throws std::invalid_argument when a recipe that needs calibration has no calibration tokens or the
// recipe list does not start with "pre".
PtqResult run_ptq(model::GPT& gpt, const eval::PreparedSuite& suite, const PtqOptions& opt);

}  // namespace nurture::quant
