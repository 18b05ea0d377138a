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

}  // namespace nurture::eval
