#include "quant/ptq_compare.h"

#include <cmath>
#include <limits>

#include "eval/metrics.h"

namespace nurture::quant {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

Change relative_change(double pre, double post, bool higher_is_better) {
  Change c;
  c.failed = !std::isfinite(pre) || !std::isfinite(post);
  c.abs = post - pre;
  c.rel_pct = pre != 0 ? 100.0 * (post - pre) / pre : kNaN;
  c.degradation_pct = higher_is_better ? 0.0 - c.rel_pct : c.rel_pct;  // 0 - x: no "-0.00"
  if (c.failed) c.abs = c.rel_pct = c.degradation_pct = kNaN;
  c.abs_se = c.degradation_se_pct = kNaN;
  return c;
}

Change paired_change(const eval::PreparedTask& task, const std::string& metric, bool higher_is_better,
                     const eval::TaskResult& pre, const eval::TaskResult& post) {
  const eval::Metric* a = pre.metric(metric);
  const eval::Metric* b = post.metric(metric);
  Change c = relative_change(a ? a->value : kNaN, b ? b->value : kNaN, higher_is_better);
  if (c.failed) return c;
  if (a->stderr_method == "binomial") {
    const std::vector<double> x = eval::item_outcomes(task, pre, metric), y = eval::item_outcomes(task, post, metric);
    c.abs_se = eval::paired_stderr(x, y);
    c.degradation_se_pct = eval::paired_relative_stderr_pct(x, y);
    return c;
  }
  const int64_t n = static_cast<int64_t>(pre.item_scores.size());
  auto diff = [&](std::span<const uint32_t> w) {
    return eval::weighted_metric(task, post, metric, w) - eval::weighted_metric(task, pre, metric, w);
  };
  auto rel = [&](std::span<const uint32_t> w) {
    const double p = eval::weighted_metric(task, pre, metric, w);
    return 100.0 * (eval::weighted_metric(task, post, metric, w) - p) / p;
  };
  // The same seed draws the same resamples for both statistics.
  c.abs_se = eval::bootstrap_stderr(n, diff, kPairedBootstrapResamples, kPairedBootstrapSeed);
  c.degradation_se_pct =
      std::isfinite(c.rel_pct) ? eval::bootstrap_stderr(n, rel, kPairedBootstrapResamples, kPairedBootstrapSeed) : kNaN;
  return c;
}

RecipeSummary summarize(const std::vector<std::string>& task_names, const std::vector<Change>& changes) {
  RecipeSummary s;
  double sum = 0, var = 0;
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& c = changes[i];
    if (c.failed) {
      s.failed = true;
      s.failed_tasks.push_back(i < task_names.size() ? task_names[i] : std::to_string(i));
      continue;
    }
    if (!std::isfinite(c.degradation_pct)) continue;  // pre == 0: no relative change
    sum += c.degradation_pct;
    var += std::isfinite(c.degradation_se_pct) ? c.degradation_se_pct * c.degradation_se_pct : 0.0;
    ++s.tasks_in_mean;
  }
  if (s.failed || s.tasks_in_mean == 0) {
    s.mean_pct = s.mean_se_pct = kNaN;
  } else {
    s.mean_pct = sum / s.tasks_in_mean;
    s.mean_se_pct = std::sqrt(var) / s.tasks_in_mean;
  }
  return s;
}

}  // namespace nurture::quant
