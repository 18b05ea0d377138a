// Seeds as paired replicates: each grid point (the variants that agree on every axis but
// `train.seed`) against the control point, matched seed by seed, with the paired_stats
// confidence interval. Pairing removes what a seed does to both (initialisation, batch order),
// so the interval is about the axis change, not about run-to-run noise in the control.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "report/paired_stats.h"
#include "report/report_axes.h"
#include "report/report_data.h"

namespace nurture::report {

// The variants of one grid point, one per seed.
struct Point {
  std::string label;  // the axes where it differs from the control ("clip=null"), "control"
  bool control = false;
  std::vector<const Variant*> variants;
  std::map<std::string, std::string> key;  // every non-replicate axis -> this point's value
};

// Every point, the control point first (when there is one), then in sweep order.
std::vector<Point> grid_points(const RunTree& tree);

// A two-axis point (the paper grid's "weight decay 0.001 with clipping off") against the control
// mixes two changes. Its one-axis contrasts isolate each: the point against the point that differs
// from it in `axis` alone, where that point takes the control's value (weight decay 0.001 vs 0.1,
// both with clipping off). Only points that differ from the control in two or more axes, and only
// references present in the grid.
struct Contrast {
  size_t point = 0, reference = 0;  // indices into grid_points()
  std::string axis;                 // the axis that differs between the two
  std::string change;               // "paper_weight_decay=0.001 vs 0.1"
  std::string at;                   // the axes both share off the control: "grad_clip=null"
};
std::vector<Contrast> one_axis_contrasts(const std::vector<Point>& points);

// A variant's seed: its `train.seed` axis value (the control's when the grid does not record it).
std::string seed_of(const RunTree& tree, const Variant& v);

// point − control (or any reference point) under one recipe and measure, over the seeds both have.
struct ControlDifference {
  PairedDifference diff;
  int failed = 0;        // paired seeds where either side failed (then diff is empty)
  int failed_tasks = 0;  // the most failed tasks among them
  int pairs = 0;         // seeds present in both points, failed or not
  bool is_failed() const { return failed > 0; }
};
ControlDifference difference_from_control(const RunTree& tree, const Point& point, const Point& control,
                                          const std::string& recipe, Measure measure);

// Cells of the comparison tables: "+1.23 [0.40, 2.06]", "+0.70 (one seed)", FAILED text, or kMissing.
std::string difference_text(const ControlDifference& d, int digits);
// "effect", "none detected", "one seed", "failed", or kMissing.
std::string verdict_text(const ControlDifference& d);

}  // namespace nurture::report
