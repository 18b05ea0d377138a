// PTQ recipes (quant/README.md "Recipes"): what a recipe does to the weights of the block
// linears (once, in a copy of the parameters) and to their inputs (every forward pass, through
// a model::ForwardObserver). Recipes run on top of the baseline precision ("pre").
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
  QuantSpec act;  // X [tokens, in]: Granularity::row is per token; scales from the current batch
  // LLM.int8(): input columns with any |x| >= outlier_threshold in the batch skip quantization
  // (both X's column and W's column stay in the baseline precision).
  bool llm_int8 = false;
  float outlier_threshold = 6.0f;
  // SmoothQuant: divide input channel j by s_j = max|X_j|^alpha / max|W_j|^(1-alpha) (folded
  // into the preceding op) and multiply W's column j by it, before quantizing.
  bool smooth = false;
  float alpha = 0.5f;
};

// Every recipe, "pre" (the baseline: no quantization) first.
const std::vector<Recipe>& all_recipes();
std::string recipe_names();  // "pre, w8a8, ..." for help texts and errors
// Throws std::invalid_argument "unknown recipe 'x' (accepted: pre, w8a8, ...)".
const Recipe& find_recipe(const std::string& name);
// A comma-separated list ("all" = every recipe). Always starts with "pre", which the others are
// compared against; duplicates are dropped.
std::vector<Recipe> parse_recipe_list(const std::string& list);

}  // namespace nurture::quant
