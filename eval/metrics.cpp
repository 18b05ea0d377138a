#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace nurture::eval {

double binomial_stderr(double p, int64_t n) { return n > 0 ? std::sqrt(p * (1 - p) / double(n)) : 0.0; }

double bootstrap_stderr(int64_t n, const std::function<double(std::span<const uint32_t>)>& statistic, int resamples,
                        uint64_t seed) {
  if (n < 2 || resamples < 2) return 0.0;
  core::SeqRng rng(seed);
  std::vector<uint32_t> counts(static_cast<size_t>(n));
  std::vector<double> draws;
  for (int r = 0; r < resamples; ++r) {
    std::fill(counts.begin(), counts.end(), 0u);
    for (int64_t i = 0; i < n; ++i) ++counts[rng.below(static_cast<uint64_t>(n))];
    const double v = statistic(counts);
    if (std::isfinite(v)) draws.push_back(v);
  }
  if (draws.size() < 2) return 0.0;
  double mean = 0, var = 0;
  for (double v : draws) mean += v;
  mean /= double(draws.size());
  for (double v : draws) var += (v - mean) * (v - mean);
  return std::sqrt(var / double(draws.size() - 1));
}

namespace {

struct PairedMoments {
  double n = 0, mean_a = 0, mean_d = 0, var_a = 0, var_d = 0, cov = 0;  // sample (co)variances, n − 1
};

PairedMoments paired_moments(std::span<const double> a, std::span<const double> b) {
  PairedMoments m;
  const size_t n = std::min(a.size(), b.size());
  m.n = double(n);
  if (n == 0) return m;
  for (size_t i = 0; i < n; ++i) m.mean_a += a[i], m.mean_d += b[i] - a[i];
  m.mean_a /= m.n, m.mean_d /= m.n;
  if (n < 2) return m;
  for (size_t i = 0; i < n; ++i) {
    const double da = a[i] - m.mean_a, dd = (b[i] - a[i]) - m.mean_d;
    m.var_a += da * da, m.var_d += dd * dd, m.cov += da * dd;
  }
  m.var_a /= m.n - 1, m.var_d /= m.n - 1, m.cov /= m.n - 1;
  return m;
}

}  // namespace

double paired_stderr(std::span<const double> a, std::span<const double> b) {
  const PairedMoments m = paired_moments(a, b);
  return m.n >= 2 ? std::sqrt(m.var_d / m.n) : 0.0;
}

double paired_relative_stderr_pct(std::span<const double> a, std::span<const double> b) {
  const PairedMoments m = paired_moments(a, b);
  if (m.mean_a == 0) return NAN;
  if (m.n < 2) return 0.0;
  const double A = m.mean_a, D = m.mean_d;
  // Variances of the means are the sample variances over n.
  const double v = m.var_d / (A * A) - 2 * D * m.cov / (A * A * A) + D * D * m.var_a / (A * A * A * A);
  return 100.0 * std::sqrt(std::max(0.0, v / m.n));
}

}  // namespace nurture::eval
