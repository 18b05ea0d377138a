// AdamW with decoupled weight decay, PyTorch semantics (torch.optim.AdamW, single-tensor path):
//   p ← p·(1 − lr·wd);  m ← lerp(m, g, 1−β1);  v ← β2·v + (1−β2)·g²
//   p ← p − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + ε)
// Bias corrections are computed in double like PyTorch's Python scalars, then applied in fp32.
// Weight decay applies to parameters flagged `decay` in the ParamStore (2-D weights by default).
#pragma once

#include <cstdint>
#include <vector>

#include "model/params.h"

namespace nurture::optim {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
};

class AdamW {
 public:
  AdamW(model::ParamStore& params, const AdamWConfig& cfg);
  // One update of the master weights from the (unscaled, clipped) fp32 gradients.
  void step(double lr);
  int64_t steps_taken() const { return t_; }
  void set_steps_taken(int64_t t) { t_ = t; }
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  const AdamWConfig& config() const { return cfg_; }

 private:
  model::ParamStore& params_;
  AdamWConfig cfg_;
  std::vector<float> m_, v_;  // same flat layout as the parameters
  int64_t t_ = 0;
};

}  // namespace nurture::optim
