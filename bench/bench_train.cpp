// bench_train: training throughput (tokens/s) and achieved GFLOP/s of nurture's training step.
//
// Runs the trainer's step itself (train/train_step.h: zero_grad → forward (training, dropout on) →
// cross_entropy → backward → unscale → clip_grad_norm → AdamW, one micro-batch) on random tokens,
// and prints ONE JSON line:
//   {"impl":"nurture","config":…,"tokens_per_s_median":…,"step_ms_median":…,"gflops":…,
//    "mfu_vs_peak":…,"phase_ms_median":{"zero_grad":…,"forward":…,"backward":…,"optimizer":…},
//    "peak_rss_mb":…,"rss_growth_mb":…,…}
// The model defaults match the PyTorch peer (bench/peers/torch_gpt.py): exact-erf GELU, dropout 0.1,
// no weight decay on the embeddings; --gelu tanh --decay-embeddings reproduces nurture's
// trainer defaults.
//
//   bench_train --preset small --threads 2
//   bench_train --vocab 4096 --d 192 --layers 4 --heads 6 --seq 128 --batch 16 --dropout 0
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/gemm.h"
#include "core/graph.h"
#include "core/ops.h"
#include "model/gpt.h"
#include "precision/loss_scaler.h"
#include "precision/policy.h"
#include "optim/adamw.h"
#include "train/train_step.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  int vocab, d, layers, heads, seq, batch;
};

// The peer's presets (bench/peers/torch_gpt.py PRESETS); `small` is the benchmark model.
bool preset(const std::string& name, Shape& s) {
  if (name == "tiny") s = {2048, 128, 4, 4, 128, 16};
  else if (name == "small") s = {4096, 256, 6, 8, 256, 16};
  else if (name == "medium") s = {8192, 512, 8, 8, 256, 8};
  else return false;
  return true;
}

struct Options {
  std::string preset = "small";
  Shape shape{};
  int steps = 13, skip = 3, threads = 0;
  double dropout = 0.1, peak_gflops = 0, lr = 6e-4, clip = 1.0;
  std::string gelu = "erf";
  std::string precision = "fp32";  // fp32 | bf16 | fp16: the trainer's mixed-precision policy
  bool decay_embeddings = false;
  bool ceiling = true;
  uint64_t seed = 1337;
};

