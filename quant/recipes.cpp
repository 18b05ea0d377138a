#include "quant/recipes.h"

#include <algorithm>
#include <cctype>
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
      with_weights(make("w8a8-tensor", "int8 per-tensor activations (static calibrated scale) x int8 per-tensor weights"),
                   tensor8),
      tensor8));
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

[[noreturn]] void bad(const std::string& name, const std::string& what) {
  throw std::invalid_argument("recipe '" + name + "': " + what + " (accepted: " + recipe_names() + ", all, or " +
                              recipe_grammar() + ")");
}

// Digits at s[pos...] as a number; advances pos. -1 when there are none.
int read_number(const std::string& s, size_t& pos) {
  const size_t start = pos;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) && pos - start < 6) ++pos;
  return pos == start ? -1 : std::stoi(s.substr(start, pos - start));
}

void check_bits(const std::string& name, const char* which, int bits) {
  // Codes are stored in int8 (or packed int4), so 8 is the widest; a symmetric 1-bit code has
  // no level besides 0.
  if (bits < 2 || bits > 8) bad(name, std::string(which) + " bits must be 2..8, got " + std::to_string(bits));
}

// w<bits>[a<bits>][-tensor | -g<size>]
Recipe parse_ladder(const std::string& name) {
  size_t pos = 1;
  const int wbits = read_number(name, pos);
  if (wbits < 0) bad(name, "expected digits after 'w'");
  check_bits(name, "weight", wbits);
  int abits = 0;
  if (pos < name.size() && name[pos] == 'a') {
    ++pos;
    abits = read_number(name, pos);
    if (abits < 0) bad(name, "expected digits after 'a'");
    check_bits(name, "activation", abits);
  }
  Granularity wg = Granularity::row, ag = Granularity::row;
  int group = 128;
  const std::string rest = name.substr(pos);
  if (rest == "-tensor") {
    wg = ag = Granularity::tensor;
  } else if (rest.rfind("-g", 0) == 0) {
    size_t p = 2;
    group = read_number(rest, p);
    if (group < 1 || p != rest.size()) bad(name, "-g needs a group size >= 1, e.g. -g128");
    wg = Granularity::group;
  } else if (!rest.empty()) {
    bad(name, "unexpected '" + rest + "'; the only suffixes are -tensor and -g<size>, one of them");
  }
  Recipe r;
  r.name = name;
  r = with_weights(r, {.bits = wbits, .gran = wg, .group = group});
  const std::string wb = "int" + std::to_string(wbits);
  const std::string wdesc = wg == Granularity::row      ? wb + " per-output-channel weights"
                            : wg == Granularity::tensor ? wb + " per-tensor weights"
                                                        : wb + " weights in groups of " + std::to_string(group) +
                                                              " along the input dim";
  if (abits == 0) {
    r.description = wdesc + ", activations in the baseline precision";
  } else {
    r = with_acts(r, {.bits = abits, .gran = ag});
    const std::string ab = "int" + std::to_string(abits);
    r.description = (ag == Granularity::row ? ab + " per-token activations"
                                            : ab + " per-tensor activations (static calibrated scale)") +
                    " x " + wdesc;
  }
  return r;
}

}  // namespace

std::string Recipe::weight_granularity() const {
  if (!quantize_weights) return "none";
  switch (weight.gran) {
    case Granularity::tensor: return "per-tensor";
    case Granularity::row: return "per-channel";
    case Granularity::group: return "group-" + std::to_string(weight.group);
  }
  return "?";
}

std::string Recipe::act_granularity() const {
  if (!quantize_acts) return "none";
  switch (act.gran) {
    case Granularity::tensor: return "per-tensor";
    case Granularity::row: return "per-token";
    case Granularity::group: return "group-" + std::to_string(act.group);
  }
  return "?";
}

const std::vector<Recipe>& all_recipes() {
  static const std::vector<Recipe> r = make_recipes();
  return r;
}

std::string recipe_names() {
  std::string s;
  for (const Recipe& r : all_recipes()) s += (s.empty() ? "" : ", ") + r.name;
  return s;
}

std::string recipe_grammar() { return "w<bits>[a<bits>][-tensor|-g<size>] with bits 2..8, e.g. w8a6, w8a4-tensor, w3"; }

Recipe find_recipe(const std::string& name) {
  for (const Recipe& r : all_recipes())
    if (r.name == name) return r;
  if (name.size() >= 2 && name[0] == 'w' && std::isdigit(static_cast<unsigned char>(name[1])))
    return parse_ladder(name);
  throw std::invalid_argument("unknown recipe '" + name + "' (accepted: " + recipe_names() + ", all, or " +
                              recipe_grammar() + ")");
}

std::vector<Recipe> parse_recipe_list(const std::string& list) {
  std::vector<Recipe> out{find_recipe("pre")};
  auto add = [&](Recipe r) {
    if (std::none_of(out.begin(), out.end(), [&](const Recipe& x) { return x.name == r.name; }))
      out.push_back(std::move(r));
  };
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item == "all") {
      for (const Recipe& r : all_recipes()) add(r);
    } else if (!item.empty()) {
      add(find_recipe(item));  // validates
    }
    start = end + 1;
  }
  return out;
}

}  // namespace nurture::quant
