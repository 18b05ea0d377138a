// One optimizer step: for each micro-batch forward, loss, scaled backward, weight-gradient
// rounding and staging; then the cross-rank gradient sum, unscale and inf/nan check, clipping,
// AdamW and the refresh of the half weights; then the loss-scaler update.
//
// The trainer (train/trainer.h) and the benchmarks (bench/bench_train.cpp,
// eval/tools/bench_eval.cpp) all run this class, so a benchmark measures the step training runs
// and a change to the step lands everywhere at once. What is around a step (data order, the
// learning-rate schedule, telemetry, logging, checkpoints) stays with the caller.
//
// Under `mpirun -np N` (train/distributed.h) every rank calls run() with its slice of each
// global batch and the same step; slice s = micro·N + rank keys the dropout masks, so one
// process with grad_accum·N micro-batches computes what N ranks compute.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/arena.h"
#include "core/graph.h"
#include "model/gpt.h"
#include "optim/adamw.h"
#include "precision/loss_scaler.h"
#include "precision/policy.h"

namespace nurture::train {

struct TrainStepConfig {
  int batch_rows = 0;   // rows of one micro-batch on this rank
  int seq_len = 0;
  int grad_accum = 1;   // micro-batches per step
  double grad_clip = 0; // max global L2 norm; 0: no clipping (the norm is still computed)
  uint64_t seed = 0;    // keys the dropout masks, with the step and the micro-batch slice
};

// Wall seconds of each part of a step (for benchmarks and the MPI all-reduce metric).
struct StepPhases {
  double data = 0;       // the batch callback
  double zero_grad = 0;  // zeroing the gradients, resetting the arenas and the tape
  double forward = 0;    // forward and loss
  double backward = 0;   // backward, weight-gradient rounding, staging
  double allreduce = 0;  // the cross-rank gradient and loss sums (0 in one process)
  double optimizer = 0;  // unscale and check, clip, AdamW, weight refresh, scaler update
};

struct StepOutcome {
  double loss = 0;        // mean over micro-batches and ranks
  double grad_norm = 0;   // before clipping; 0 when skipped
  float loss_scale = 1;   // the scale this step's gradients were computed with
  bool skipped = false;   // inf/nan gradients: no update
  bool clipped = false;   // clipping scaled the gradients down
  StepPhases phases;
};

class TrainStep {
 public:
  // Fills micro-batch `micro`'s inputs and targets, batch_rows × seq_len each.
  using BatchFn = std::function<void(int micro, int32_t* x, int32_t* y)>;

  // The referenced objects must outlive this one; the step leaves their setup (working copy,
  // initial weight refresh) to the caller.
  TrainStep(model::GPT& gpt, optim::AdamW& opt, precision::MixedPrecision& mp, precision::LossScaler& scaler,
            const TrainStepConfig& cfg);

  // Step `step` (0-based: the steps taken before it) with learning rate lr. `obs` watches every
  // micro-batch's forward. Throws std::runtime_error on a non-finite loss without a loss scaler
  // to catch it, or on a non-finite gradient norm, naming the first non-finite value.
  StepOutcome run(int64_t step, double lr, const BatchFn& next_batch, model::ForwardObserver* obs = nullptr);

  // Teaching/testing aid: the next step's gradients get an inf before the cross-rank sum, as an
  // fp16 overflow would produce (on the last rank only; the sum carries it to every rank).
  void inject_gradient_overflow() { inject_overflow_ = true; }

  // The activation and activation-gradient memory, reused from step to step; a caller may use it
  // between steps (validation) to avoid a second copy.
  core::Arena& acts() { return acts_; }
  core::Arena& grads() { return grads_; }

 private:
  // One micro-batch: forward, loss, scaled backward, rounding, staging into grad_sum_.
  double micro_batch(int64_t step, int micro, model::ForwardObserver* obs, StepPhases& ph);

  model::GPT& gpt_;
  optim::AdamW& opt_;
  precision::MixedPrecision& mp_;
  precision::LossScaler& scaler_;
  TrainStepConfig cfg_;
  int ranks_ = 1, rank_ = 0;
  core::Arena acts_, grads_;
  core::Tape tape_;
  std::vector<int32_t> x_, y_;
  // grad_accum > 1: the micro-batch gradients so far, each computed alone (and rounded, under a
  // half policy) and added in micro-batch order, as the MPI all-reduce adds the ranks' slices.
  std::vector<float> grad_sum_;
  std::vector<float> reduce_scratch_;  // dist::sum_ordered's receive buffer
  bool inject_overflow_ = false;
};

}  // namespace nurture::train
