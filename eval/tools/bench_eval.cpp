// bench_eval: evaluation throughput vs training throughput on the benchmark model (random
// weights; speed does not depend on them). The target: evaluation tokens/s ≥ 3× training
// tokens/s. Rounds interleave one training measurement with each evaluation workload, so both
// see the same machine load; medians over rounds are reported as one JSON line.
//
//   build/eval/bench_eval [--rounds 5] [--threads N] [--vocab 4096 --d 256 --layers 6 --heads 8 --seq 256 --batch 16]
//   build/eval/bench_eval --profile likelihood|multiple_choice|last_word|train   (one workload, for perf)
//
// Workloads (tokens = tokens run through the model):
//   likelihood       rolling windows over a random stream, batch_tokens = batch·seq
//   multiple_choice  4 choices of ~20 tokens after a ~120-token context; the context is run once
//                    per item ("logical" tokens count it once per choice, as an uncached evaluator would)
//   last_word        ~200-token contexts, 1–3-token targets (lm_head only where scored)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "eval/scorer.h"
#include "optim/adamw.h"
#include "precision/loss_scaler.h"
#include "precision/policy.h"
#include "train/train_step.h"

using namespace nurture;
using Clock = std::chrono::steady_clock;

namespace {
double secs(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
std::vector<int32_t> random_tokens(int64_t n, int V, core::SeqRng& r) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int32_t>(r.below(uint64_t(V)));
  return t;
}
}  // namespace

