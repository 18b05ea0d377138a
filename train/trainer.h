// The training loop: data → the training step (train/train_step.h: GPT → loss → backward → clip
// → AdamW) → metrics, with the lr schedule, telemetry, validation, atomic HDF5 checkpoints and
// exact resume.
//
// Run directory layout (output.dir):
//   config.yaml            the resolved config
//   tokenizer.model        the SentencePiece model the run was trained with
//   metrics.jsonl          one JSON object per step (and per validation)
//   checkpoints/step_NNNNNNN.h5
//
// Under `mpirun -np N` (train/distributed.h) every rank runs this same loop on its N-th of each
// global batch; the gradients are summed across ranks in rank order before the step, so all
// ranks take the same AdamW step. Only rank 0 writes to the run directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/graph.h"
#include "data/batch_sampler.h"
#include "data/prepare.h"
#include "data/sequential_windows.h"
#include "model/gpt.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "precision/loss_scaler.h"
#include "precision/policy.h"
#include "train/metrics_log.h"
#include "train/progress.h"
#include "train/train_step.h"

namespace nurture::train {

struct StepResult {
  int64_t step = 0;  // training steps completed after this one (skipped ones included)
  double loss = 0, lr = 0, grad_norm = 0;
  double tokens_per_s = 0, elapsed_s = 0;
  // Mixed-precision telemetry (zeros under fp32).
  double loss_scale = 1;
  bool skipped = false;              // inf/nan gradients: no update (fp16 loss scaling)
  double weight_grad_underflow = 0;  // fraction of non-zero weight-gradient elements the half format flushed to 0
  double act_grad_underflow = 0;     // same, for gradients flowing between ops
  int64_t act_overflow = 0, act_nonfinite = 0, grad_overflow = 0, grad_nonfinite = 0;
  std::vector<float> residual_max;  // max |x| of the residual stream after each block
  double allreduce_s = 0;           // seconds in the gradient all-reduce (MPI runs; 0 otherwise)
  bool clipped = false;             // optim.grad_clip scaled this step's gradients down
};

// Run-level summary of the mixed-precision telemetry.
struct RunSummary {
  int64_t steps = 0, skipped = 0;
  double final_loss_scale = 1, mean_weight_grad_underflow = 0, max_residual = 0;
  // Whether the knobs acted (kept in checkpoints, so they count the whole run across resumes).
  int64_t clipped_steps = 0;                      // steps whose gradients clipping scaled down
  int64_t scale_growths = 0, scale_backoffs = 0;  // dynamic loss scale doublings / halvings
  double decay_factor = 1;                        // Π (1 − lr·λ) over the updates taken: what decay alone did
  double telemetry_s = 0;                         // seconds spent on the knob telemetry (this process)
};

model::GPTConfig gpt_config(const config::Config& cfg);

class Trainer {
 public:
  // `log` receives human-readable status lines (data preparation, validation, checkpoints).
  Trainer(config::Config cfg, std::ostream& log);
  ~Trainer();

  // Prepares data, builds the model, and either initialises it or resumes from the newest
  // checkpoint in the run directory (resume == true and one exists). A fresh start refuses a
  // run directory that already holds checkpoints unless `overwrite` (then they are deleted):
  // a finished run is never silently mixed with a new one.
  void setup(bool resume, bool overwrite = false);
  // Trains to cfg.train.steps (or stops early after `stop_at` steps, with a checkpoint, as an
  // interrupted run would), validating and checkpointing on schedule.
  void run(int64_t stop_at = -1);
  StepResult step();
  // Mean validation loss; `first_batch` (optional) observes the forward of the first batch.
  double validation_loss(model::ForwardObserver* first_batch = nullptr);
  std::filesystem::path save_checkpoint();

  model::GPT& model() { return *gpt_; }
  const precision::LossScaler& scaler() const { return *scaler_; }
  const RunSummary& summary() const { return summary_; }
  // Teaching/testing aid: the gradients of this (1-based) step get an inf, as an fp16
  // overflow would produce.
  void inject_gradient_overflow(int64_t step) { inject_overflow_step_ = step; }
  int64_t steps_done() const { return step_; }
  const config::Config& config() const { return cfg_; }
  const std::filesystem::path& run_dir() const { return run_dir_; }
  const data::PreparedData& data() const { return *data_; }
  // The newest checkpoint in a run directory, if any.
  static std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& run_dir);

 private:
  void load_checkpoint(const std::filesystem::path& path);
  // MPI: rank 0's weights, AdamW moments, step, sampler and loss-scaler state to every rank.
  void sync_from_root();
  // The interval fields of a metrics record (weight norms, clipping, loss-scale events).
  void add_knob_fields(nlohmann::json& rec);
  std::string knob_summary() const;  // the end-of-run "knobs: ..." line

  config::Config cfg_;
  std::ostream& log_;
  std::filesystem::path run_dir_;
  std::unique_ptr<data::PreparedData> data_;
  std::unique_ptr<data::BatchSampler> sampler_;
  std::unique_ptr<model::GPT> gpt_;
  std::unique_ptr<optim::AdamW> opt_;
  optim::Schedule sched_;
  MetricsLog metrics_;
  std::unique_ptr<Progress> progress_;
  std::unique_ptr<precision::MixedPrecision> mp_;
  std::unique_ptr<precision::LossScaler> scaler_;
  std::unique_ptr<TrainStep> train_step_;  // the step itself, and the arenas validation borrows
  std::ostream null_log_{nullptr};         // where ranks other than 0 send progress lines
  RunSummary summary_;
  int64_t inject_overflow_step_ = -1;
  // The last metrics record with the interval fields (step, and summary_.clipped_steps then).
  int64_t knob_logged_step_ = 0, knob_logged_clipped_ = 0;
  std::vector<int32_t> x_, y_;  // a validation batch
  int64_t step_ = 0;
  double elapsed_ = 0;  // training seconds so far, carried across resumes
};

}  // namespace nurture::train
