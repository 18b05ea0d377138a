#include "precision/loss_scaler.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

namespace nurture::precision {

LossScaler::LossScaler(const LossScalerConfig& cfg)
    : cfg_(cfg), scale_(cfg.mode == LossScalerConfig::Mode::none ? 1.0f : static_cast<float>(cfg.init_scale)) {}

bool LossScaler::unscale_and_check(float* g, int64_t n) const {
  if (cfg_.mode == LossScalerConfig::Mode::none) return false;
  const float inv = static_cast<float>(1.0 / static_cast<double>(scale_));
  int found = 0;
#pragma omp parallel for schedule(static) reduction(| : found)
  for (int64_t i = 0; i < n; ++i) {
    g[i] *= inv;
    found |= !std::isfinite(g[i]);
  }
  return found != 0;
}

void LossScaler::update(bool found_inf, int64_t step) {
  if (found_inf) ++skipped_;
  if (cfg_.mode != LossScalerConfig::Mode::dynamic) return;
  if (found_inf) {
    scale_ = static_cast<float>(scale_ * cfg_.backoff_factor);
    tracker_ = 0;
    if (scale_ < cfg_.min_scale) {
      char buf[320];
      std::snprintf(buf, sizeof buf,
                    "loss scale fell to %g (below precision.min_scale %g) at step %lld after %lld skipped steps: "
                    "gradients overflow fp16 at any scale; lower optim.lr, enable optim.grad_clip, or use "
                    "precision.dtype=bf16",
                    double(scale_), cfg_.min_scale, static_cast<long long>(step), static_cast<long long>(skipped_));
      throw std::runtime_error(buf);
    }
  } else if (++tracker_ == cfg_.growth_interval) {
    scale_ = static_cast<float>(scale_ * cfg_.growth_factor);
    tracker_ = 0;
  }
}

}  // namespace nurture::precision
