// Comparing a recipe with "pre" (quant/README.md "Relative degradation"): per task the paper's
// relative degradation with the standard error of the *paired* difference (pre and post score the
// same items), and per recipe the mean over tasks, where a failed task fails the recipe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/runner.h"

namespace nurture::quant {

// The paired bootstrap for likelihood-type metrics (bits_per_byte, perplexity, token_loss):
// the same resamples of items (windows) for pre and post.
constexpr int kPairedBootstrapResamples = 1000;
constexpr uint64_t kPairedBootstrapSeed = 1234;

// The paper's relative degradation: rel_pct = 100·(post − pre)/pre, degradation_pct = rel_pct
// for lower-is-better metrics and −rel_pct otherwise (positive = worse). NaN when pre == 0.
// `failed`: pre or post is not finite (an overflowed forward), so the change is no number.
struct Change {
  double abs = 0, rel_pct = 0, degradation_pct = 0;
  double abs_se = 0, degradation_se_pct = 0;  // standard errors of the paired difference
  bool failed = false;
};
Change relative_change(double pre, double post, bool higher_is_better);

// relative_change plus the paired standard errors, from both runs' per-item scores:
// - proportions (stderr_method "binomial": acc, acc_norm, ...): abs_se from the per-item
//   differences (eval::paired_stderr), degradation_se_pct by the delta method
//   (eval::paired_relative_stderr_pct);
// - every other metric: the standard deviation of post(w) − pre(w) and of the relative change
//   over the same kPairedBootstrapResamples resamples w of the items (seed kPairedBootstrapSeed).
Change paired_change(const eval::PreparedTask& task, const std::string& metric, bool higher_is_better,
                     const eval::TaskResult& pre, const eval::TaskResult& post);

// The mean over tasks. Any failed task fails the recipe: then the mean is NaN (ptq.json null)
// and failed_tasks names them. Tasks whose relative change is undefined (pre == 0) are left out
// of the mean. mean_se_pct = sqrt(Σ se²)/n over the n tasks in the mean (tasks independent).
struct RecipeSummary {
  bool failed = false;
  std::vector<std::string> failed_tasks;
  double mean_pct = 0, mean_se_pct = 0;
  int tasks_in_mean = 0;
};
RecipeSummary summarize(const std::vector<std::string>& task_names, const std::vector<Change>& changes);

}  // namespace nurture::quant
