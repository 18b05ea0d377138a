// "Did each knob act?": per variant, the training telemetry that shows whether weight decay,
// clipping, the loss scaler and dropout changed the model at all (metrics.jsonl's knob fields,
// docs/OUTPUT-FORMATS.md), so a reader can check the treatment before asking whether it changed
// quantization. Runs made before these fields existed get no section.
#pragma once

#include <optional>

#include "report/report_data.h"
#include "report/report_table.h"

namespace nurture::report {

// The indicators of one variant, from its metrics.jsonl (empty when not logged).
struct KnobIndicators {
  std::optional<double> weight_norm_first, weight_norm_last;  // matrices, first and last logged
  std::optional<double> decay_factor, clipped_fraction;       // at the last logged step
  std::optional<double> scale_growths, scale_backoffs;        // dynamic loss scaling only
  std::optional<double> ln1_gain_std;                         // mean over blocks, last logged
  std::optional<double> residual_max, residual_kurtosis;      // last validation: max / mean over blocks
  bool any() const;
};
KnobIndicators knob_indicators(const Variant& v);

// The section for summary.md / index.html; none when no variant logged the knob fields.
std::optional<Section> mechanisms_section(const RunTree& tree);

}  // namespace nurture::report
