#include "optim/clip.h"

#include <cmath>
#include <vector>

namespace nurture::optim {

double global_norm(const float* g, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(nchunks), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < nchunks; ++c) {
    double s = 0;
    const int64_t end = std::min(n, (c + 1) * kChunk);
    for (int64_t i = c * kChunk; i < end; ++i) s += double(g[i]) * double(g[i]);
    part[c] = s;
  }
  double total = 0;
  for (double s : part) total += s;
  return std::sqrt(total);
}

double clip_grad_norm(float* g, int64_t n, double max_norm, bool* clipped) {
  const double norm = global_norm(g, n);
  if (clipped) *clipped = false;
  if (max_norm <= 0) return norm;
  const double coef = max_norm / (norm + 1e-6);
  if (clipped) *clipped = coef < 1.0;
  if (coef < 1.0) {
    const float c = static_cast<float>(coef);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) g[i] *= c;
  }
  return norm;
}

}  // namespace nurture::optim
