// Fake quantization (quantize → dequantize in fp32) of a GPT's block linears, the way PTQ
// accuracy is measured (Ahmadian et al. 2023, section 2.3): weights once, in place in the
// parameter store; activations on every forward pass, through a model::ForwardObserver.
#pragma once

#include <cstdint>
#include <vector>

#include "model/gpt.h"
#include "quant/recipes.h"
#include "quant/smoothquant.h"

namespace nurture::quant {

// A linear layer a recipe applies to: (layer, site) as the ForwardObserver sees it, and the
// index of its weight [out, in] in the parameter store. lm_head has layer == n_layer.
struct LinearRef {
  int layer = 0;
  model::LinearSite site = model::LinearSite::qkv;
  int weight = -1;
  int bias = -1;
};

// qkv, attn_proj, fc, mlp_proj of every block (in forward order), then lm_head if asked.
std::vector<LinearRef> quantized_linears(const model::GPT& gpt, bool include_head);

// W ← dequantize(quantize(W)) in place in the master buffer, for each listed linear.
void fake_quant_weights(model::GPT& gpt, const std::vector<LinearRef>& linears, const QuantSpec& spec);

// Bytes of the listed linears' weights stored as `spec` (codes + scales), or, for a recipe that
// does not quantize weights, in a float format of `float_bytes` per element.
int64_t weight_bytes(const model::GPT& gpt, const std::vector<LinearRef>& linears, const Recipe& recipe,
                     int float_bytes);

// LLM.int8() building blocks (Dettmers et al. 2022), on a row-major X [rows, cols]:
// the input columns with any |x| >= threshold, ascending;
std::vector<int> outlier_columns(const float* x, int64_t rows, int64_t cols, float threshold);
// x ← fake_quant(x) on every column except `keep`, with those columns left unchanged and
// excluded from the scales (they are zeroed while the scales are computed);
void fake_quant_except(float* x, int64_t rows, int64_t cols, const std::vector<int>& keep, const QuantSpec& spec);
// out ← wq with the `keep` columns taken from w (both [rows, cols]).
void mix_columns(const float* wq, const float* w, int64_t rows, int64_t cols, const std::vector<int>& keep, float* out);

// Quantizes the inputs of the recipe's linears per forward pass (linear_input, in place).
// For LLM.int8() it also computes those linears itself (the `linear` hook): per batch, input
// columns with any |x| >= threshold keep their values and use the unquantized weight column;
// the other columns are quantized per token (scales from those columns only) and meet the
// per-output-channel int8 weights. So for llm-int8 the parameter store must hold the
// *unquantized* (baseline) weights; the observer keeps its own fake-quantized copy, made at
// construction.
//
// Per-tensor activations (recipe.static_act_scales()) use the static ranges given by
// set_static_act_ranges (quant::InputAbsMax from calibration windows), so a score does not
// depend on what an item is packed with. Without them the scale comes from the current batch
// (the naive dynamic per-tensor scheme), which run_ptq never uses.
class FakeQuantObserver : public model::ForwardObserver {
 public:
  FakeQuantObserver(const Recipe& recipe, model::GPT& gpt, bool include_head);

  // The calibrated max |x| of each linear input the recipe quantizes.
  void set_static_act_ranges(const InputAbsMax& absmax);

  void linear_input(int layer, model::LinearSite site, core::Tensor x) override;
  bool linear(core::Ctx& ctx, int layer, model::LinearSite site, const core::Tensor& x, const core::Tensor& w,
              const core::Tensor* b, core::Tensor& out) override;

  // LLM.int8() telemetry: calls seen, and the outlier columns summed over calls.
  int64_t llm_int8_calls() const { return calls_; }
  int64_t llm_int8_outlier_columns() const { return outlier_cols_; }

 private:
  bool applies(int layer, model::LinearSite site) const;

  Recipe recipe_;
  int n_layer_;
  bool include_head_;
  std::vector<std::vector<float>> wq_;  // llm-int8: fake-quantized weights, per (layer, site) slot
  std::vector<int> outliers_;           // llm-int8: the current call's outlier columns
  std::vector<float> mix_;
  std::vector<float> static_absmax_;    // per (layer, site) slot; empty: dynamic scales
  int64_t calls_ = 0, outlier_cols_ = 0;
};

}  // namespace nurture::quant
