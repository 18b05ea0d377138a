// PTQ recipes (quant/README.md "Recipes"): what a recipe does to the weights of the block
// linears (once, in a copy of the parameters) and to their inputs (every forward pass, through
// a model::ForwardObserver). Recipes run on top of the baseline precision ("pre").
//
// Besides the named recipes there is a small grammar for bit-width ladders:
//   w<bits>[a<bits>][-tensor | -g<size>]     bits 2..8
// e.g. w8a6 (int8 weights per output channel, int6 activations per token), w8a4-tensor (both per
// tensor), w3 (weight-only), w4-g128 (weight-only, groups of 128 along the input dim). Named
// recipes that fit the grammar (w8a8, w8a8-tensor, w4, w4-g128) are the same recipes.
#pragma once

#include <string>
#include <vector>

#include "quant/quantizer.h"

namespace nurture::quant {

struct Recipe {
  std::string name;
  std::string description;
  bool quantize_weights = false;
  QuantSpec weight;  // W [out, in]: Granularity::row is per output channel
  bool quantize_acts = false;
  // X [tokens, in]: Granularity::row is per token (scales from each token's own row, so a score
  // never depends on what else is in the batch); Granularity::tensor uses one static scale per
  // linear, calibrated offline on held-out text (PtqOptions::calibration), never from the batch.
  QuantSpec act;
  // LLM.int8(): input columns with any |x| >= outlier_threshold in the batch skip quantization
  // (both X's column and W's column stay in the baseline precision).
  bool llm_int8 = false;
  float outlier_threshold = 6.0f;
  // SmoothQuant: divide input channel j by s_j = max|X_j|^alpha / max|W_j|^(1-alpha) (folded
  // into the preceding op) and multiply W's column j by it, before quantizing.
  bool smooth = false;
  float alpha = 0.5f;

  // 0 = not quantized (the baseline format), as ptq.json's weight_bits / act_bits.
  int weight_bits() const { return quantize_weights ? weight.bits : 0; }
  int act_bits() const { return quantize_acts ? act.bits : 0; }
  // "per-channel", "per-tensor", "group-<size>" or "none"; "per-token", "per-tensor" or "none".
  std::string weight_granularity() const;
  std::string act_granularity() const;
  // Per-tensor activations take a static scale per linear from calibration windows.
  bool static_act_scales() const { return quantize_acts && act.gran == Granularity::tensor; }
  bool needs_calibration() const { return smooth || static_act_scales(); }
};

// The named recipes, "pre" (the baseline: no quantization) first.
const std::vector<Recipe>& all_recipes();
std::string recipe_names();  // "pre, w8a8, ..." for help texts and errors
// The grammar in one line, for help texts and errors.
std::string recipe_grammar();
// A named recipe or a grammar recipe. Throws std::invalid_argument with a one-line message
// saying what is wrong and what is accepted.
Recipe find_recipe(const std::string& name);
// A comma-separated list ("all" = every named recipe). Always starts with "pre", which the others
// are compared against; duplicates are dropped.
std::vector<Recipe> parse_recipe_list(const std::string& list);

}  // namespace nurture::quant
