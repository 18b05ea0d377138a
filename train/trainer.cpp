#include "train/trainer.h"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "config/data_settings.h"
#include "core/atomic_file.h"
#include "core/ops.h"
#include "data/file_io.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/knob_telemetry.h"

namespace nurture::train {

namespace fs = std::filesystem;

namespace {
std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
}  // namespace

precision::PolicyConfig policy_config(const config::Config& cfg) {
  precision::PolicyConfig p;
  p.dtype = cfg.precision.dtype;
  p.layernorm_fp32 = cfg.precision.layernorm_fp32;
  p.softmax_fp32 = cfg.precision.softmax_fp32;
  p.loss_fp32 = cfg.precision.loss_fp32;
  p.master_half = cfg.precision.master_weights == config::MasterWeights::half;
  p.native_gemm = cfg.precision.native_gemm;
  return p;
}

precision::LossScalerConfig scaler_config(const config::Config& cfg) {
  precision::LossScalerConfig s;
  using K = config::LossScale::Kind;
  using M = precision::LossScalerConfig::Mode;
  s.mode = cfg.precision.loss_scale.kind == K::dynamic    ? M::dynamic
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

model::GPTConfig gpt_config(const config::Config& cfg) {
  model::GPTConfig g;
  g.vocab_size = cfg.model.vocab_size;
  g.d_model = cfg.model.d_model;
  g.n_layer = cfg.model.n_layer;
  g.n_head = cfg.model.n_head;
  g.seq_len = cfg.model.seq_len;
  g.dropout = static_cast<float>(cfg.model.dropout);
  g.bias = cfg.model.bias;
  g.pos = cfg.model.pos_embedding;
  g.gelu = cfg.model.gelu;
  g.init_std = static_cast<float>(cfg.model.init_std);
  g.decay_embeddings = cfg.optim.decay_embeddings;
  g.ln_eps = static_cast<float>(cfg.model.ln_eps);
  return g;
}

Trainer::Trainer(config::Config cfg, std::ostream& log) : cfg_(std::move(cfg)), log_(log) {
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
  // MPI: every rank takes an equal slice of each global batch; only rank 0 writes the run directory.
  const bool writer = dist::is_root();
  if (cfg_.data.tokenizer == config::Tokenizer::gpt2)
    throw config::ConfigError(
        "data.tokenizer: gpt2 is the fixed tokenizer of an imported GPT-2 (nurture import hf-gpt2); "
        "nurture cannot train with it: use bpe or unigram");
  if (cfg_.train.batch_size % dist::size() != 0)
    throw config::ConfigError("train.batch_size " + std::to_string(cfg_.train.batch_size) +
                              " is not a multiple of the " + std::to_string(dist::size()) +
                              " MPI ranks (each rank takes an equal slice of every batch); " +
                              "choose a batch size divisible by the rank count");
  if (!resume) {
    if (auto old = latest_checkpoint(run_dir_)) {
      if (!overwrite)
        throw std::runtime_error(run_dir_.string() + " already holds checkpoints (" + old->filename().string() +
                                 "); pass --resume to continue that run, --overwrite to start over, or choose "
                                 "another output.dir");
      if (writer) {
        fs::remove_all(run_dir_ / "checkpoints");
        fs::remove(run_dir_ / "metrics.jsonl");
      }
    }
  }
  if (writer) {
    std::error_code ec;
    fs::create_directories(run_dir_ / "checkpoints", ec);
    if (ec || !fs::is_directory(run_dir_ / "checkpoints"))
      throw std::runtime_error("cannot create output directory '" + (run_dir_ / "checkpoints").string() + "': " +
                               (ec ? ec.message() : "not a directory") + "; set output.dir to a writable directory");
  }
  // A run killed mid-write leaves "<file>.tmp-<pid>" beside its outputs; nothing reads them.
  if (writer)
    for (const fs::path& d : {run_dir_, run_dir_ / "checkpoints"})
      if (const int n = core::remove_stale_temp_files(d))
        log_ << "removed " << n << " temp file(s) left in " << d.string() << "\n";
  const data::DataConfig dopt = config::data_settings(cfg_);
  // Rank 0 trains the tokenizer and fills the token cache; the other ranks then read that cache
  // instead of repeating the work (the cache is content-keyed and written atomically).
  auto prepare = [&] {
    data_ = std::make_unique<data::PreparedData>(data::prepare(dopt, [&](const std::string& m) { log_ << m << "\n"; }));
  };
  if (writer) prepare();
  dist::barrier();
  if (!writer) prepare();
  // Not fs::copy_file: a kill mid-copy would leave a truncated tokenizer under its final name.
  if (writer) core::write_file_atomic(run_dir_ / "tokenizer.model", data::read_file(data_->tokenizer_path));

  gpt_ = std::make_unique<model::GPT>(gpt_config(cfg_));
  mp_ = std::make_unique<precision::MixedPrecision>(policy_config(cfg_));
  scaler_ = std::make_unique<precision::LossScaler>(scaler_config(cfg_));
  if (mp_->half()) gpt_->params().enable_working_copy(true);
  opt_ = std::make_unique<optim::AdamW>(
      gpt_->params(), optim::AdamWConfig{cfg_.optim.beta1, cfg_.optim.beta2, cfg_.optim.eps, cfg_.optim.weight_decay});
  sched_ =
      optim::Schedule{cfg_.optim.schedule, cfg_.optim.lr, cfg_.optim.min_lr, cfg_.optim.warmup_steps, cfg_.train.steps};
  sched_.decay_steps = optim::wsd_decay_steps(cfg_.optim.decay_fraction, cfg_.train.steps);
  if (cfg_.optim.schedule == optim::ScheduleKind::wsd)
    log_ << "schedule wsd: lr " << fmt("%g", sched_.lr) << " through step " << sched_.first_decayed_step()
         << ", then linear decay to " << fmt("%g", sched_.min_lr) << " over the last " << sched_.decay_steps
         << " steps (checkpoints at step <= " << sched_.first_decayed_step() << " saw no decayed lr)\n";
  const int B = cfg_.train.batch_size, T = cfg_.model.seq_len;
  sampler_ = std::make_unique<data::BatchSampler>(data_->train_tokens, T, B, cfg_.train.seed);
  x_.resize(size_t(B) * T);
  y_.resize(size_t(B) * T);
  TrainStepConfig ts;
  ts.batch_rows = B / dist::size();
  ts.seq_len = T;
  ts.grad_accum = cfg_.train.grad_accum;
  ts.grad_clip = cfg_.optim.grad_clip.value_or(0.0);
  ts.seed = cfg_.train.seed;
  train_step_ = std::make_unique<TrainStep>(*gpt_, *opt_, *mp_, *scaler_, ts);

  // Checkpoints hold no per-rank state (the sampler's stream is global), so any rank count resumes
  // any checkpoint: rank 0 reads it and sync_from_root() hands the state to the others.
  std::optional<fs::path> ckpt = resume && writer ? latest_checkpoint(run_dir_) : std::nullopt;
  if (ckpt) {
    load_checkpoint(*ckpt);
    log_ << "resumed from " << ckpt->string() << " at step " << step_ << "\n";
  } else {
    gpt_->init(cfg_.train.seed);
  }
  if (dist::distributed()) sync_from_root();
  auto& P = gpt_->params();
  mp_->refresh_weights(P.master(), P.working(), P.numel());
  if (writer) {
    core::write_file_atomic(run_dir_ / "config.yaml", config::to_yaml(cfg_));
    metrics_.open(run_dir_ / "metrics.jsonl", ckpt ? step_ : 0);
  }
  progress_ = writer ? std::make_unique<Progress>(std::cerr, ::isatty(2))
                     : std::make_unique<Progress>(null_log_, /*is_tty=*/false);
}

void Trainer::sync_from_root() {
  auto& P = gpt_->params();
  dist::broadcast(P.master(), size_t(P.numel()) * sizeof(float));
  dist::broadcast(opt_->m().data(), opt_->m().size() * sizeof(float));
  dist::broadcast(opt_->v().data(), opt_->v().size() * sizeof(float));
  struct {
    int64_t step, adam_step, tracker, skipped, clipped, growths, backoffs, logged_step, logged_clipped;
    uint64_t sampler;
    double elapsed, scale, decay_factor;
  } st;
  st.clipped = summary_.clipped_steps;
  st.growths = summary_.scale_growths;
  st.backoffs = summary_.scale_backoffs;
  st.logged_step = knob_logged_step_;
  st.logged_clipped = knob_logged_clipped_;
  st.decay_factor = summary_.decay_factor;
  st.step = step_;
  st.adam_step = opt_->steps_taken();
  st.tracker = scaler_->growth_tracker();
  st.skipped = scaler_->skipped_steps();
  st.sampler = sampler_->state();
  st.elapsed = elapsed_;
  st.scale = scaler_->scale();
  dist::broadcast(&st, sizeof st);
  step_ = st.step;
  opt_->set_steps_taken(st.adam_step);
  sampler_->set_state(st.sampler);
  elapsed_ = st.elapsed;
  scaler_->restore(static_cast<float>(st.scale), st.tracker, st.skipped);
  summary_.clipped_steps = st.clipped;
  summary_.scale_growths = st.growths;
  summary_.scale_backoffs = st.backoffs;
  knob_logged_step_ = st.logged_step;
  knob_logged_clipped_ = st.logged_clipped;
  summary_.decay_factor = st.decay_factor;
}

StepResult Trainer::step() {
  const auto t0 = std::chrono::steady_clock::now();
  const int B = cfg_.train.batch_size, T = cfg_.model.seq_len, accum = cfg_.train.grad_accum;
  // MPI: this rank's rows of every global batch (train_step.h: slice micro·N + rank).
  const int N = dist::size(), rank = dist::rank(), rows = B / N;
  mp_->reset_telemetry();
  StepResult r;
  ResidualMax residual(r.residual_max);
  if (inject_overflow_step_ == step_ + 1) train_step_->inject_gradient_overflow();
  const double lr = sched_.at(step_);
  const StepOutcome o = train_step_->run(
      step_, lr, [&](int, int32_t* x, int32_t* y) { sampler_->next(x, y, rank * rows, (rank + 1) * rows); }, &residual);
  if (N > 1) {
    auto& t = mp_->telemetry();
    static_assert(sizeof(precision::RoundStats) == 6 * sizeof(int64_t), "RoundStats: six int64 counters");
    for (precision::RoundStats* rs : {&t.activations, &t.activation_grads, &t.weight_grads})
      dist::sum(&rs->elements, 6);
    dist::max(r.residual_max.data(), static_cast<int>(r.residual_max.size()));
  }
  r.allreduce_s = o.phases.allreduce;
  r.loss_scale = o.loss_scale;
  r.grad_norm = o.grad_norm;
  r.clipped = o.clipped;
  if (!o.skipped) {
    summary_.clipped_steps += r.clipped;
    summary_.decay_factor *= 1.0 - lr * cfg_.optim.weight_decay;
  }
  summary_.scale_growths += scaler_->scale() > o.loss_scale;
  summary_.scale_backoffs += scaler_->scale() < o.loss_scale;
  ++step_;
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  elapsed_ += dt;
  const auto& tel = mp_->telemetry();
  r.step = step_;
  r.loss = o.loss;
  r.lr = lr;
  r.skipped = o.skipped;
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
  summary_.mean_weight_grad_underflow +=
      (r.weight_grad_underflow - summary_.mean_weight_grad_underflow) / double(step_);
  for (float m : r.residual_max) summary_.max_residual = std::max<double>(summary_.max_residual, m);
  return r;
}

double Trainer::validation_loss(model::ForwardObserver* first_batch) {
  const int B = cfg_.train.batch_size, T = cfg_.model.seq_len;
  data::SequentialWindows windows(data_->val_tokens, T);
  // MPI: rank r evaluates batches r, r+N, ...; each batch's (loss·rows, rows) has one non-zero
  // contributor, so the cross-rank sum is exact and the batches are then added in batch order,
  // as one process adds them.
  const int E = cfg_.train.eval_batches, N = dist::size();
  std::vector<double> part(2 * size_t(std::max(E, 0)), 0.0);
  for (int b = dist::rank(); b < E; b += N) {
    const int rows = windows.get_batch(size_t(b) * B, B, x_.data(), y_.data());
    if (rows == 0) break;
    // The step's arenas: validation runs between steps, so it needs no memory of its own.
    train_step_->acts().reset();
    core::Ctx ctx(train_step_->acts(), train_step_->grads(), nullptr);
    ctx.prec = mp_->op_precision(/*count=*/false);
    core::Tensor logits = gpt_->forward(ctx, x_.data(), rows, T, 0, b == 0 ? first_batch : nullptr);
    core::Tensor loss = core::cross_entropy(ctx, logits, y_.data());
    part[2 * b] = double(loss.data[0]) * rows;
    part[2 * b + 1] = rows;
  }
  dist::sum(part.data(), static_cast<int>(part.size()));
  double total = 0;
  int n = 0;
  for (int b = 0; b < E && part[2 * b + 1] > 0; ++b) {
    total += part[2 * b];
    n += static_cast<int>(part[2 * b + 1]);
  }
  return n ? total / n : NAN;
}

void Trainer::run(int64_t stop_at) {
  const int64_t total = cfg_.train.steps;
  const int N = dist::size();
  // Bits per byte over the validation split's average bytes per token (tokenizer-independent).
  const double val_bytes_per_token = double(data_->stats.val_bytes) / double(data_->stats.val_tokens);
  auto do_validation = [&]() {
    // The first validation batch (always the same windows) also measures the residual stream.
    ResidualStats residual;
    const double v = validation_loss(&residual);
    summary_.telemetry_s += residual.seconds();
    const double bpb = v / std::log(2.0) / val_bytes_per_token;
    if (metrics_.is_open())
      metrics_.write({{"step", step_},
                      {"val_loss", v},
                      {"val_bpb", bpb},
                      {"val_residual_max", residual.max_abs()},
                      {"val_residual_kurtosis", residual.kurtosis()}});
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
    if (N > 1) rec["allreduce_s"] = r.allreduce_s;
    if (metrics_.is_open() && (step_ % cfg_.train.log_every == 0 || step_ == total)) add_knob_fields(rec);
    if (metrics_.is_open()) metrics_.write(rec);
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
  log_ << knob_summary() << "\n";
  if (mp_->half())
    log_ << "precision " << config::to_string(cfg_.precision.dtype) << ": " << summary_.skipped
         << " skipped step(s), loss scale " << fmt("%g", summary_.final_loss_scale)
         << ", mean weight-gradient underflow " << fmt("%.3g%%", 100 * summary_.mean_weight_grad_underflow)
         << ", max residual |x| " << fmt("%.4g", summary_.max_residual) << "\n";
}

void Trainer::add_knob_fields(nlohmann::json& rec) {
  const auto t0 = std::chrono::steady_clock::now();
  const WeightStats w = weight_stats(*gpt_);
  rec["weight_norm"] = w.all;
  rec["weight_norm_matrix"] = w.matrix;
  rec["weight_norm_embedding"] = w.embedding;
  rec["weight_norm_ln_gain"] = w.ln_gain;
  rec["weight_norm_bias"] = w.bias;
  rec["ln1_gain_std"] = w.ln1_gain_std;
  rec["ln2_gain_std"] = w.ln2_gain_std;
  rec["decay_factor"] = summary_.decay_factor;
  rec["interval_steps"] = step_ - knob_logged_step_;
  rec["clipped_steps"] = summary_.clipped_steps - knob_logged_clipped_;
  rec["clipped_total"] = summary_.clipped_steps;
  rec["clipped_fraction"] = fraction(summary_.clipped_steps, step_);
  if (cfg_.precision.loss_scale.kind == config::LossScale::Kind::dynamic) {
    rec["loss_scale_growths"] = summary_.scale_growths;
    rec["loss_scale_backoffs"] = summary_.scale_backoffs;
  }
  knob_logged_step_ = step_;
  knob_logged_clipped_ = summary_.clipped_steps;
  summary_.telemetry_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string Trainer::knob_summary() const {
  const WeightStats w = weight_stats(*gpt_);
  std::string s = "knobs: weight norm " + fmt("%.4g", w.all) + " (matrices " + fmt("%.4g", w.matrix) + ", embeddings " +
                  fmt("%.4g", w.embedding) + ", LayerNorm gains " + fmt("%.4g", w.ln_gain) + "), decay factor " +
                  fmt("%.4g", summary_.decay_factor) + ", clipped " + std::to_string(summary_.clipped_steps) + " of " +
                  std::to_string(step_) + " steps (" + fmt("%.3g%%", 100 * fraction(summary_.clipped_steps, step_)) +
                  ")";
  if (cfg_.precision.loss_scale.kind == config::LossScale::Kind::dynamic)
    s += ", loss scale " + std::to_string(summary_.scale_growths) + " growth(s) and " +
         std::to_string(summary_.scale_backoffs) + " backoff(s) (growth_interval " +
         std::to_string(cfg_.precision.growth_interval) + ")";
  return s + "; telemetry " + fmt("%.3g", summary_.telemetry_s) + " s (" +
         fmt("%.2g%%", 100 * summary_.telemetry_s / std::max(elapsed_, 1e-9)) + " of the training time)";
}

fs::path Trainer::save_checkpoint() {
  char name[64];
  std::snprintf(name, sizeof name, "step_%07lld.h5", static_cast<long long>(step_));
  const fs::path path = run_dir_ / "checkpoints" / name;
  if (!dist::is_root()) return path;  // every rank holds the same state; rank 0 writes it
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
  c.state.ints["clipped_steps"] = summary_.clipped_steps;
  c.state.ints["scale_growths"] = summary_.scale_growths;
  c.state.ints["scale_backoffs"] = summary_.scale_backoffs;
  c.state.ints["knob_logged_step"] = knob_logged_step_;
  c.state.ints["knob_logged_clipped"] = knob_logged_clipped_;
  c.state.reals["decay_factor"] = summary_.decay_factor;
  c.meta.strings["precision"] = std::string(config::to_string(cfg_.precision.dtype));
  c.meta.strings["tokenizer"] = "tokenizer.model";
  c.config_yaml = config::to_yaml(cfg_);
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
  // Knob counters (absent from checkpoints written before they existed: they count from the resume).
  auto int_or = [&](const char* k, int64_t d) { return ck.state.ints.count(k) ? ck.state.ints.at(k) : d; };
  summary_.clipped_steps = int_or("clipped_steps", 0);
  summary_.scale_growths = int_or("scale_growths", 0);
  summary_.scale_backoffs = int_or("scale_backoffs", 0);
  knob_logged_step_ = int_or("knob_logged_step", step_);
  knob_logged_clipped_ = int_or("knob_logged_clipped", summary_.clipped_steps);
  summary_.decay_factor = ck.state.reals.count("decay_factor") ? ck.state.reals.at("decay_factor") : 1.0;
}

}  // namespace nurture::train
