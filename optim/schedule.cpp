#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

namespace nurture::optim {

double Schedule::at(int64_t it) const {
  if (it < warmup) return lr * double(it + 1) / double(warmup + 1);
  if (kind == ScheduleKind::constant) return lr;
  if (it >= total) return min_lr;
  // The decay phase: [start, total). wsd holds lr until its decay starts (never inside the warm-up).
  const int64_t start = kind == ScheduleKind::wsd ? std::max(warmup, total - decay_steps) : warmup;
  if (it < start) return lr;
  const double ratio = double(it - start) / double(std::max<int64_t>(1, total - start));
  const double coeff = kind == ScheduleKind::cosine ? 0.5 * (1.0 + std::cos(M_PI * ratio)) : 1.0 - ratio;
  return min_lr + coeff * (lr - min_lr);
}

int64_t Schedule::first_decayed_step() const {
  if (kind == ScheduleKind::constant) return total;
  const int64_t start = kind == ScheduleKind::wsd ? std::max(warmup, total - decay_steps) : warmup;
  return std::min(total, start + 1);
}

int64_t wsd_decay_steps(double fraction, int64_t steps) {
  return static_cast<int64_t>(std::llround(fraction * double(steps)));
}

}  // namespace nurture::optim
