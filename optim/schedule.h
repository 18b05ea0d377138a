// Learning-rate schedules. cosine follows nanoGPT's get_lr: linear warm-up
// lr·(it+1)/(warmup+1), then cosine from lr to min_lr over the remaining steps.
#pragma once

#include <cstdint>
#include <string>

namespace nurture::optim {

enum class ScheduleKind { cosine, linear, constant };

struct Schedule {
  ScheduleKind kind = ScheduleKind::cosine;
  double lr = 6e-4, min_lr = 6e-5;
  int64_t warmup = 0, total = 1;
  double at(int64_t step) const;  // step counts from 0
};

}  // namespace nurture::optim
