#include "train/train_step.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/ops.h"
#include "core/rng.h"
#include "optim/clip.h"
#include "train/distributed.h"
#include "train/nonfinite.h"

namespace nurture::train {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point& t) {
  const auto now = Clock::now();
  const double s = std::chrono::duration<double>(now - t).count();
  t = now;
  return s;
}
}  // namespace

TrainStep::TrainStep(model::GPT& gpt, optim::AdamW& opt, precision::MixedPrecision& mp,
                     precision::LossScaler& scaler, const TrainStepConfig& cfg)
    : gpt_(gpt), opt_(opt), mp_(mp), scaler_(scaler), cfg_(cfg), ranks_(dist::size()), rank_(dist::rank()) {
  if (cfg_.batch_rows <= 0 || cfg_.seq_len <= 0 || cfg_.grad_accum <= 0)
    throw std::invalid_argument("TrainStep: batch_rows, seq_len and grad_accum must be positive");
  x_.resize(size_t(cfg_.batch_rows) * cfg_.seq_len);
  y_.resize(x_.size());
}

double TrainStep::micro_batch(int64_t step, int micro, model::ForwardObserver* obs, StepPhases& ph) {
  auto& P = gpt_.params();
  const int64_t n = P.numel();
  const int accum = cfg_.grad_accum, N = ranks_, rows = cfg_.batch_rows, T = cfg_.seq_len;
  auto t = Clock::now();
  acts_.reset();
  grads_.reset();
  tape_.clear();
  ph.zero_grad += seconds_since(t);
  core::Ctx ctx(acts_, grads_, &tape_);
  ctx.training = true;
  ctx.prec = mp_.op_precision();
  // Slice micro·N + rank: the dropout masks of one process with grad_accum·N micro-batches.
  const uint64_t key = core::mix_key(core::mix_key(cfg_.seed, static_cast<uint64_t>(step)),
                                     static_cast<uint64_t>(micro * N + rank_));
  core::Tensor logits = gpt_.forward(ctx, x_.data(), rows, T, key, obs);
  core::Tensor loss = core::cross_entropy(ctx, logits, y_.data());
  // (MPI runs check the loss summed over ranks after the reduction, so every rank stops together.)
  if (!std::isfinite(loss.data[0]) && !scaler_.checks_overflow() && N == 1) {
    std::string why = describe_nonfinite(P);
    if (!first_nonfinite(P, P.master())) {  // finite weights: find the activation that overflowed
      acts_.reset();
      core::Ctx diag(acts_, grads_, nullptr);
      diag.training = true;
      diag.prec = ctx.prec;
      const std::string act = first_nonfinite_activation(gpt_, diag, x_.data(), rows, T, key);
      if (!act.empty()) why += "; " + act;
    }
    throw std::runtime_error("loss is " + std::to_string(loss.data[0]) + " at step " + std::to_string(step + 1) +
                             "; " + why + "; lower optim.lr or enable optim.grad_clip");
  }
  ph.forward += seconds_since(t);
  loss.grad[0] = scaler_.scale() / float(accum * N);  // scaled mean over micro-batches and ranks
  tape_.backward(ctx.prec);
  mp_.round_weight_grads(P.grad(), n);
  // Each micro-batch's gradient is computed alone and the slices are added in order (under a half
  // policy, after rounding), so one process with grad_accum = N gives the bits of N ranks.
  if (accum > 1) {
    float* g = P.grad();
    float* sum = grad_sum_.data();
    if (micro == 0) {
      std::copy(g, g + n, sum);
    } else if (micro < accum - 1) {
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) sum[i] += g[i];
    } else {  // the last slice adds into the gradient buffer itself (a + b == b + a)
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) g[i] += sum[i];
    }
    if (micro < accum - 1) P.zero_grad();
  }
  ph.backward += seconds_since(t);
  return loss.data[0];
}

StepOutcome TrainStep::run(int64_t step, double lr, const BatchFn& next_batch, model::ForwardObserver* obs) {
  auto& P = gpt_.params();
  const int64_t n = P.numel();
  const int accum = cfg_.grad_accum, N = ranks_;
  StepOutcome r;
  auto t = Clock::now();
  if (accum > 1) grad_sum_.resize(size_t(n));
  P.zero_grad();
  r.phases.zero_grad += seconds_since(t);
  double loss_sum = 0;
  for (int micro = 0; micro < accum; ++micro) {
    t = Clock::now();
    next_batch(micro, x_.data(), y_.data());
    r.phases.data += seconds_since(t);
    loss_sum += micro_batch(step, micro, obs, r.phases);
  }
  if (inject_overflow_ && rank_ == N - 1) P.grad()[0] = std::numeric_limits<float>::infinity();
  inject_overflow_ = false;
  t = Clock::now();
  if (N > 1) {
    dist::sum_ordered(P.grad(), n, reduce_scratch_);
    loss_sum = dist::sum_ordered(loss_sum);
    r.phases.allreduce = seconds_since(t);
    if (!std::isfinite(loss_sum) && !scaler_.checks_overflow())
      throw std::runtime_error("loss is " + std::to_string(loss_sum / (accum * N)) + " at step " +
                               std::to_string(step + 1) + " (mean over " + std::to_string(N) + " MPI ranks); " +
                               describe_nonfinite(P) + "; lower optim.lr or enable optim.grad_clip");
  }
  r.loss = loss_sum / (accum * N);

  t = Clock::now();
  r.loss_scale = scaler_.scale();
  // Every rank holds the same summed gradients, so the ranks already agree; `any` makes the
  // skip decision collective explicitly, so no rank can ever skip a step alone.
  r.skipped = dist::any(scaler_.unscale_and_check(P.grad(), n));
  if (!r.skipped) {
    r.grad_norm = optim::clip_grad_norm(P.grad(), n, cfg_.grad_clip, &r.clipped);
    if (!std::isfinite(r.grad_norm))
      throw std::runtime_error("gradient norm is " + std::to_string(r.grad_norm) + " at step " +
                               std::to_string(step + 1) + " (loss " + std::to_string(r.loss) + "); " +
                               describe_nonfinite(P) + "; lower optim.lr or enable optim.grad_clip");
    opt_.step(lr);
    mp_.refresh_weights(P.master(), P.working(), n);
  }
  scaler_.update(r.skipped, step + 1);
  r.phases.optimizer = seconds_since(t);
  return r;
}

}  // namespace nurture::train
