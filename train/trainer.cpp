#include "train/trainer.h"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "core/ops.h"
#include "core/rng.h"
#include "optim/clip.h"
#include "train/atomic_file.h"
#include "train/checkpoint.h"

namespace nurture::train {

namespace fs = std::filesystem;

namespace {
std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
}  // namespace

precision::PolicyConfig policy_config(const Config& cfg) {
  precision::PolicyConfig p;
  p.dtype = static_cast<precision::Format>(cfg.precision.dtype);
  p.layernorm_fp32 = cfg.precision.layernorm_fp32;
  p.softmax_fp32 = cfg.precision.softmax_fp32;
  p.loss_fp32 = cfg.precision.loss_fp32;
  p.master_half = cfg.precision.master_weights == MasterWeights::half;
  p.native_gemm = cfg.precision.native_gemm;
  return p;
}

precision::LossScalerConfig scaler_config(const Config& cfg) {
  precision::LossScalerConfig s;
  using K = LossScale::Kind;
  using M = precision::LossScalerConfig::Mode;
  s.mode = cfg.precision.loss_scale.kind == K::dynamic ? M::dynamic
           : cfg.precision.loss_scale.kind == K::constant ? M::constant
                                                           : M::none;
  s.init_scale = s.mode == M::constant ? cfg.precision.loss_scale.value : cfg.precision.init_scale;
  s.growth_interval = cfg.precision.growth_interval;
  s.min_scale = cfg.precision.min_scale;
  return s;
}

namespace {
// Records max |x| of the residual stream after every block.
class ResidualMax : public model::ForwardObserver {
 public:
  explicit ResidualMax(std::vector<float>& out) : out_(out) {}
  void residual(int layer, const core::Tensor& x) override {
    if (layer < 0) return;
    float m = 0;
    const int64_t n = x.numel();
#pragma omp parallel for schedule(static) reduction(max : m)
    for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(x.data[i]));
    if (out_.size() <= size_t(layer)) out_.resize(layer + 1, 0.0f);
    out_[layer] = std::max(out_[layer], m);
  }

 private:
  std::vector<float>& out_;
};

double fraction(int64_t part, int64_t whole) { return whole ? double(part) / double(whole) : 0.0; }
}  // namespace

model::GPTConfig gpt_config(const Config& cfg) {
  model::GPTConfig g;
  g.vocab_size = cfg.model.vocab_size;
  g.d_model = cfg.model.d_model;
  g.n_layer = cfg.model.n_layer;
  g.n_head = cfg.model.n_head;
  g.seq_len = cfg.model.seq_len;
  g.dropout = static_cast<float>(cfg.model.dropout);
  g.bias = cfg.model.bias;
  g.pos = static_cast<model::PosEmbedding>(cfg.model.pos_embedding);
  g.gelu = cfg.model.gelu == Gelu::tanh ? core::GeluKind::Tanh : core::GeluKind::Erf;
  g.init_std = static_cast<float>(cfg.model.init_std);
  g.decay_embeddings = cfg.optim.decay_embeddings;
  return g;
}

Trainer::Trainer(Config cfg, std::ostream& log) : cfg_(std::move(cfg)), log_(log) {
  run_dir_ = cfg_.output.dir;
  if (cfg_.train.threads > 0) omp_set_num_threads(cfg_.train.threads);
}

Trainer::~Trainer() = default;

std::optional<fs::path> Trainer::latest_checkpoint(const fs::path& run_dir) {
  const fs::path dir = run_dir / "checkpoints";
  if (!fs::is_directory(dir)) return std::nullopt;
  std::optional<fs::path> best;
  static const std::regex re(R"(step_(\d+)\.h5)");
  int64_t best_step = -1;
  for (auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (!std::regex_match(name, m, re)) continue;
    const int64_t s = std::stoll(m[1]);
    if (s > best_step) best_step = s, best = e.path();
  }
  return best;
}

