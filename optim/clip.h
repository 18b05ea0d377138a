// Global L2-norm gradient clipping, torch.nn.utils.clip_grad_norm_ semantics:
// coef = max_norm / (‖g‖ + 1e-6), clamped to ≤ 1, applied to every gradient; returns ‖g‖
// (before clipping). The norm is accumulated in double over fixed chunks: deterministic.
#pragma once

#include <cstdint>

namespace nurture::optim {

double global_norm(const float* g, int64_t n);
// max_norm <= 0 disables clipping (the norm is still returned). `clipped` (optional) tells
// whether the gradients were scaled down (coef < 1).
double clip_grad_norm(float* g, int64_t n, double max_norm, bool* clipped = nullptr);

}  // namespace nurture::optim
