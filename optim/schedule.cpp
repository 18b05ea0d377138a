#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

namespace nurture::optim {

double Schedule::at(int64_t it) const {
  if (it < warmup) return lr * double(it + 1) / double(warmup + 1);
  if (kind == ScheduleKind::constant) return lr;
  if (it >= total) return min_lr;
  const double ratio = double(it - warmup) / double(std::max<int64_t>(1, total - warmup));
  const double coeff = kind == ScheduleKind::cosine ? 0.5 * (1.0 + std::cos(M_PI * ratio)) : 1.0 - ratio;
  return min_lr + coeff * (lr - min_lr);
}

}  // namespace nurture::optim