void Trainer::setup(bool resume, bool overwrite) {
  if (!resume) {
    if (auto old = latest_checkpoint(run_dir_)) {
      if (!overwrite)
        throw std::runtime_error(run_dir_.string() + " already holds checkpoints (" + old->filename().string() +
                                 "); pass --resume to continue that run, --overwrite to start over, or choose "
                                 "another output.dir");
      fs::remove_all(run_dir_ / "checkpoints");
      fs::remove(run_dir_ / "metrics.jsonl");
    }
  }
  fs::create_directories(run_dir_ / "checkpoints");
  data::DataConfig dopt;
  dopt.corpus = cfg_.data.corpus;
  dopt.cache_dir = cfg_.data.cache_dir;
  dopt.vocab_size = cfg_.model.vocab_size;
  dopt.tokenizer_type = std::string(to_string(cfg_.data.tokenizer));
  dopt.val_fraction = cfg_.data.val_fraction;
  dopt.seq_len = cfg_.model.seq_len;
  data_ = std::make_unique<data::PreparedData>(data::prepare(dopt, [&](const std::string& m) { log_ << m << "\n"; }));
  fs::copy_file(data_->tokenizer_path, run_dir_ / "tokenizer.model", fs::copy_options::overwrite_existing);

  gpt_ = std::make_unique<model::GPT>(gpt_config(cfg_));
  mp_ = std::make_unique<precision::MixedPrecision>(policy_config(cfg_));
  scaler_ = std::make_unique<precision::LossScaler>(scaler_config(cfg_));
  if (mp_->half()) gpt_->params().enable_working_copy(true);
  opt_ = std::make_unique<optim::AdamW>(
      gpt_->params(), optim::AdamWConfig{cfg_.optim.beta1, cfg_.optim.beta2, cfg_.optim.eps, cfg_.optim.weight_decay});
  sched_ = optim::Schedule{static_cast<optim::ScheduleKind>(0), cfg_.optim.lr, cfg_.optim.min_lr,
                           cfg_.optim.warmup_steps, cfg_.train.steps};
  switch (cfg_.optim.schedule) {
    case Schedule::cosine: sched_.kind = optim::ScheduleKind::cosine; break;
    case Schedule::linear: sched_.kind = optim::ScheduleKind::linear; break;
    case Schedule::constant: sched_.kind = optim::ScheduleKind::constant; break;
  }
  const int B = cfg_.train.batch_size, T = cfg_.model.seq_len;
  sampler_ = std::make_unique<data::BatchSampler>(data_->train_tokens, T, B, cfg_.train.seed);
  x_.resize(size_t(B) * T);
  y_.resize(size_t(B) * T);

  std::optional<fs::path> ckpt = resume ? latest_checkpoint(run_dir_) : std::nullopt;
  if (ckpt) {
    load_checkpoint(*ckpt);
    log_ << "resumed from " << ckpt->string() << " at step " << step_ << "\n";
  } else {
    gpt_->init(cfg_.train.seed);
  }
  auto& P = gpt_->params();
  mp_->refresh_weights(P.master(), P.working(), P.numel());
  write_file_atomic(run_dir_ / "config.yaml", to_yaml(cfg_));
  metrics_.open(run_dir_ / "metrics.jsonl", ckpt ? step_ : 0);
  progress_ = std::make_unique<Progress>(std::cerr, ::isatty(2));
}

uint64_t Trainer::dropout_key(int64_t step, int micro) const {
  return core::mix_key(core::mix_key(cfg_.train.seed, static_cast<uint64_t>(step)), static_cast<uint64_t>(micro));
}

