// Learning-rate schedules. Every schedule starts with nanoGPT's linear warm-up
// lr·(it+1)/(warmup+1). Then:
//   cosine:   cosine from lr to min_lr over the remaining steps (nanoGPT's get_lr);
//   linear:   straight line from lr to min_lr over the remaining steps;
//   constant: lr until the end (min_lr unused);
//   wsd:      warmup-stable-decay: constant lr, then a linear decay to min_lr over the last
//             `decay_steps` steps. Linear, not cosine, because WSD runs are compared by where the
//             decay starts, and a straight line makes "how far into the decay" the same as "how
//             much lr was removed" (Hägele et al. 2024 found linear and cosine cool-downs close).
// Like cosine, a decay phase that starts at step s and ends at `total` uses lr at s and reaches
// min_lr at `total` (one past the last step).
#pragma once

#include <cstdint>
#include <string>

namespace nurture::optim {

enum class ScheduleKind { cosine, linear, constant, wsd };

struct Schedule {
  ScheduleKind kind = ScheduleKind::cosine;
  double lr = 6e-4, min_lr = 6e-5;
  int64_t warmup = 0, total = 1;
  int64_t decay_steps = 0;  // wsd only: length of the final decay phase
  double at(int64_t step) const;  // step counts from 0
  // The 0-based index of the first step whose lr the decay (not the warm-up) lowered below lr,
  // i.e. the number of steps that see no decayed lr: a checkpoint at step <= this value is "before
  // any decay". total for constant; max(warmup, total − decay_steps) + 1 for wsd (the decay's
  // first step still uses lr).
  int64_t first_decayed_step() const;
};

// wsd's decay length for a run of `steps` steps: round(fraction · steps).
int64_t wsd_decay_steps(double fraction, int64_t steps);

}  // namespace nurture::optim
