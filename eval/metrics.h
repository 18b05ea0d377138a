// Aggregate metrics and their standard errors.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace nurture::eval {

struct Metric {
  std::string name;  // acc, acc_norm, perplexity, token_loss, bits_per_byte, ...
  double value = 0;
  double stderr_ = 0;         // standard error of `value`
  std::string stderr_method;  // "binomial" or "bootstrap"
  bool higher_is_better = true;
};

// Binomial standard error of a proportion: sqrt(p(1-p)/n). (lm-eval's mean_stderr uses the
// sample variance, sqrt(p(1-p)/(n-1)); the difference is < 0.2% of the error at n ≥ 300.)
double binomial_stderr(double p, int64_t n);

// Bootstrap standard error of statistic(sample): `resamples` draws of n item indices with
// replacement from a fixed seed; the statistic receives per-item counts (how often each item was
// drawn) and returns the resampled value. Returns the sample standard deviation of the draws.
double bootstrap_stderr(int64_t n, const std::function<double(std::span<const uint32_t>)>& statistic,
                        int resamples = 1000, uint64_t seed = 1234);

// Paired comparisons of two runs on the same items (a = before, b = after). What decides whether
// a change is real is the error of the difference, which is much smaller than either score's
// own error when the items' outcomes are correlated.
//
// Standard error of the mean paired difference d_i = b_i − a_i: sqrt(Σ(d_i − d̄)² / (n(n−1))),
// the sample standard deviation of d over √n. 0 for n < 2.
double paired_stderr(std::span<const double> a, std::span<const double> b);
// Standard error of the relative change 100·(b̄ − ā)/ā in percent, by the delta method on
// (ā, d̄) with sample (co)variances over n:
//   Var(d̄/ā) ≈ Var(d̄)/ā² − 2·d̄·Cov(d̄, ā)/ā³ + d̄²·Var(ā)/ā⁴.
// NaN when ā == 0; 0 for n < 2.
double paired_relative_stderr_pct(std::span<const double> a, std::span<const double> b);

}  // namespace nurture::eval