StepResult Trainer::step() {
  const auto t0 = std::chrono::steady_clock::now();
  const int B = cfg_.train.batch_size, T = cfg_.model.seq_len, accum = cfg_.train.grad_accum;
  auto& P = gpt_->params();
  const int64_t n = P.numel();
  const bool stage = mp_->half() && accum > 1;  // round each micro-batch's grads before summing
  if (stage) grad_sum_.assign(size_t(n), 0.0f);
  mp_->reset_telemetry();
  StepResult r;
  ResidualMax residual(r.residual_max);
  P.zero_grad();
  double loss_sum = 0;
  for (int micro = 0; micro < accum; ++micro) {
    sampler_->next(x_.data(), y_.data());
    acts_.reset();
    grads_.reset();
    tape_.clear();
    core::Ctx ctx(acts_, grads_, &tape_);
    ctx.training = true;
    ctx.prec = mp_->op_precision();
    core::Tensor logits = gpt_->forward(ctx, x_.data(), B, T, dropout_key(step_, micro), &residual);
    core::Tensor loss = core::cross_entropy(ctx, logits, y_.data());
    if (!std::isfinite(loss.data[0]) && !scaler_->checks_overflow())
      throw std::runtime_error("loss is " + std::to_string(loss.data[0]) + " at step " + std::to_string(step_ + 1) +
                               "; lower optim.lr or enable optim.grad_clip");
    loss_sum += loss.data[0];
    loss.grad[0] = scaler_->scale() / float(accum);  // scaled mean over micro-batches
    tape_.backward(ctx.prec);
    mp_->round_weight_grads(P.grad(), n);
    if (stage) {
      for (int64_t i = 0; i < n; ++i) grad_sum_[i] += P.grad()[i];
      P.zero_grad();
    }
  }
  if (stage) std::copy(grad_sum_.begin(), grad_sum_.end(), P.grad());
  if (inject_overflow_step_ == step_ + 1) P.grad()[0] = std::numeric_limits<float>::infinity();

  r.loss_scale = scaler_->scale();
  const bool found_inf = scaler_->unscale_and_check(P.grad(), n);
  const double lr = sched_.at(step_);
  if (!found_inf) {
    r.grad_norm = optim::clip_grad_norm(P.grad(), n, cfg_.optim.grad_clip.value_or(0.0));
    if (!std::isfinite(r.grad_norm))
      throw std::runtime_error("gradient norm is " + std::to_string(r.grad_norm) + " at step " +
                               std::to_string(step_ + 1) + "; lower optim.lr or enable optim.grad_clip");
    opt_->step(lr);
    mp_->refresh_weights(P.master(), P.working(), n);
  }
  scaler_->update(found_inf, step_ + 1);
  ++step_;
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  elapsed_ += dt;
  const auto& tel = mp_->telemetry();
  r.step = step_;
  r.loss = loss_sum / accum;
  r.lr = lr;
  r.skipped = found_inf;
  r.tokens_per_s = double(B) * T * accum / dt;
  r.elapsed_s = elapsed_;
  r.weight_grad_underflow = fraction(tel.weight_grads.underflow, tel.weight_grads.elements);
  r.act_grad_underflow = fraction(tel.activation_grads.underflow, tel.activation_grads.elements);
  r.act_overflow = tel.activations.overflow;
  r.act_nonfinite = tel.activations.nan + tel.activations.inf;
  r.grad_overflow = tel.activation_grads.overflow + tel.weight_grads.overflow;
  r.grad_nonfinite = tel.activation_grads.nan + tel.activation_grads.inf + tel.weight_grads.nan + tel.weight_grads.inf;

  summary_.steps = step_;
  summary_.skipped = scaler_->skipped_steps();
  summary_.final_loss_scale = scaler_->scale();
  summary_.mean_weight_grad_underflow += (r.weight_grad_underflow - summary_.mean_weight_grad_underflow) / double(step_);
  for (float m : r.residual_max) summary_.max_residual = std::max<double>(summary_.max_residual, m);
  return r;
}

double Trainer::validation_loss() {
  const int B = cfg_.train.batch_size, T = cfg_.model.seq_len;
  data::SequentialWindows windows(data_->val_tokens, T);
  double total = 0;
  int n = 0;
  for (int b = 0; b < cfg_.train.eval_batches; ++b) {
    const int rows = windows.get_batch(size_t(b) * B, B, x_.data(), y_.data());
    if (rows == 0) break;
    acts_.reset();
    core::Ctx ctx(acts_, grads_, nullptr);
    ctx.prec = mp_->op_precision(/*count=*/false);
    core::Tensor logits = gpt_->forward(ctx, x_.data(), rows, T);
    core::Tensor loss = core::cross_entropy(ctx, logits, y_.data());
    total += double(loss.data[0]) * rows;
    n += rows;
  }
  return n ? total / n : NAN;
}

