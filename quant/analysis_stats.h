// The per-tensor statistics of the paper's section 5 (Ahmadian et al. 2023), computed from
// plain row-major float arrays so they can be checked on hand-made inputs:
// - activation inputs X [tokens, features]: RMSE(X, X̂) against per-token int8 fake
//   quantization, the mean over tokens of each token's standard deviation, and max |x|;
// - weights and LayerNorm gains: mean, standard deviation, max |w|;
// - fixed-width histograms (Figure 4).
// Standard deviations are population ones (divide by n, ddof = 0, as jnp.std): the paper's
// models were trained in JAX, and with hundreds of features the choice changes nothing visible.
#pragma once

#include <cstdint>
#include <vector>

namespace nurture::quant {

struct InputStats {
  double rmse_int8 = 0;  // sqrt(mean over every element of (x - x̂)²), x̂ = per-token int8 fake quant
  double token_std = 0;  // mean over tokens of std over that token's features
  double max_abs = 0;    // max |x|
  int64_t tokens = 0;
};

// Accumulates InputStats over calibration batches of one linear input, so the whole
// calibration set never has to sit in memory at once.
class InputStatsAccumulator {
 public:
  // x: [rows, cols] row-major, one row per token.
  void add(const float* x, int64_t rows, int64_t cols);
  InputStats result() const;

 private:
  double sq_err_ = 0, std_sum_ = 0, max_abs_ = 0;
  int64_t rows_ = 0, elements_ = 0;
  std::vector<float> scratch_;  // the fake-quantized copy
};

// Mean and population standard deviation of each row of x [rows, cols], in double.
void row_mean_std(const float* x, int64_t rows, int64_t cols, double* mean, double* std);

struct ValueStats {
  double mean = 0, std = 0, max_abs = 0;
};
ValueStats value_stats(const float* x, int64_t n);

struct Histogram {
  std::vector<double> edges;    // bins + 1 increasing edges
  std::vector<int64_t> counts;  // bins; the last bin includes its right edge
};
// `bins` equal bins over [lo, hi]; values outside are counted in the end bins. lo == hi
// widens the range to [lo - 0.5, lo + 0.5] so a constant tensor (an untrained LayerNorm gain)
// still gets one visible bar.
Histogram histogram(const float* x, int64_t n, int bins, double lo, double hi);
// Over the tensor's own range: symmetric [-max|x|, max|x|] when `symmetric` (weights, centred
// on 0), else [min, max] (LayerNorm gains, centred near 1).
Histogram histogram(const float* x, int64_t n, int bins, bool symmetric);

}  // namespace nurture::quant
