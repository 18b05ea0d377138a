// Real int8 inference for a GPT (issue 5, "Real int8 inference"): a model::ForwardObserver that
// computes the quantized linear layers with integer GEMMs on stored int8 (or packed int4)
// weights, in place of the fake-quant forward's quantize → dequantize → fp32 GEMM. Because the
// observer hooks model::observed_linear, GPT::forward and eval::PackedForward both use it.
//
//   quant::Int8Model int8(gpt, quant::int8_options(quant::find_recipe("w8a8")));
//   core::Tensor logits = gpt.forward(ctx, ids, B, T, 0, &int8);   // ctx without a tape
//
// Scales are the fake-quant recipes' (quant::compute_params/quantize; weights per output channel,
// activations per token from the current batch), so the outputs equal the fake-quant forward's
// up to fp32 rounding (tests/quant/int8_model_test.cpp states the tolerance).
//
// Supported (int8_options throws std::invalid_argument for the rest):
//   weights     symmetric, 8 or 4 bits, per output channel or per tensor
//   activations symmetric int8 per token or per tensor → oneDNN int8 GEMM (quant/int8_gemm.h);
//               or none (weight-only, e.g. "w4") → weights dequantized per call, fp32 GEMM
//   LLM.int8()  the input columns with any |x| ≥ threshold in the batch stay in float and meet
//               the baseline weight columns in an fp32 GEMM; the rest go through the int8 GEMM
//               (per-token scales from those columns only), as the fake-quant observer does
// Not supported: group-wise weights (w4-g128: one int32 sum per group would need a GEMM per
// group) and asymmetric quantization. SmoothQuant works by building the Int8Model from the
// smoothed (unquantized) model.
//
// The GPT's weights must be the baseline (unquantized) ones: the Int8Model quantizes them once at
// construction and keeps only the codes and scales; later changes to the GPT are not seen.
// One forward at a time per Int8Model (4-bit weights are unpacked into a member buffer).
#pragma once

#include <cstdint>
#include <vector>

#include "model/gpt.h"
#include "quant/int8_gemm.h"
#include "quant/int8_weights.h"
#include "quant/recipes.h"

namespace nurture::quant {

struct Int8Options {
  int weight_bits = 8;  // 8 or 4
  bool weight_per_tensor = false;
  float weight_clip = 1.0f;
  bool quantize_acts = true;  // false: weight-only
  bool act_per_tensor = false;
  // act_per_tensor: the calibrated max |x| per (layer * 5 + site) slot (lm_head: layer n_layer),
  // giving one static scale per linear, as the fake-quant observer's set_static_act_ranges.
  // Empty: the scale comes from the current batch (dynamic; run_ptq never does this).
  std::vector<float> act_absmax;
  float act_clip = 1.0f;
  float outlier_threshold = 0;  // > 0: LLM.int8() decomposition at this |x| (activations per token)
  bool include_head = false;    // lm_head too (the recipes leave it in the baseline precision)
  Int8Kernel kernel = Int8Kernel::s8s8;
};

// The options that reproduce `recipe` with integer kernels; throws std::invalid_argument naming
// the recipe and what is unsupported.
Int8Options int8_options(const Recipe& recipe, bool include_head = false);

class Int8Model : public model::ForwardObserver {
 public:
  Int8Model(const model::GPT& gpt, const Int8Options& opt);

  bool linear(core::Ctx& ctx, int layer, model::LinearSite site, const core::Tensor& x, const core::Tensor& w,
              const core::Tensor* b, core::Tensor& out) override;

  const Int8Options& options() const { return opt_; }
  // The stored weight of a quantized linear, or null if (layer, site) is left in float.
  const QuantizedWeight* weight(int layer, model::LinearSite site) const;
  // Bytes of the quantized linears' stored weights (codes + scales), and of the same weights
  // in fp32: the memory the int8/int4 storage saves.
  int64_t weight_bytes() const;
  int64_t float_weight_bytes() const;
  // LLM.int8() telemetry, as FakeQuantObserver's: calls seen, outlier columns summed over calls.
  int64_t llm_int8_calls() const { return calls_; }
  int64_t llm_int8_outlier_columns() const { return outlier_cols_; }

 private:
  Int8Options opt_;
  int n_layer_ = 0;
  std::vector<QuantizedWeight> weights_;      // per (layer, site) slot; rows() == 0: not quantized
  std::vector<int8_t> unpacked_;              // 4-bit codes widened for the current GEMM
  std::vector<float> dequantized_;            // weight-only: the current linear's q · scale
  std::vector<float> outlier_x_, outlier_w_;  // LLM.int8(): the outlier columns of x and w
  int64_t calls_ = 0, outlier_cols_ = 0;
};

}  // namespace nurture::quant