[[noreturn]] void usage(const char* prog, int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: %s [--preset tiny|small|medium|custom] [--vocab N] [--d N] [--layers N] [--heads N]\n"
               "          [--seq N] [--batch N] [--steps N] [--skip N] [--threads N] [--dropout P]\n"
               "          [--gelu erf|tanh] [--decay-embeddings] [--lr X] [--clip X] [--seed N] [--peak GFLOPS]\n"
               "          [--no-ceiling] [--precision fp32|bf16|fp16]\n"
               "Prints one JSON line with training tokens/s, GFLOP/s and a per-phase breakdown.\n"
               "--steps counts all steps, the first --skip of which are warm-up and not timed.\n"
               "--peak defaults to 115 GFLOP/s per thread (Zen 4: 32 FLOP/cycle x 3.6 GHz). The GEMM\n"
               "ceiling (core::sgemm on the model's MLP shape, reported as sgemm_ceiling_gflops and\n"
               "mfu_vs_sgemm_ceiling) is measured unless --no-ceiling.\n",
               prog);
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  preset("small", o.shape);
  // Presets first, so explicit shape flags override them regardless of order.
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--preset" || a == "--config") && i + 1 < argc) {
      o.preset = argv[++i];
      if (o.preset != "custom" && !preset(o.preset, o.shape)) {
        std::fprintf(stderr, "unknown preset '%s' (tiny, small, medium)\n", o.preset.c_str());
        std::exit(2);
      }
    }
  }
  bool custom = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    auto num = [&]() -> long long {
      const std::string v = next();
      char* end = nullptr;
      const long long x = std::strtoll(v.c_str(), &end, 10);
      if (!end || *end) {
        std::fprintf(stderr, "%s expects an integer, got '%s'\n", a.c_str(), v.c_str());
        std::exit(2);
      }
      return x;
    };
    auto real = [&]() -> double {
      const std::string v = next();
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (!end || *end) {
        std::fprintf(stderr, "%s expects a number, got '%s'\n", a.c_str(), v.c_str());
        std::exit(2);
      }
      return x;
    };
    if (a == "--preset" || a == "--config") ++i;
    else if (a == "--vocab") o.shape.vocab = int(num()), custom = true;
    else if (a == "--d") o.shape.d = int(num()), custom = true;
    else if (a == "--layers") o.shape.layers = int(num()), custom = true;
    else if (a == "--heads") o.shape.heads = int(num()), custom = true;
    else if (a == "--seq") o.shape.seq = int(num()), custom = true;
    else if (a == "--batch") o.shape.batch = int(num()), custom = true;
    else if (a == "--steps") o.steps = int(num());
    else if (a == "--skip") o.skip = int(num());
    else if (a == "--threads") o.threads = int(num());
    else if (a == "--dropout") o.dropout = real();
    else if (a == "--peak") o.peak_gflops = real();
    else if (a == "--lr") o.lr = real();
    else if (a == "--clip") o.clip = real();
    else if (a == "--seed") o.seed = uint64_t(num());
    else if (a == "--precision") {
      o.precision = next();
      if (o.precision != "fp32" && o.precision != "bf16" && o.precision != "fp16") {
        std::fprintf(stderr, "--precision expects fp32, bf16 or fp16\n");
        std::exit(2);
      }
    } else if (a == "--gelu") {
      o.gelu = next();
      if (o.gelu != "erf" && o.gelu != "tanh") {
        std::fprintf(stderr, "--gelu expects erf or tanh\n");
        std::exit(2);
      }
    } else if (a == "--decay-embeddings") o.decay_embeddings = true;
    else if (a == "--no-ceiling") o.ceiling = false;
    else if (a == "-h" || a == "--help") usage(argv[0], 0);
    else {
      std::fprintf(stderr, "unknown option '%s'\n", a.c_str());
      usage(argv[0], 2);
    }
  }
  if (custom) {
    Shape p{};
    if (o.preset == "custom" || !preset(o.preset, p) || std::memcmp(&p, &o.shape, sizeof p) != 0) o.preset = "custom";
  }
  if (o.steps <= o.skip) {
    std::fprintf(stderr, "--steps (%d) must exceed --skip (%d)\n", o.steps, o.skip);
    std::exit(2);
  }
  const Shape& s = o.shape;
  if (s.vocab <= 0 || s.d <= 0 || s.layers <= 0 || s.heads <= 0 || s.seq <= 0 || s.batch <= 0 || s.d % s.heads) {
    std::fprintf(stderr, "invalid model shape (all sizes > 0, d divisible by heads)\n");
    std::exit(2);
  }
  return o;
}

// Resident set size and its high-water mark, in MiB, from /proc/self/status.
double proc_status_mb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t klen = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, klen, key) == 0 && line.size() > klen && line[klen] == ':')
      return std::strtod(line.c_str() + klen + 1, nullptr) / 1024.0;  // kB
  return NAN;
}
double rss_mb() { return proc_status_mb("VmRSS"); }
double peak_rss_mb() {
  const double hwm = proc_status_mb("VmHWM");
  if (!std::isnan(hwm)) return hwm;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;  // kB on Linux
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// GFLOP/s of core::sgemm (the GEMM every linear uses) on the model's MLP up-projection forward,
// [B·T, d] x [4d, d]^T: the best a GEMM-bound step could do on this machine. Median of 15.
double sgemm_ceiling(int64_t M, int64_t N, int64_t K) {
  std::vector<float> a(size_t(M * K)), b(size_t(N * K)), c(size_t(M * N));
  std::mt19937 g(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& x : a) x = u(g);
  for (auto& x : b) x = u(g);
  std::vector<double> t;
  for (int r = 0; r < 18; ++r) {
    const auto t0 = Clock::now();
    nurture::core::sgemm(false, true, M, N, K, 1.0f, a.data(), K, b.data(), K, 0.0f, c.data(), N);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r >= 3) t.push_back(dt);
  }
  std::sort(t.begin(), t.end());
  return 2.0 * double(M) * N * K / t[t.size() / 2] / 1e9;
}

