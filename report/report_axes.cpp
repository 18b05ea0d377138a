#include "report/report_axes.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "report/paired_stats.h"
#include "report/report_table.h"

namespace nurture::report {

namespace {

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// A one-at-a-time grid may record only the axes a variant changes: missing values are the
// control's, so "dropout=0.1" lands in the same group as the control point.
std::string axis_value(const Variant& v, const std::string& axis, const Variant* control) {
  auto it = v.axis_values.find(axis);
  if (it != v.axis_values.end()) return it->second;
  if (control) {
    auto c = control->axis_values.find(axis);
    if (c != control->axis_values.end()) return c->second;
  }
  return "";
}

}  // namespace

bool is_replicate_axis(const std::string& axis) { return axis == "train.seed"; }

std::string short_axis(const std::string& axis) {
  const auto dot = axis.rfind('.');
  return dot == std::string::npos ? axis : axis.substr(dot + 1);
}

std::vector<AxisComparison> compare_axes(const RunTree& tree) {
  const Variant* control = nullptr;
  for (const auto& v : tree.variants)
    if (v.control) control = &v;
  std::vector<AxisComparison> out;
  for (const auto& axis : tree.axes) {
    if (is_replicate_axis(axis)) continue;
    AxisComparison c;
    c.axis = axis;
    std::vector<std::string> order;
    std::map<std::string, AxisGroup> groups;
    std::vector<std::string> group_order;
    for (const auto& v : tree.variants) {
      const std::string value = axis_value(v, axis, control);
      if (value.empty()) continue;
      if (std::find(order.begin(), order.end(), value) == order.end()) order.push_back(value);
      std::string label;
      for (const auto& other : tree.axes) {
        if (other == axis || is_replicate_axis(other)) continue;
        const std::string ov = axis_value(v, other, control);
        if (ov.empty()) continue;
        label += (label.empty() ? "" : ", ") + short_axis(other) + "=" + ov;
      }
      if (label.empty()) label = "all";
      if (!groups.count(label)) group_order.push_back(label);
      groups[label].label = label;
      groups[label].by_value[value].push_back(&v);
      c.all[value].push_back(&v);
    }
    std::vector<double> nums;
    for (const auto& s : order) {
      double d;
      if (!parse_number(s, d)) break;
      nums.push_back(d);
    }
    if (nums.size() == order.size()) {
      std::vector<size_t> idx(order.size());
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return nums[a] < nums[b]; });
      for (size_t i : idx) c.values.push_back(order[i]);
    } else {
      c.values = order;
    }
    for (const auto& label : group_order)
      if (groups[label].by_value.size() >= 2) c.groups.push_back(groups[label]);
    if (c.values.size() >= 2) out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> final_recipes(const RunTree& tree) {
  std::vector<std::string> seen;
  for (const auto& v : tree.variants)
    if (const PtqResult* e = v.final_eval())
      for (const auto& r : e->recipes)
        if (r.name != "pre" && std::find(seen.begin(), seen.end(), r.name) == seen.end()) seen.push_back(r.name);
  return seen;
}

std::vector<std::string> headline_recipes(const RunTree& tree) {
  const std::vector<std::string> seen = final_recipes(tree);
  std::vector<std::string> out;
  for (const char* want : {"w8a8", "w4"})
    if (std::find(seen.begin(), seen.end(), want) != seen.end()) out.push_back(want);
  return out.empty() ? seen : out;
}

Value heldout_degradation(const PtqResult& e, const std::string& recipe) {
  const PtqRecipe* r = e.recipe(recipe);
  if (!r) return {};
  // A recipe that failed anywhere produced non-finite outputs: its held-out number, even if
  // finite, is not a measurement of that recipe working.
  if (r->failed) return {std::nullopt, true, int(r->failed_tasks.size()), std::nullopt};
  for (const PtqTask& t : e.tasks)
    if (t.kind == "likelihood") {
      auto it = r->change.find(t.name);
      if (it == r->change.end()) return {};
      return {it->second.degradation_pct, false, 0, it->second.degradation_se_pct};
    }
  return {};
}

Value task_mean_degradation(const PtqResult& e, const std::string& recipe) {
  const PtqRecipe* r = e.recipe(recipe);
  if (!r) return {};
  if (r->failed) return {std::nullopt, true, int(r->failed_tasks.size()), std::nullopt};
  return {r->mean_degradation_pct, false, 0, r->mean_degradation_se_pct};
}

bool has_heldout(const RunTree& tree, const std::vector<std::string>& recipes) {
  for (const auto& v : tree.variants)
    for (const auto& e : v.evals)
      for (const auto& r : recipes) {
        const Value x = heldout_degradation(e, r);
        if (x.x || x.failed) return true;
      }
  return false;
}

std::optional<double> Cell::mean() const {
  if (is_failed() || xs.empty()) return std::nullopt;
  double s = 0;
  for (double x : xs) s += x;
  return s / double(xs.size());
}

std::optional<double> Cell::sd() const {
  const auto m = mean();
  if (!m || xs.size() < 2) return std::nullopt;
  double ss = 0;
  for (double x : xs) ss += (x - *m) * (x - *m);
  return std::sqrt(ss / double(xs.size() - 1));
}

std::optional<double> Cell::ci95_half() const {
  const auto s = sd();
  if (!s) return std::nullopt;
  return student_t_quantile(0.975, double(xs.size() - 1)) * *s / std::sqrt(double(xs.size()));
}

Cell collect(const std::vector<const Variant*>& variants, const std::string& recipe, Measure measure) {
  Cell c;
  for (const Variant* v : variants)
    if (const PtqResult* e = v->final_eval()) {
      const Value x = measure(*e, recipe);
      if (x.failed) {
        ++c.failed, ++c.variants;
        c.failed_tasks = std::max(c.failed_tasks, x.failed_tasks);
      } else if (x.x) {
        c.xs.push_back(*x.x);
        ++c.variants;
      }
    }
  return c;
}

std::string failed_text(int failed_tasks, int failed_seeds, int seeds) {
  std::string s = "FAILED";
  std::string detail;
  if (failed_tasks > 0) detail = std::to_string(failed_tasks) + (failed_tasks == 1 ? " task" : " tasks");
  if (seeds > 1)
    detail += (detail.empty() ? "" : "; ") + std::to_string(failed_seeds) + "/" + std::to_string(seeds) + " seeds";
  return detail.empty() ? s : s + " (" + detail + ")";
}

std::string cell_text(const Cell& c, int digits, bool interval) {
  if (c.is_failed()) return failed_text(c.failed_tasks, c.failed, c.variants);
  const auto m = c.mean();
  if (!m) return kMissing;
  const auto h = interval ? c.ci95_half() : std::nullopt;
  return fmt(*m, digits) + (h ? " ± " + fmt(*h, digits) : "");
}

}  // namespace nurture::report
