#include "report/report_paired.h"

#include <algorithm>

#include "report/report_table.h"

namespace nurture::report {

namespace {

const Variant* find_control(const RunTree& tree) {
  for (const auto& v : tree.variants)
    if (v.control) return &v;
  return nullptr;
}

// A one-at-a-time grid may record only the axes a variant changes: missing values are the control's.
std::string value_of(const Variant& v, const std::string& axis, const Variant* control) {
  auto it = v.axis_values.find(axis);
  if (it != v.axis_values.end()) return it->second;
  if (control)
    if (auto c = control->axis_values.find(axis); c != control->axis_values.end()) return c->second;
  return "";
}

std::string signed_fmt(double v, int digits) {
  const std::string s = fmt(v, digits);
  return s[0] == '-' || s.find_first_not_of("0.") == std::string::npos ? s : "+" + s;
}

// Whether a variant is a replicate of the control point: flagged control in sweep.json, or named
// by the sweep for a seed alone ("seed=2", "seed=2,seed=..."), since names list exactly what
// differs from the control (experiments/README.md "Names"). A grid whose control is not among
// its seeds (experiments/seeds.yaml's seeds: [1, 2]) has no variant flagged control.
bool control_replicate(const Variant& v) {
  if (v.control) return true;
  if (v.name.empty()) return false;
  size_t start = 0;
  while (start <= v.name.size()) {
    const size_t end = std::min(v.name.find(',', start), v.name.size());
    if (v.name.compare(start, 5, "seed=") != 0) return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

std::string seed_of(const RunTree& tree, const Variant& v) { return value_of(v, "train.seed", find_control(tree)); }

std::vector<Point> grid_points(const RunTree& tree) {
  const Variant* control = find_control(tree);
  if (!control)
    for (const auto& v : tree.variants)
      if (control_replicate(v)) {
        control = &v;
        break;
      }
  std::vector<std::pair<std::map<std::string, std::string>, Point>> points;
  for (const auto& v : tree.variants) {
    std::map<std::string, std::string> key;
    for (const auto& axis : tree.axes)
      if (!is_replicate_axis(axis)) key[axis] = value_of(v, axis, control);
    auto it = std::find_if(points.begin(), points.end(), [&](const auto& p) { return p.first == key; });
    if (it == points.end()) {
      Point p;
      for (const auto& axis : tree.axes) {
        if (is_replicate_axis(axis) || !control || key[axis] == value_of(*control, axis, control)) continue;
        p.label += (p.label.empty() ? "" : ",") + short_axis(axis) + "=" + key[axis];
      }
      p.key = key;
      points.emplace_back(key, p);
      it = points.end() - 1;
    }
    it->second.variants.push_back(&v);
    it->second.control = it->second.control || control_replicate(v);
  }
  std::vector<Point> out;
  bool have_control = false;
  for (auto& [key, p] : points) {
    // Only one control point: were two points named by their seed alone (not a sweep's names),
    // the second is an ordinary point.
    if (p.control && have_control) p.control = false;
    if (p.control) p.label = "control", have_control = true;
    if (p.label.empty()) p.label = p.variants.front()->name;
    if (p.control)
      out.insert(out.begin(), p);
    else
      out.push_back(p);
  }
  return out;
}

std::vector<Contrast> one_axis_contrasts(const std::vector<Point>& points) {
  std::vector<Contrast> out;
  if (points.empty() || !points.front().control) return out;
  const auto& control = points.front().key;
  for (size_t i = 1; i < points.size(); ++i) {
    std::vector<std::string> changed;
    for (const auto& [axis, value] : points[i].key)
      if (control.count(axis) && control.at(axis) != value) changed.push_back(axis);
    if (changed.size() < 2) continue;
    for (const auto& axis : changed) {
      auto want = points[i].key;
      want[axis] = control.at(axis);
      auto ref = std::find_if(points.begin(), points.end(), [&](const Point& p) { return p.key == want; });
      if (ref == points.end()) continue;
      Contrast c;
      c.point = i, c.reference = size_t(ref - points.begin()), c.axis = axis;
      c.change = short_axis(axis) + "=" + points[i].key.at(axis) + " vs " + control.at(axis);
      for (const auto& other : changed)
        if (other != axis) c.at += (c.at.empty() ? "" : ",") + short_axis(other) + "=" + points[i].key.at(other);
      out.push_back(c);
    }
  }
  return out;
}

ControlDifference difference_from_control(const RunTree& tree, const Point& point, const Point& control,
                                          const std::string& recipe, Measure measure) {
  ControlDifference r;
  std::vector<double> d;
  for (const Variant* v : point.variants) {
    const std::string seed = seed_of(tree, *v);
    auto c = std::find_if(control.variants.begin(), control.variants.end(),
                          [&](const Variant* x) { return seed_of(tree, *x) == seed; });
    if (c == control.variants.end()) continue;
    const PtqResult* ev = v->final_eval();
    const PtqResult* ec = (*c)->final_eval();
    if (!ev || !ec) continue;
    const Value a = measure(*ev, recipe), b = measure(*ec, recipe);
    if (a.failed || b.failed) {
      ++r.pairs, ++r.failed;
      r.failed_tasks = std::max({r.failed_tasks, a.failed_tasks, b.failed_tasks});
    } else if (a.x && b.x) {
      ++r.pairs;
      d.push_back(*a.x - *b.x);
    }
  }
  // A failed seed is not dropped from the pairs: that would average the failure away.
  if (!r.is_failed()) r.diff = paired_difference(d);
  return r;
}

std::string difference_text(const ControlDifference& d, int digits) {
  if (d.is_failed()) return failed_text(d.failed_tasks, d.failed, d.pairs);
  if (d.diff.n == 0) return kMissing;
  std::string s = signed_fmt(d.diff.mean, digits);
  if (!d.diff.ci_low) return s + " (one seed)";
  return s + " [" + fmt(*d.diff.ci_low, digits) + ", " + fmt(*d.diff.ci_high, digits) + "]";
}

std::string verdict_text(const ControlDifference& d) {
  if (d.is_failed()) return "failed";
  const std::string v = d.diff.verdict();
  return v.empty() ? kMissing : v;
}

}  // namespace nurture::report
