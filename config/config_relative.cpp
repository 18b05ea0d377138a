// Keys stated relative to the run, for mapping the paper's settings by what they do rather than
// by their number (issue 16, docs/CONFIG.md "Knobs stated relative to the run"):
//
// - Weight decay. AdamW's decoupled decay multiplies the weights by (1 − lr·λ) per step, so the
//   weights forget past updates on a timescale of τ = 1/(lr·λ) steps (Wang & Aitchison 2024).
//   What carries over between runs of different lengths is τ as a fraction of the run, i.e.
//   lr_peak·λ·T. The paper's λ (0.001/0.01/0.1) is mapped through an assumed paper-side run
//   (paper_lr, paper_steps) to the λ that gives this run the same lr_peak·λ·T. Peak lr, not Σ lr
//   over the schedule: the paper side only has an assumed peak lr (its schedule shape is another
//   assumption), and with the peak a schedule axis (cosine vs wsd) leaves λ unchanged.
// - Loss-scaler growth interval: GradScaler's 2000 steps is ~2.7% of a 75k-step run but longer
//   than a CPU run, where the scale could then only fall.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "config/config_kinds.h"

namespace nurture::config {

const std::vector<DerivedKey>& derived_keys() {
  static const std::vector<DerivedKey> keys{
      {"optim.paper_weight_decay", "optim.weight_decay"},
      {"precision.growth_interval_fraction", "precision.growth_interval"},
  };
  return keys;
}

double paper_equivalent_weight_decay(const Config& c) {
  const auto& o = c.optim;
  const double lambda =
      o.paper_weight_decay.value_or(0.0) * (o.paper_lr * double(o.paper_steps)) / (o.lr * double(c.train.steps));
  // 6 significant digits, so config.yaml and variant tables read 0.18, not 0.18000000000000002.
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", lambda);
  return std::strtod(text, nullptr);
}

double weight_decay_horizon(const Config& c) { return c.optim.lr * c.optim.weight_decay * double(c.train.steps); }

void apply_derived_keys(Config& c, const KeyOrigins& origins) {
  // The later of a relative key and its absolute key wins; an absolute key given later makes the
  // relative key null, so config.yaml never shows a relative value that was not used.
  if (c.optim.paper_weight_decay) {
    if (origins.order("optim.weight_decay") > origins.order("optim.paper_weight_decay"))
      c.optim.paper_weight_decay.reset();
    else
      c.optim.weight_decay = paper_equivalent_weight_decay(c);
  }
  if (c.precision.growth_interval_fraction) {
    if (origins.order("precision.growth_interval") > origins.order("precision.growth_interval_fraction"))
      c.precision.growth_interval_fraction.reset();
    else
      c.precision.growth_interval = std::max<int64_t>(
          1, static_cast<int64_t>(std::llround(*c.precision.growth_interval_fraction * double(c.train.steps))));
  }
}

}  // namespace nurture::config
