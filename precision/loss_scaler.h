// Dynamic loss scaling with the semantics of PyTorch's torch.cuda.amp.GradScaler:
//   found_inf → scale ×= backoff (0.5), growth tracker reset, the step is skipped;
//   otherwise tracker += 1 and, at growth_interval consecutive finite steps, scale ×= growth (2).
// The loop order is: scale loss → backward → unscale into fp32 (inv_scale computed in double,
// like torch's `scale.double().reciprocal().float()`) → inf/nan check → clip → AdamW → update.
// A constant scale never changes; `none` is scale 1 with no checks skipped (bf16/fp32).
#pragma once

#include <cstdint>
#include <string>

namespace nurture::precision {

struct LossScalerConfig {
  enum class Mode { none, constant, dynamic };
  Mode mode = Mode::none;
  double init_scale = 65536.0;  // 2^16, torch's default
  double growth_factor = 2.0, backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  // A dynamic scale below this means every step overflows even at a tiny scale: training has
  // diverged, and skipping forever would hide it. Stop with a clear error instead.
  double min_scale = 1e-4;
};

class LossScaler {
 public:
  explicit LossScaler(const LossScalerConfig& cfg);
  float scale() const { return scale_; }
  bool checks_overflow() const { return cfg_.mode != LossScalerConfig::Mode::none; }
  // Multiplies the gradients by 1/scale (fp32) and reports whether any element is inf or NaN.
  bool unscale_and_check(float* grads, int64_t n) const;
  // After the step (taken or skipped). Throws std::runtime_error when a dynamic scale falls
  // below min_scale.
  void update(bool found_inf, int64_t step);

  int64_t growth_tracker() const { return tracker_; }
  int64_t skipped_steps() const { return skipped_; }
  void restore(float scale, int64_t tracker, int64_t skipped) {
    scale_ = scale;
    tracker_ = tracker;
    skipped_ = skipped;
  }

 private:
  LossScalerConfig cfg_;
  float scale_;  // fp32, like torch's 0-dim scale tensor
  int64_t tracker_ = 0, skipped_ = 0;
};

}  // namespace nurture::precision