void Trainer::run(int64_t stop_at) {
  const int64_t total = cfg_.train.steps;
  // Bits per byte over the validation split's average bytes per token (tokenizer-independent).
  const double val_bytes_per_token = double(data_->stats.val_bytes) / double(data_->stats.val_tokens);
  auto do_validation = [&]() {
    const double v = validation_loss();
    const double bpb = v / std::log(2.0) / val_bytes_per_token;
    metrics_.write({{"step", step_}, {"val_loss", v}, {"val_bpb", bpb}});
    progress_->message("step " + std::to_string(step_) + ": validation loss " + fmt("%.4f", v) + " (" +
                       fmt("%.3f", bpb) + " bits/byte)");
  };
  while (step_ < total) {
    if (stop_at >= 0 && step_ >= stop_at) {
      progress_->finish();
      log_ << "stopped at step " << step_ << "; checkpoint " << save_checkpoint().string() << "\n";
      return;
    }
    StepResult r = step();
    nlohmann::json rec = {{"step", r.step},
                          {"loss", r.loss},
                          {"lr", r.lr},
                          {"grad_norm", r.grad_norm},
                          {"tokens_per_s", r.tokens_per_s},
                          {"elapsed_s", r.elapsed_s},
                          {"residual_max", r.residual_max}};
    if (mp_->half()) {
      rec["loss_scale"] = r.loss_scale;
      rec["skipped"] = r.skipped;
      rec["weight_grad_underflow"] = r.weight_grad_underflow;
      rec["act_grad_underflow"] = r.act_grad_underflow;
      rec["act_overflow"] = r.act_overflow;
      rec["act_nonfinite"] = r.act_nonfinite;
      rec["grad_overflow"] = r.grad_overflow;
      rec["grad_nonfinite"] = r.grad_nonfinite;
    }
    metrics_.write(rec);
    if (r.skipped)
      progress_->message("step " + std::to_string(r.step) + ": inf/nan gradients, step skipped; loss scale now " +
                         fmt("%g", scaler_->scale()));
    progress_->update(r.step, total, r.loss, r.tokens_per_s, r.elapsed_s, cfg_.train.log_every);
    if (cfg_.train.eval_every > 0 && step_ % cfg_.train.eval_every == 0 && step_ != total) do_validation();
    if (cfg_.train.checkpoint_every > 0 && step_ % cfg_.train.checkpoint_every == 0 && step_ != total)
      progress_->message("checkpoint " + save_checkpoint().string());
  }
  progress_->finish();
  do_validation();
  log_ << "checkpoint " << save_checkpoint().string() << "\n";
  if (mp_->half())
    log_ << "precision " << to_string(cfg_.precision.dtype) << ": " << summary_.skipped << " skipped step(s), loss scale "
         << fmt("%g", summary_.final_loss_scale) << ", mean weight-gradient underflow "
         << fmt("%.3g%%", 100 * summary_.mean_weight_grad_underflow) << ", max residual |x| "
         << fmt("%.4g", summary_.max_residual) << "\n";
}

fs::path Trainer::save_checkpoint() {
  char name[64];
  std::snprintf(name, sizeof name, "step_%07lld.h5", static_cast<long long>(step_));
  const fs::path path = run_dir_ / "checkpoints" / name;
  auto& P = gpt_->params();
  CheckpointContents c;
  for (auto& info : P.infos()) {
    c.params.push_back({info.name, info.shape.vec(), P.master() + info.offset});
    c.m.push_back({info.name, info.shape.vec(), opt_->m().data() + info.offset});
    c.v.push_back({info.name, info.shape.vec(), opt_->v().data() + info.offset});
  }
  c.state.ints["step"] = step_;
  c.state.ints["adam_step"] = opt_->steps_taken();
  c.state.uints["sampler_state"] = sampler_->state();
  c.state.reals["elapsed_s"] = elapsed_;
  c.state.reals["loss_scale"] = scaler_->scale();
  c.state.ints["growth_tracker"] = scaler_->growth_tracker();
  c.state.ints["skipped_steps"] = scaler_->skipped_steps();
  c.meta.strings["precision"] = std::string(to_string(cfg_.precision.dtype));
  c.meta.strings["tokenizer"] = "tokenizer.model";
  c.config_yaml = to_yaml(cfg_);
  write_checkpoint(path.string(), c);
  return path;
}

void Trainer::load_checkpoint(const fs::path& path) {
  auto& P = gpt_->params();
  std::vector<ArraySpec> expected;
  for (auto& info : P.infos()) expected.push_back({info.name, info.shape.vec()});
  ReadOptions ro;
  ro.optimizer = OptimizerState::require;
  Checkpoint ck = read_checkpoint_expecting(path.string(), expected, ro);
  for (size_t i = 0; i < P.infos().size(); ++i) {
    const auto& info = P.info(static_cast<int>(i));
    std::copy(ck.params[i].data.begin(), ck.params[i].data.end(), P.master() + info.offset);
    std::copy(ck.m[i].data.begin(), ck.m[i].data.end(), opt_->m().data() + info.offset);
    std::copy(ck.v[i].data.begin(), ck.v[i].data.end(), opt_->v().data() + info.offset);
  }
  step_ = ck.state.ints.at("step");
  opt_->set_steps_taken(ck.state.ints.at("adam_step"));
  sampler_->set_state(ck.state.uints.at("sampler_state"));
  elapsed_ = ck.state.reals.count("elapsed_s") ? ck.state.reals.at("elapsed_s") : 0.0;
  if (ck.state.reals.count("loss_scale"))
    scaler_->restore(static_cast<float>(ck.state.reals.at("loss_scale")), ck.state.ints.at("growth_tracker"),
                     ck.state.ints.at("skipped_steps"));
}

}  // namespace nurture::train
