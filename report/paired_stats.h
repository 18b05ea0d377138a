// Statistics for seed replicates: a paired difference (variant minus control, matched by
// `train.seed`) with a Student-t 95% confidence interval, so the report can say whether an
// effect is larger than the run-to-run noise, and how large an effect the design could see.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace nurture::report {

// The regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1 (continued
// fraction, modified Lentz; relative accuracy ~1e-14). Throws std::invalid_argument outside
// the domain.
double incomplete_beta(double a, double b, double x);

// The Student t distribution with `df` > 0 degrees of freedom: P(T <= t), and its inverse for
// 0 < p < 1 (bisection on the CDF to full double precision: slow-ish but exact enough for
// a report that needs a handful of quantiles).
double student_t_cdf(double t, double df);
double student_t_quantile(double p, double df);

// The mean of per-seed differences d_i = variant_i − control_i with its confidence interval
// mean ± t(1 − α/2, n − 1) · sd / √n. With one pair there is no interval (sd is undefined).
struct PairedDifference {
  int n = 0;                              // pairs (seeds present in both)
  double mean = 0;                        // mean difference
  std::optional<double> sd;               // sample standard deviation of the d_i (n >= 2)
  std::optional<double> ci_low, ci_high;  // the confidence interval (n >= 2)
  std::optional<double> half_width;       // (ci_high − ci_low) / 2
  // The smallest true difference a two-sided test at this level detects with 80% power:
  // (t(1 − α/2, n − 1) + t(0.8, n − 1)) · sd / √n (the usual t approximation, taking the
  // observed sd as the true one). Larger than half_width, which only has 50% power.
  std::optional<double> mde80;
  // Two-sided p-value of the paired t-test of mean 0 (n >= 2): below 0.05 exactly when the 95%
  // interval excludes 0. For holm_adjusted() over many rows.
  std::optional<double> p_value;

  // "effect" when the interval excludes 0, "none detected" when it contains 0, "one seed"
  // when there is no interval, "" when n == 0.
  std::string verdict() const;
};

PairedDifference paired_difference(const std::vector<double>& differences, double confidence = 0.95);

// Holm's step-down adjustment of a family of p-values (missing ones are left out of the family
// and stay missing): sort ascending, p'_(i) = max_{j <= i} min(1, (m − j + 1) · p_(j)). Rejecting
// where p' < α keeps the chance of any false "effect" in the family at α or below, without
// assuming the tests independent — a report with a hundred rows otherwise shows ~5 by chance.
std::vector<std::optional<double>> holm_adjusted(const std::vector<std::optional<double>>& p);

}  // namespace nurture::report
