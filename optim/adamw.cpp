#include "optim/adamw.h"

#include <cmath>

namespace nurture::optim {

AdamW::AdamW(model::ParamStore& params, const AdamWConfig& cfg)
    : params_(params), cfg_(cfg), m_(params.numel(), 0.0f), v_(params.numel(), 0.0f) {}

void AdamW::step(double lr) {
  ++t_;
  const double bc1 = 1.0 - std::pow(cfg_.beta1, double(t_));
  const double bc2 = 1.0 - std::pow(cfg_.beta2, double(t_));
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float b1w = static_cast<float>(1.0 - cfg_.beta1);  // lerp weight
  const float b2 = static_cast<float>(cfg_.beta2), one_minus_b2 = static_cast<float>(1.0 - cfg_.beta2);
  const float eps = static_cast<float>(cfg_.eps);
  float* P = params_.master();
  const float* G = params_.grad();
  float* M = m_.data();
  float* V = v_.data();
  // One parallel region for all tensors; `nowait` because tensors are disjoint ranges.
#pragma omp parallel
  for (const auto& info : params_.infos()) {
    const float decay = info.decay ? static_cast<float>(1.0 - lr * cfg_.weight_decay) : 1.0f;
    const int64_t off = info.offset, n = info.numel();
#pragma omp for schedule(static) nowait
    for (int64_t i = off; i < off + n; ++i) {
      float p = P[i] * decay;
      const float g = G[i];
      float m = M[i];
      m = m + b1w * (g - m);  // torch.lerp for weight < 0.5
      const float v = V[i] * b2 + one_minus_b2 * g * g;
      const float denom = std::sqrt(v) / bc2_sqrt + eps;
      p = p - step_size * (m / denom);
      P[i] = p;
      M[i] = m;
      V[i] = v;
    }
  }
}

}  // namespace nurture::optim