int main(int argc, char** argv) {
  int V = 4096, d = 256, L = 6, H = 8, T = 256, B = 16, rounds = 5, threads = 0;
  std::string only;  // --profile WORKLOAD: run just that workload, `rounds` times (for perf)
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (a == "--profile")
      only = argv[i + 1];
    else if (a == "--vocab")
      V = v;
    else if (a == "--d")
      d = v;
    else if (a == "--layers")
      L = v;
    else if (a == "--heads")
      H = v;
    else if (a == "--seq")
      T = v;
    else if (a == "--batch")
      B = v;
    else if (a == "--rounds")
      rounds = v;
    else if (a == "--threads")
      threads = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (threads > 0) omp_set_num_threads(threads);
  model::GPTConfig gc;
  gc.vocab_size = V, gc.d_model = d, gc.n_layer = L, gc.n_head = H, gc.seq_len = T;
  model::GPT gpt(gc);
  gpt.init(1337);
  auto& P = gpt.params();
  optim::AdamW opt(P, optim::AdamWConfig{0.9, 0.95, 1e-8, 0.1});
  core::SeqRng rng(7);
  const int64_t step_tokens = int64_t(B) * T;

  // The trainer's step (train/train_step.h) under fp32: forward, loss, backward, clip, AdamW.
  precision::MixedPrecision mp(precision::PolicyConfig{});
  precision::LossScaler scaler(precision::LossScalerConfig{});
  train::TrainStepConfig tc;
  tc.batch_rows = B;
  tc.seq_len = T;
  tc.grad_clip = 1.0;
  train::TrainStep step(gpt, opt, mp, scaler, tc);
  int64_t steps_done = 0;
  auto train_step = [&]() {
    std::vector<int32_t> x = random_tokens(step_tokens, V, rng), y = random_tokens(step_tokens, V, rng);
    const auto t0 = Clock::now();
    step.run(steps_done++, 1e-4, [&](int, int32_t* xb, int32_t* yb) {
      std::copy(x.begin(), x.end(), xb);
      std::copy(y.begin(), y.end(), yb);
    });
    return double(step_tokens) / secs(t0);
  };

  // Workloads, fixed across rounds.
  const std::vector<int32_t> stream = random_tokens(4 * step_tokens, V, rng);
  const std::vector<eval::Request> windows = eval::rolling_windows(stream, 0, T);
  std::vector<eval::SharedRequest> mc;
  int64_t mc_logical = 0;
  for (int i = 0; i < 200; ++i) {
    eval::SharedRequest g{random_tokens(100 + int64_t(rng.below(40)), V, rng), {}};
    for (int k = 0; k < 4; ++k) {
      g.continuations.push_back(random_tokens(12 + int64_t(rng.below(16)), V, rng));
      mc_logical += int64_t(g.context.size() + g.continuations.back().size()) - 1;
    }
    mc.push_back(std::move(g));
  }
  std::vector<eval::Request> lw;
  for (int i = 0; i < 300; ++i)
    lw.push_back(
        {random_tokens(180 + int64_t(rng.below(T - 190)), V, rng), random_tokens(1 + int64_t(rng.below(3)), V, rng)});

  eval::ScoreOptions so;
  so.batch_tokens = step_tokens;
  if (!only.empty()) {
    for (int r = 0; r < rounds; ++r) {
      eval::Scorer s(gpt, so);
      const auto t0 = Clock::now();
      if (only == "likelihood")
        s.score(windows);
      else if (only == "multiple_choice")
        s.score_shared(mc);
      else if (only == "last_word")
        s.score(lw);
      else if (only == "train") {
        std::fprintf(stderr, "train %.0f tokens/s\n", train_step());
        continue;
      } else {
        std::fprintf(stderr, "--profile takes likelihood, multiple_choice, last_word or train\n");
        return 2;
      }
      std::fprintf(stderr, "%s %.0f tokens/s\n", only.c_str(), double(s.tokens_fed()) / secs(t0));
    }
    return 0;
  }
  std::vector<double> train_tps, ll_tps, mc_tps, mc_logical_tps, lw_tps;
  // Like the trainer's arenas, the scorer's activation memory is reused from one pass to the next.
  eval::Scorer scorer(gpt, so);
  for (int w = 0; w < 2; ++w) train_step();  // warm-up
  scorer.score(windows);
  for (int r = 0; r < rounds; ++r) {
    std::vector<double> t;
    for (int k = 0; k < 3; ++k) t.push_back(train_step());
    train_tps.push_back(median(t));
    {
      const int64_t f0 = scorer.tokens_fed();
      const auto t0 = Clock::now();
      scorer.score(windows);
      ll_tps.push_back(double(scorer.tokens_fed() - f0) / secs(t0));
    }
    {
      const int64_t f0 = scorer.tokens_fed();
      const auto t0 = Clock::now();
      scorer.score_shared(mc);
      const double dt = secs(t0);
      mc_tps.push_back(double(scorer.tokens_fed() - f0) / dt);
      mc_logical_tps.push_back(double(mc_logical) / dt);
    }
    {
      const int64_t f0 = scorer.tokens_fed();
      const auto t0 = Clock::now();
      scorer.score(lw);
      lw_tps.push_back(double(scorer.tokens_fed() - f0) / secs(t0));
    }
    std::fprintf(stderr, "round %d: train %.0f  likelihood %.0f  mc %.0f (logical %.0f)  last_word %.0f tokens/s\n",
                 r + 1, train_tps.back(), ll_tps.back(), mc_tps.back(), mc_logical_tps.back(), lw_tps.back());
  }
  const double tr = median(train_tps);
  nlohmann::ordered_json j;
  j["model"] = {{"vocab", V}, {"d", d}, {"layers", L}, {"heads", H}, {"seq", T}, {"batch", B}};
  j["threads"] = omp_get_max_threads();
  j["rounds"] = rounds;
  j["train_tokens_per_s"] = tr;
  j["likelihood_tokens_per_s"] = median(ll_tps);
  j["multiple_choice_tokens_per_s"] = median(mc_tps);
  j["multiple_choice_logical_tokens_per_s"] = median(mc_logical_tps);
  j["last_word_tokens_per_s"] = median(lw_tps);
  j["ratio_likelihood_over_train"] = median(ll_tps) / tr;
  j["ratio_multiple_choice_over_train"] = median(mc_tps) / tr;
  j["ratio_multiple_choice_logical_over_train"] = median(mc_logical_tps) / tr;
  j["ratio_last_word_over_train"] = median(lw_tps) / tr;
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
