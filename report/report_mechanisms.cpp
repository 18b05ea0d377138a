#include "report/report_mechanisms.h"

#include <algorithm>
#include <numeric>

namespace nurture::report {

bool KnobIndicators::any() const {
  return weight_norm_last || decay_factor || clipped_fraction || scale_growths || ln1_gain_std || residual_max;
}

KnobIndicators knob_indicators(const Variant& v) {
  KnobIndicators k;
  for (const MetricsRecord& r : v.metrics) {
    if (r.weight_norm_matrix) {
      if (!k.weight_norm_first) k.weight_norm_first = r.weight_norm_matrix;
      k.weight_norm_last = r.weight_norm_matrix;
    }
    if (r.decay_factor) k.decay_factor = r.decay_factor;
    if (r.clipped_fraction) k.clipped_fraction = r.clipped_fraction;
    if (r.loss_scale_growths) k.scale_growths = r.loss_scale_growths;
    if (r.loss_scale_backoffs) k.scale_backoffs = r.loss_scale_backoffs;
    if (!r.ln1_gain_std.empty())
      k.ln1_gain_std = std::accumulate(r.ln1_gain_std.begin(), r.ln1_gain_std.end(), 0.0) / r.ln1_gain_std.size();
    if (!r.val_residual_max.empty())
      k.residual_max = *std::max_element(r.val_residual_max.begin(), r.val_residual_max.end());
    if (!r.val_residual_kurtosis.empty())
      k.residual_kurtosis = std::accumulate(r.val_residual_kurtosis.begin(), r.val_residual_kurtosis.end(), 0.0) /
                            r.val_residual_kurtosis.size();
  }
  return k;
}

std::optional<Section> mechanisms_section(const RunTree& tree) {
  Section s;
  s.title = "Did each knob act? (training telemetry)";
  s.text =
      "Before asking whether a choice changed how a model quantizes, check that it changed the model. From each "
      "variant's metrics.jsonl: the L2 norm of the decayed weight matrices at the first and last logged step "
      "(weight decay should hold it down); the decay factor Π(1 − lr·λ) that decoupled weight decay alone "
      "applied (1 = inert); the fraction of steps whose gradients clipping scaled down; the loss scaler's "
      "growths and backoffs (dynamic scaling only); the mean ln_1 gain STD over blocks; and, on the last "
      "validation batch, the residual stream's max |x| over blocks (|x| ≥ 6 is LLM.int8()'s outlier threshold) "
      "and its mean kurtosis over blocks (3 for Gaussian values; heavy tails mean outliers).";
  s.table.header = {"variant",          "weight norm (matrices) first → last", "decay factor", "clipped steps",
                    "scale growths / backoffs", "ln_1 gain STD", "residual max |x|", "residual kurtosis"};
  s.table.numeric = {false, true, true, true, true, true, true, true};
  bool any = false;
  for (const Variant& v : tree.variants) {
    const KnobIndicators k = knob_indicators(v);
    any = any || k.any();
    const std::string norm = k.weight_norm_last ? opt(k.weight_norm_first, 2) + " → " + opt(k.weight_norm_last, 2)
                                                : std::string(kMissing);
    const std::string scale =
        k.scale_growths || k.scale_backoffs ? opt(k.scale_growths, 0) + " / " + opt(k.scale_backoffs, 0) : kMissing;
    s.table.rows.push_back({v.name, norm, opt(k.decay_factor, 4),
                            k.clipped_fraction ? fmt(100.0 * *k.clipped_fraction, 0) + "%" : std::string(kMissing),
                            scale, opt(k.ln1_gain_std, 4), opt(k.residual_max, 2), opt(k.residual_kurtosis, 2)});
  }
  if (!any) return std::nullopt;
  return s;
}

}  // namespace nurture::report
