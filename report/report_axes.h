// The paper's Figure 2 / Figure 3-left question for any grid: along one axis, how does the
// mean PTQ degradation change when only that axis changes? Variants are grouped by their
// values on every other axis; a group with two or more values of the axis is a comparison.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/report_data.h"

namespace nurture::report {

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

// Every non-"pre" recipe of the final evaluations, in first-seen order.
std::vector<std::string> final_recipes(const RunTree& tree);
// The recipes the paper's tables show (w8a8, w4) when present in any final evaluation, else
// every non-"pre" recipe seen.
std::vector<std::string> headline_recipes(const RunTree& tree);

// One evaluation's value of a measure under a recipe: a number, a failure (NaN after
// quantization in some task; the number is then withheld, never averaged), or nothing (the
// recipe or task is not in that evaluation).
struct Value {
  std::optional<double> x;
  bool failed = false;
  int failed_tasks = 0;
  std::optional<double> se;  // its standard error over items (nurture-ptq-v2), when given
};
using Measure = Value (*)(const PtqResult& eval, const std::string& recipe);

// The relative degradation (%) of the suite's first likelihood task (held-out bits per byte):
// one number from thousands of tokens, so at small scale the precise view of what a recipe
// costs, where the task mean moves by one item in a few hundred. It leads every table.
Value heldout_degradation(const PtqResult& eval, const std::string& recipe);
// The mean relative degradation (%) over the suite's tasks (ptq.json's mean_degradation_pct).
Value task_mean_degradation(const PtqResult& eval, const std::string& recipe);

// Whether any final evaluation has a likelihood task under one of these recipes.
bool has_heldout(const RunTree& tree, const std::vector<std::string>& recipes);

// A measure over replicate variants (the seeds of one grid point, see compare_axes), each at
// its final evaluation. A cell with any failed variant is failed: its mean is withheld.
struct Cell {
  std::vector<double> xs;  // the finite values, one per variant
  int failed = 0;          // variants whose evaluation failed under the recipe
  int failed_tasks = 0;    // the most failed tasks in any of them
  int variants = 0;        // variants with a value or a failure

  bool is_failed() const { return failed > 0; }
  std::optional<double> mean() const;  // empty when failed or empty
  std::optional<double> sd() const;    // sample standard deviation; empty below two values
  // Half width of the 95% confidence interval of the mean, t(0.975, n − 1) · sd / √n.
  std::optional<double> ci95_half() const;
};
Cell collect(const std::vector<const Variant*>& variants, const std::string& recipe, Measure measure);

// "FAILED (2 tasks)", with the failed replicates when there are several ("FAILED (2 tasks; 1/3
// seeds)"). The text every table and the printed summary use for a failure.
std::string failed_text(int failed_tasks, int failed_seeds = 0, int seeds = 0);
// A table cell: the failure text, the mean (± the 95% CI half width when `interval` and there
// are several values), or kMissing.
std::string cell_text(const Cell& c, int digits, bool interval);

// "optim.weight_decay" -> "weight_decay": tables and legends stay narrow.
std::string short_axis(const std::string& axis);

}  // namespace nurture::report
