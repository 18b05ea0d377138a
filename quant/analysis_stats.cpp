#include "quant/analysis_stats.h"

#include <algorithm>
#include <cmath>

#include "quant/quantizer.h"

namespace nurture::quant {

void row_mean_std(const float* x, int64_t rows, int64_t cols, double* mean, double* std) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += row[c];
    const double m = cols > 0 ? s / double(cols) : 0;
    // Two passes: the centred sum of squares does not cancel the way E[x²] − E[x]² can.
    double ss = 0;
    for (int64_t c = 0; c < cols; ++c) ss += (row[c] - m) * (row[c] - m);
    mean[r] = m;
    std[r] = cols > 0 ? std::sqrt(ss / double(cols)) : 0;
  }
}

void InputStatsAccumulator::add(const float* x, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  scratch_.resize(size_t(rows * cols));
  QuantSpec spec;  // int8, symmetric absmax, one scale per row: the paper's per-token activations
  spec.bits = 8;
  spec.symmetric = true;
  spec.gran = Granularity::row;
  fake_quant(x, rows, cols, spec, scratch_.data());
  std::vector<double> mean(static_cast<size_t>(rows)), sd(static_cast<size_t>(rows));
  row_mean_std(x, rows, cols, mean.data(), sd.data());
  for (int64_t r = 0; r < rows; ++r) std_sum_ += sd[size_t(r)];
  for (int64_t i = 0; i < rows * cols; ++i) {
    const double e = double(x[i]) - double(scratch_[size_t(i)]);
    sq_err_ += e * e;
    max_abs_ = std::max(max_abs_, double(std::fabs(x[i])));
  }
  rows_ += rows;
  elements_ += rows * cols;
}

InputStats InputStatsAccumulator::result() const {
  InputStats s;
  s.tokens = rows_;
  if (elements_ == 0) return s;
  s.rmse_int8 = std::sqrt(sq_err_ / double(elements_));
  s.token_std = std_sum_ / double(rows_);
  s.max_abs = max_abs_;
  return s;
}

ValueStats value_stats(const float* x, int64_t n) {
  ValueStats v;
  if (n <= 0) return v;
  double m = 0, sd = 0;
  row_mean_std(x, 1, n, &m, &sd);
  v.mean = m;
  v.std = sd;
  for (int64_t i = 0; i < n; ++i) v.max_abs = std::max(v.max_abs, double(std::fabs(x[i])));
  return v;
}

Histogram histogram(const float* x, int64_t n, int bins, double lo, double hi) {
  Histogram h;
  bins = std::max(bins, 1);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  h.edges.resize(size_t(bins) + 1);
  for (int b = 0; b <= bins; ++b) h.edges[size_t(b)] = lo + (hi - lo) * double(b) / double(bins);
  h.counts.assign(size_t(bins), 0);
  const double width = (hi - lo) / double(bins);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (std::isnan(v)) continue;
    int b = v <= lo ? 0 : v >= hi ? bins - 1 : int((v - lo) / width);
    h.counts[size_t(std::clamp(b, 0, bins - 1))]++;
  }
  return h;
}

Histogram histogram(const float* x, int64_t n, int bins, bool symmetric) {
  double lo = 0, hi = 0;
  bool any = false;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    lo = any ? std::min(lo, double(x[i])) : double(x[i]);
    hi = any ? std::max(hi, double(x[i])) : double(x[i]);
    any = true;
  }
  if (symmetric) {
    const double m = std::max(std::fabs(lo), std::fabs(hi));
    lo = -m;
    hi = m;
  }
  return histogram(x, n, bins, lo, hi);
}

}  // namespace nurture::quant
