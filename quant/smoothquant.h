// SmoothQuant (Xiao et al. 2023): migrate activation outliers into the weights.
// For a linear Y = X Wᵀ with input channel j, s_j = max|X_j|^α / max|W_j|^(1−α) (max|W_j| over
// the output rows of column j); X_j / s_j and W_{:,j} · s_j leave Y unchanged but flatten X.
// The division is folded into the op that produces X, so inference pays nothing:
//   qkv       ← ln_1: gain and bias divided by s
//   attn_proj ← the v rows of attn.c_attn (weight rows and bias): attention output channel j is
//               a probability-weighted sum of v channel j, so it scales with it
//   fc        ← ln_2: gain and bias divided by s
//   mlp_proj  ← not smoothed: its input is GELU(·), which does not commute with a scale; it
//               gets the recipe's plain quantization
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.h"
#include "model/gpt.h"

namespace nurture::quant {

// max |X_j| per input channel of every block linear (and lm_head), over calibration text. Used
// by SmoothQuant (per channel) and by the static per-tensor activation scales (the maximum over
// channels, tensor_absmax).
struct InputAbsMax {
  int n_layer = 0;
  std::vector<std::vector<float>> per_linear;  // [layer * 4 + site] for qkv, attn_proj, fc, mlp_proj
  std::vector<float> head;                     // lm_head's input
  int64_t tokens = 0;
  int64_t sequences = 0;  // calibration windows of seq_len (or fewer) tokens
  const std::vector<float>& at(int layer, model::LinearSite site) const {
    return site == model::LinearSite::lm_head ? head : per_linear[size_t(layer) * 4 + size_t(site)];
  }
  // max over channels of at(layer, site): the static per-tensor activation range.
  float tensor_absmax(int layer, model::LinearSite site) const;
};

// Runs `sequences` windows of the model's seq_len (fewer tokens if `tokens` is short), taken from
// the *end* of `tokens`, through gpt.forward under `prec` without a tape. Throws
// std::invalid_argument when `tokens` holds fewer than 2 tokens.
InputAbsMax calibrate_input_absmax(model::GPT& gpt, const std::vector<int32_t>& tokens, int sequences,
                                   const core::OpPrecision& prec, int batch_sequences = 4);

// s for one linear: s_j = max|X_j|^α / max|W_j|^(1−α), clamped below at 1e-5; channels where
// either maximum is 0 get s_j = 1.
std::vector<float> smooth_scales(const std::vector<float>& x_absmax, const float* w, int64_t out, int64_t in,
                                 float alpha);

// Folds the scales for qkv, attn_proj and fc into the master weights (see above).
void apply_smoothing(model::GPT& gpt, const InputAbsMax& absmax, float alpha);

}  // namespace nurture::quant
