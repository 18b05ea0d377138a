// The fast kernels against the scalar code they replaced, forward + backward, on one shape:
//   attention: core::causal_attention (blocked, recomputing) vs core::causal_attention_reference
//   gelu_erf:  core::gelu(Erf) (Eigen's vectorised erf) vs the former libm erff/expf loop (below)
// Rounds interleave the two sides so load changes hit both; one JSON line per kernel with the
// median milliseconds of each side, the per-round ratios' median, and the peak extra memory the
// attention op holds for backward (its scratch arena high-water mark).
//
//   bench_ops [--batch 16] [--seq 256] [--heads 8] [--head-dim 32] [--threads 2] [--reps 9]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/attention_reference.h"
#include "core/ops.h"
#include "core/rng.h"

using namespace nurture;

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The erf GELU as it was before the vectorised one (scalar libm calls), for the comparison.
core::Tensor gelu_erf_scalar(core::Ctx& ctx, const core::Tensor& x) {
  const int64_t n = x.numel();
  core::Tensor y = ctx.make(x.shape, x.tracked());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y.data[i] = 0.5f * x.data[i] * (1.0f + std::erf(x.data[i] * 0.70710678f));
  ctx.record(y, "gelu_erf_scalar", [x, y, n] {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float v = x.data[i];
      const float cdf = 0.5f * (1.0f + std::erf(v * 0.70710678f));
      x.grad[i] += y.grad[i] * (cdf + v * 0.39894228f * std::exp(-0.5f * v * v));
    }
  });
  return y;
}

struct Timing {
  double ms;
  double scratch_mb;
};

// One forward + backward of `op` on `in` (fresh arenas each time, as a training step resets them).
template <class Op>
Timing time_fwd_bwd(core::Buffer& in, Op op) {
  core::Arena acts, grads;
  core::Tape tape;
  core::Ctx ctx(acts, grads, &tape);
  std::fill(in.grad(), in.grad() + in.numel(), 0.0f);
  const double t0 = now_ms();
  core::Tensor y = op(ctx, in.t());
  std::fill(y.grad, y.grad + y.numel(), 1e-3f);
  tape.backward(ctx.prec);
  const double t1 = now_ms();
  return {t1 - t0, double(acts.high_water_floats()) * 4 / 1e6};
}

template <class A, class B>
void compare(const char* name, const std::string& shape, core::Buffer& in, int reps, A fast, B ref) {
  std::vector<double> tf, tr, ratio;
  Timing last_f{}, last_r{};
  for (int r = 0; r < reps + 1; ++r) {  // round 0 is warm-up
    last_f = time_fwd_bwd(in, fast);
    last_r = time_fwd_bwd(in, ref);
    if (r == 0) continue;
    tf.push_back(last_f.ms);
    tr.push_back(last_r.ms);
    ratio.push_back(last_r.ms / last_f.ms);
  }
  std::printf(
      "{\"kernel\":\"%s\",\"shape\":%s,\"threads\":%d,\"reps\":%d,\"fast_ms_median\":%.3f,\"reference_ms_median\":%.3f,"
      "\"speedup_median_of_rounds\":%.3f,\"fast_activation_mb\":%.1f,\"reference_activation_mb\":%.1f}\n",
      name, shape.c_str(), omp_get_max_threads(), reps, median(tf), median(tr), median(ratio), last_f.scratch_mb,
      last_r.scratch_mb);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t B = 16, T = 256, H = 8, hd = 32;
  int threads = 2, reps = 9;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_ops: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::atol(argv[++i]);
    };
    if (a == "--batch")
      B = next();
    else if (a == "--seq")
      T = next();
    else if (a == "--heads")
      H = next();
    else if (a == "--head-dim")
      hd = next();
    else if (a == "--threads")
      threads = int(next());
    else if (a == "--reps")
      reps = int(next());
    else {
      std::fprintf(stderr,
                   "usage: bench_ops [--batch N] [--seq N] [--heads N] [--head-dim N] [--threads N] [--reps N]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  omp_set_num_threads(threads);
  const int64_t C = H * hd;
  core::SeqRng rng(1);

  core::Buffer qkv({B, T, 3 * C}, true);
  for (int64_t i = 0; i < qkv.numel(); ++i) qkv.data()[i] = float(rng.normal());
  char shape[128];
  std::snprintf(shape, sizeof shape, "{\"B\":%ld,\"T\":%ld,\"H\":%ld,\"hd\":%ld}", long(B), long(T), long(H), long(hd));
  compare(
      "attention", shape, qkv, reps,
      [&](core::Ctx& c, const core::Tensor& x) { return core::causal_attention(c, x, int(H)); },
      [&](core::Ctx& c, const core::Tensor& x) { return core::causal_attention_reference(c, x, int(H)); });

  // The MLP activation of the same model: [B, T, 4C].
  core::Buffer act({B, T, 4 * C}, true);
  for (int64_t i = 0; i < act.numel(); ++i) act.data()[i] = float(rng.normal() * 2);
  std::snprintf(shape, sizeof shape, "{\"elements\":%ld}", long(act.numel()));
  compare(
      "gelu_erf", shape, act, reps,
      [](core::Ctx& c, const core::Tensor& x) { return core::gelu(c, x, core::GeluKind::Erf); },
      [](core::Ctx& c, const core::Tensor& x) { return gelu_erf_scalar(c, x); });
  return 0;
}
