// The paper's Figure 2 / Figure 3-left question for any grid: along one axis, how does the
// mean PTQ degradation change when only that axis changes? Variants are grouped by their
// values on every other axis; a group with two or more values of the axis is a comparison.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiments/report_data.h"

namespace nurture::experiments {

struct AxisGroup {
  std::string label;  // the other axes' values, e.g. "dtype=bf16, dropout=0"; "all" if none
  std::map<std::string, std::vector<const Variant*>> by_value;
};

struct AxisComparison {
  std::string axis;
  std::vector<std::string> values;  // numeric order when every value is a number
  std::vector<AxisGroup> groups;    // only groups where the axis takes >= 2 values
  // Every variant per value, whatever its other axes (the marginal mean of a product grid).
  std::map<std::string, std::vector<const Variant*>> all;
};

// The seed (`train.seed`) is not an axis to compare but a replicate: variants that differ only in
// their seed land in the same group and value, so every cell is a mean over seeds.
std::vector<AxisComparison> compare_axes(const RunTree& tree);
bool is_replicate_axis(const std::string& axis);

// The recipes the paper's tables show (w8a8, w4) when present in any final evaluation, else
// every non-"pre" recipe seen.
std::vector<std::string> headline_recipes(const RunTree& tree);

// Mean of `recipe`'s mean_degradation_pct over the variants' final evaluations; empty when
// none of them has it.
std::optional<double> mean_degradation(const std::vector<const Variant*>& variants, const std::string& recipe);

// The same for the degradation of the suite's first likelihood task (held-out bits per byte):
// one number from thousands of tokens, so at small scale the least noisy view of what a recipe
// costs, where the task mean moves by one item in a few hundred. Empty when no final evaluation
// has a likelihood task under `recipe`.
std::optional<double> likelihood_degradation(const std::vector<const Variant*>& variants, const std::string& recipe);
// That degradation in one evaluation (one checkpoint).
std::optional<double> likelihood_degradation(const PtqResult& eval, const std::string& recipe);

// A per-group measure (mean_degradation, likelihood_degradation), and the sample standard
// deviation of one over the group's variants taken one by one (seeds of one point, see
// compare_axes); empty when fewer than two variants have it.
using Measure = std::optional<double> (*)(const std::vector<const Variant*>&, const std::string&);
std::optional<double> spread(const std::vector<const Variant*>& variants, const std::string& recipe, Measure measure);

// "optim.weight_decay" -> "weight_decay": tables and legends stay narrow.
std::string short_axis(const std::string& axis);

}  // namespace nurture::experiments
