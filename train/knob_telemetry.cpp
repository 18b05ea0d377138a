#include "train/knob_telemetry.h"

#include <algorithm>
#include <chrono>
#include <cmath>


namespace nurture::train {

namespace {
// Serial on purpose: one parameter is too small to amortise an OpenMP fork/join, and on a shared
// machine each parallel region can wait for a descheduled thread. Measured on configs/small.yaml
// (200 steps, log_every 10, eval_every 50, 2 threads on 2 busy cores): 1.9% of the training time
// with a parallel region per parameter, 0.11% serial.
double sum_sq(const model::ParamStore& P, int i) {
  const float* p = P.master(i);
  const int64_t n = P.info(i).shape.numel();
  double s = 0;
  for (int64_t j = 0; j < n; ++j) s += double(p[j]) * double(p[j]);
  return s;
}

double population_std(const float* x, int64_t n) {
  double mean = 0, m2 = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= double(n);
  for (int64_t i = 0; i < n; ++i) m2 += (x[i] - mean) * (x[i] - mean);
  return std::sqrt(m2 / double(n));
}
}  // namespace

WeightStats weight_stats(const model::GPT& gpt) {
  const model::ParamStore& P = gpt.params();
  WeightStats s;
  double matrix = 0, embedding = 0, ln_gain = 0, bias = 0;
  auto add = [&](double& kind, int i) {
    if (i >= 0) kind += sum_sq(P, i);
  };
  add(embedding, gpt.wte());
  add(embedding, gpt.wpe());
  for (const auto& b : gpt.blocks()) {
    for (int w : {b.attn_w, b.attn_proj_w, b.fc_w, b.mlp_proj_w}) add(matrix, w);
    for (int w : {b.ln_1_w, b.ln_2_w}) add(ln_gain, w);
    for (int w : {b.ln_1_b, b.attn_b, b.attn_proj_b, b.ln_2_b, b.fc_b, b.mlp_proj_b}) add(bias, w);
    s.ln1_gain_std.push_back(population_std(P.master(b.ln_1_w), P.info(b.ln_1_w).shape.numel()));
    s.ln2_gain_std.push_back(population_std(P.master(b.ln_2_w), P.info(b.ln_2_w).shape.numel()));
  }
  add(ln_gain, gpt.ln_f_w());
  add(bias, gpt.ln_f_b());
  add(matrix, gpt.lm_head());
  s.matrix = std::sqrt(matrix);
  s.embedding = std::sqrt(embedding);
  s.ln_gain = std::sqrt(ln_gain);
  s.bias = std::sqrt(bias);
  s.all = std::sqrt(matrix + embedding + ln_gain + bias);
  return s;
}

double kurtosis(const float* x, int64_t n) {
  if (n <= 0) return 0;
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= double(n);
  double m2 = 0, m4 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = (x[i] - mean) * (x[i] - mean);
    m2 += d;
    m4 += d * d;
  }
  m2 /= double(n);
  m4 /= double(n);
  return m2 > 0 ? m4 / (m2 * m2) : 0.0;
}

void ResidualStats::residual(int layer, const core::Tensor& x) {
  if (layer < 0) return;  // after the embeddings: not a block
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t C = x.shape.cols(), tokens = x.shape.rows();
  double max_abs = 0, kurt = 0;
  // Serial, like sum_sq: one validation batch per eval is cheap, a parallel region may not be.
  for (int64_t t = 0; t < tokens; ++t) {
    const float* row = x.data + t * C;
    for (int64_t c = 0; c < C; ++c) max_abs = std::max(max_abs, double(std::abs(row[c])));
    kurt += train::kurtosis(row, C);
  }
  if (max_abs_.size() <= size_t(layer)) {
    max_abs_.resize(layer + 1, 0.0);
    kurtosis_.resize(layer + 1, 0.0);
  }
  max_abs_[layer] = std::max(max_abs_[layer], max_abs);
  kurtosis_[layer] = tokens ? kurt / double(tokens) : 0.0;
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace nurture::train
