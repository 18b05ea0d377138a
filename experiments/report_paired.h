// Seeds as paired replicates: each grid point (the variants that agree on every axis but
// `train.seed`) against the control point, matched seed by seed, with the paired_stats
// confidence interval. Pairing removes what a seed does to both (initialisation, batch order),
// so the interval is about the axis change, not about run-to-run noise in the control.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "experiments/paired_stats.h"
#include "experiments/report_axes.h"
#include "experiments/report_data.h"

namespace nurture::experiments {

// The variants of one grid point, one per seed.
struct Point {
  std::string label;  // the axes where it differs from the control ("clip=null"), "control"
  bool control = false;
  std::vector<const Variant*> variants;
};

// Every point, the control point first (when there is one), then in sweep order.
std::vector<Point> grid_points(const RunTree& tree);

// A variant's seed: its `train.seed` axis value (the control's when the grid does not record it).
std::string seed_of(const RunTree& tree, const Variant& v);

// point − control under one recipe and measure, over the seeds both have.
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

}  // namespace nurture::experiments