// CPU time of the whole process (all threads). On a machine shared with other jobs, wall time
// per step mostly measures the neighbours; CPU time of a 1-thread run measures the work.
double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
double round_to(double x, int digits) {
  const double f = std::pow(10.0, digits);
  return std::round(x * f) / f;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nurture;
  const Options o = parse(argc, argv);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const int threads = omp_get_max_threads();
  const double peak = o.peak_gflops > 0 ? o.peak_gflops : 115.0 * threads;
  const Shape& s = o.shape;

  model::GPTConfig gc;
  gc.vocab_size = s.vocab;
  gc.d_model = s.d;
  gc.n_layer = s.layers;
  gc.n_head = s.heads;
  gc.seq_len = s.seq;
  gc.dropout = static_cast<float>(o.dropout);
  gc.gelu = o.gelu == "tanh" ? core::GeluKind::Tanh : core::GeluKind::Erf;
  gc.decay_embeddings = o.decay_embeddings;
  model::GPT gpt(gc);
  gpt.init(o.seed);
  auto& P = gpt.params();
  optim::AdamW opt(P, optim::AdamWConfig{0.9, 0.95, 1e-8, 0.1});
  // The trainer's precision path: half working weights, rounded activations/gradients, loss
  // scaling for fp16.
  precision::PolicyConfig pc;
  pc.dtype = precision::parse_format(o.precision);
  precision::MixedPrecision mp(pc);
  precision::LossScalerConfig sc;
  if (pc.dtype == precision::Format::fp16) sc.mode = precision::LossScalerConfig::Mode::dynamic;
  precision::LossScaler scaler(sc);
  if (mp.half()) P.enable_working_copy(true);
  mp.refresh_weights(P.master(), P.working(), P.numel());

  const int B = s.batch, T = s.seq;
  const int64_t tokens = int64_t(B) * T;
  std::vector<int32_t> x(tokens), y(tokens);
  std::mt19937_64 gen(o.seed);
  std::uniform_int_distribution<int32_t> tok(0, s.vocab - 1);

  train::TrainStepConfig tc;
  tc.batch_rows = B;
  tc.seq_len = T;
  tc.grad_clip = o.clip;
  tc.seed = o.seed;
  train::TrainStep train_step(gpt, opt, mp, scaler, tc);
  std::vector<double> step_ms, cpu_ms, zero_ms, fwd_ms, bwd_ms, opt_ms, losses, rss_all;
  double rss_after_warmup = NAN, rss_last = NAN;

  for (int step = 0; step < o.steps; ++step) {
    // Random tokens (x = ids, y = ids shifted by one, like a data window), outside the timing.
    int32_t prev = tok(gen);
    for (int64_t i = 0; i < tokens; ++i) {
      x[i] = prev;
      prev = tok(gen);
      y[i] = prev;
    }
    const double c0 = process_cpu_ms();
    const auto t0 = Clock::now();
    train::StepOutcome r;
    try {
      r = train_step.run(step, o.lr, [&](int, int32_t* xb, int32_t* yb) {
        std::copy(x.begin(), x.end(), xb);
        std::copy(y.begin(), y.end(), yb);
      });
    } catch (const std::runtime_error& e) {  // a diverged fp32/bf16 loss or gradient norm
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
    const auto t4 = Clock::now();
    const double c4 = process_cpu_ms();

    losses.push_back(r.loss);
    if (!std::isfinite(r.loss)) {
      std::fprintf(stderr, "loss is %g at step %d\n", r.loss, step + 1);
      return 1;
    }
    if (step == o.skip - 1 || (o.skip == 0 && step == 0)) rss_after_warmup = rss_mb();
    if (step >= o.skip) {
      const train::StepPhases& ph = r.phases;
      step_ms.push_back(ms(t0, t4) - ph.data * 1e3);
      cpu_ms.push_back(c4 - c0);
      zero_ms.push_back(ph.zero_grad * 1e3);
      fwd_ms.push_back(ph.forward * 1e3);
      bwd_ms.push_back(ph.backward * 1e3);
      opt_ms.push_back(ph.optimizer * 1e3);
    }
    rss_all.push_back(round_to(rss_mb(), 1));
    if (step == o.steps - 1) rss_last = rss_all.back();
  }

  const double med = median(step_ms);
  const double fpt = gpt.train_flops_per_token(T);
  const double gflops = fpt * double(tokens) / (med / 1e3) / 1e9;
  std::vector<double> tps;
  for (double m : step_ms) tps.push_back(double(tokens) / (m / 1e3));
  std::vector<double> step_all;
  for (double m : step_ms) step_all.push_back(round_to(m, 2));

  nlohmann::ordered_json j;
  j["impl"] = "nurture";
  j["config"] = o.preset;
  j["vocab"] = s.vocab;
  j["d"] = s.d;
  j["layers"] = s.layers;
  j["heads"] = s.heads;
  j["seq"] = s.seq;
  j["batch"] = s.batch;
  j["dropout"] = o.dropout;
  j["gelu"] = o.gelu;
  j["precision"] = o.precision;
  j["threads"] = threads;
  j["params"] = gpt.num_params();
  j["steps_measured"] = step_ms.size();
  j["tokens_per_step"] = tokens;
  j["tokens_per_s_median"] = round_to(double(tokens) / (med / 1e3), 1);
  j["tokens_per_s_min"] = round_to(*std::min_element(tps.begin(), tps.end()), 1);
  j["tokens_per_s_max"] = round_to(*std::max_element(tps.begin(), tps.end()), 1);
  j["step_ms_median"] = round_to(med, 2);
  j["step_ms_all"] = step_all;
  j["cpu_ms_per_step_median"] = round_to(median(cpu_ms), 2);
  j["tokens_per_cpu_s_median"] = round_to(double(tokens) / (median(cpu_ms) / 1e3), 1);
  j["phase_ms_median"] = {{"zero_grad", round_to(median(zero_ms), 3)},
                          {"forward", round_to(median(fwd_ms), 2)},
                          {"backward", round_to(median(bwd_ms), 2)},
                          {"optimizer", round_to(median(opt_ms), 2)}};
  j["flops_per_token"] = fpt;
  j["gflops"] = round_to(gflops, 2);
  j["peak_gflops"] = peak;
  j["mfu_vs_peak"] = round_to(gflops / peak, 4);
  if (o.ceiling) {
    const double ceil = sgemm_ceiling(tokens, 4 * int64_t(s.d), s.d);
    j["sgemm_ceiling_gflops"] = round_to(ceil, 1);
    j["sgemm_ceiling_shape"] = {tokens, 4 * s.d, s.d};
    j["mfu_vs_sgemm_ceiling"] = round_to(gflops / ceil, 4);
  }
  j["peak_rss_mb"] = round_to(peak_rss_mb(), 1);
  j["rss_after_warmup_mb"] = round_to(rss_after_warmup, 1);
  j["rss_growth_mb"] = round_to(rss_last - rss_after_warmup, 2);
  j["rss_mb_all"] = rss_all;  // after every step, warm-up included
  j["activation_arena_mb"] = round_to(double(train_step.acts().high_water_floats()) * 4 / 1048576.0, 1);
  j["gradient_arena_mb"] = round_to(double(train_step.grads().high_water_floats()) * 4 / 1048576.0, 1);
  j["loss_first"] = round_to(losses.front(), 4);
  j["loss_last"] = round_to(losses.back(), 4);
  std::cout << j.dump() << std::endl;
  return 0;
}
