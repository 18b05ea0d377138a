#include "quant/recipes.h"

#include <algorithm>
#include <stdexcept>

namespace nurture::quant {

namespace {

QuantSpec int8(Granularity g) { return {.bits = 8, .gran = g}; }

Recipe make(const char* name, const char* description) {
  Recipe r;
  r.name = name;
  r.description = description;
  return r;
}
Recipe with_weights(Recipe r, QuantSpec w) {
  r.quantize_weights = true;
  r.weight = w;
  return r;
}
Recipe with_acts(Recipe r, QuantSpec a) {
  r.quantize_acts = true;
  r.act = a;
  return r;
}

std::vector<Recipe> make_recipes() {
  const QuantSpec row8 = int8(Granularity::row), tensor8 = int8(Granularity::tensor);
  std::vector<Recipe> r;
  r.push_back(make("pre", "baseline precision, no quantization"));
  r.push_back(with_acts(
      with_weights(make("w8a8", "int8 per-token activations x int8 per-output-channel weights (vector-wise)"), row8),
      row8));
  r.push_back(with_acts(
      with_weights(make("w8a8-tensor", "int8 per-tensor activations x int8 per-tensor weights"), tensor8), tensor8));
  r.push_back(with_weights(make("w4", "int4 per-output-channel weights, activations in the baseline precision"),
                           {.bits = 4, .gran = Granularity::row}));
  r.push_back(with_weights(
      make("w4-g128", "int4 weights in groups of 128 along the input dim, activations in the baseline precision"),
      {.bits = 4, .gran = Granularity::group, .group = 128}));
  Recipe llm = with_acts(
      with_weights(
          make("llm-int8", "LLM.int8(): input columns with any |x| >= 6 stay in the baseline precision, the rest w8a8"),
          row8),
      row8);
  llm.llm_int8 = true;
  r.push_back(llm);
  Recipe sq = with_acts(
      with_weights(make("smoothquant", "SmoothQuant (alpha 0.5, calibrated on held-out text), then w8a8"), row8), row8);
  sq.smooth = true;
  r.push_back(sq);
  Recipe sqt = with_acts(
      with_weights(make("smoothquant-tensor", "SmoothQuant (alpha 0.5, calibrated on held-out text), then w8a8-tensor"),
                   tensor8),
      tensor8);
  sqt.smooth = true;
  r.push_back(sqt);
  return r;
}

}  // namespace

const std::vector<Recipe>& all_recipes() {
  static const std::vector<Recipe> r = make_recipes();
  return r;
}

std::string recipe_names() {
  std::string s;
  for (const Recipe& r : all_recipes()) s += (s.empty() ? "" : ", ") + r.name;
  return s;
}

const Recipe& find_recipe(const std::string& name) {
  for (const Recipe& r : all_recipes())
    if (r.name == name) return r;
  throw std::invalid_argument("unknown recipe '" + name + "' (accepted: " + recipe_names() + ", all)");
}

std::vector<Recipe> parse_recipe_list(const std::string& list) {
  std::vector<std::string> names{"pre"};
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item == "all") {
      for (const Recipe& r : all_recipes()) names.push_back(r.name);
    } else if (!item.empty()) {
      find_recipe(item);  // validates
      names.push_back(item);
    }
    start = end + 1;
  }
  std::vector<Recipe> out;
  for (const std::string& n : names)
    if (std::none_of(out.begin(), out.end(), [&](const Recipe& r) { return r.name == n; }))
      out.push_back(find_recipe(n));
  return out;
}

}  // namespace nurture::quant
