// Real int8 inference (quant/int8_model.h) against fp32 on the benchmark model (V4096 d256 L6 H8,
// prefill of B=16 sequences of T=256 tokens: 4096 rows per GEMM). Random weights: speed does not
// depend on their values. Prints JSON lines:
//
//   {"bench":"int8_gemm", ...}     per linear shape: fp32 sgemm (core/gemm.h) vs the int8 linear
//                                  (per-token quantization + oneDNN int8 GEMM with fused
//                                  dequantization and bias), both kernels (s8s8, u8s8)
//   {"bench":"int8_prefill", ...}  per forward: tokens/s of the fp32 forward vs the same forward
//                                  with an Int8Model observer (w8a8, w8a8 incl. lm_head, w4a8,
//                                  llm-int8: random weights have no |x| >= 6 column, so this is
//                                  w8a8 plus the outlier scan of every linear input)
//   {"bench":"int8_memory", ...}   bytes of the block linear weights: fp32, int8, packed int4
//
// The machine is shared, so every round runs each variant once, back to back, and the ratios
// are medians of per-round ratios (load that hits a whole round cancels).
//
//   bench_int8 [--threads 2] [--rounds 7] [--reps 9] [--preset small|gpt2] [--only gemm|prefill|memory]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/gemm.h"
#include "core/rng.h"
#include "eval/packed_forward.h"
#include "quant/int8_gemm.h"
#include "quant/int8_model.h"

using namespace nurture;

namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Runs the variants `rounds` times, interleaved; returns per-variant seconds per round.
std::vector<std::vector<double>> interleaved(const std::vector<std::function<void()>>& variants, int rounds) {
  for (const auto& v : variants) v();  // warm-up: JIT kernels, primitive caches, arenas, page faults
  std::vector<std::vector<double>> t(variants.size());
  for (int r = 0; r < rounds; ++r)
    for (size_t i = 0; i < variants.size(); ++i) {
      const double t0 = now_s();
      variants[i]();
      t[i].push_back(now_s() - t0);
    }
  return t;
}

// Median over rounds of t_a / t_b (a's time over b's: b's speedup over a).
double median_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.size(); ++i) r.push_back(a[i] / b[i]);
  return median(r);
}

// min(a) / min(b): the least-disturbed run of each (reported next to the median ratio).
double best_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  return *std::min_element(a.begin(), a.end()) / *std::min_element(b.begin(), b.end());
}

std::string list(const std::vector<double>& v, double mul) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.3f", i ? "," : "", v[i] * mul);
    s += buf;
  }
  return s + "]";
}

std::string load() {
  double a = 0, b = 0, c = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3) a = b = c = 0;
    std::fclose(f);
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%.2f %.2f %.2f\"", a, b, c);
  return buf;
}

struct Model {
  int V = 4096, d = 256, L = 6, H = 8, T = 256, B = 16;
};

// --preset small: the benchmark model (bench_train's small preset). --preset gpt2: GPT-2 small's
// shape (Radford et al. 2019) prefilling 4 sequences of 256 tokens, the smallest width of a
// real LLM: there the linears are a larger share of the forward than at width 256.
bool preset(const std::string& name, Model& m) {
  if (name == "small")
    m = Model{};
  else if (name == "gpt2")
    m = Model{50257, 768, 12, 12, 256, 4};
  else
    return false;
  return true;
}

model::GPTConfig config(const Model& m) {
  model::GPTConfig c;
  c.vocab_size = m.V;
  c.d_model = m.d;
  c.n_layer = m.L;
  c.n_head = m.H;
  c.seq_len = m.T;
  return c;
}

void bench_gemm(const Model& m, int threads, int reps) {
  const int64_t M = int64_t(m.B) * m.T, d = m.d;
  struct Linear {
    const char* name;
    int64_t N, K;
  };
  const Linear linears[] = {
      {"qkv", 3 * d, d}, {"attn_proj", d, d}, {"fc", 4 * d, d}, {"mlp_proj", d, 4 * d}, {"lm_head", m.V, d}};
  for (const Linear& l : linears) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(size_t(M * l.K)), w(size_t(l.N * l.K)), b(size_t(l.N)), y(size_t(M * l.N));
    for (float& v : x) v = nd(rng);
    for (float& v : w) v = 0.02f * nd(rng);
    for (float& v : b) v = 0.01f * nd(rng);
    const quant::QuantizedWeight qw = quant::QuantizedWeight::from_float(w.data(), l.N, l.K, 8);
    std::vector<int8_t> xq(size_t(M * l.K)), scratch;
    std::vector<float> sx(static_cast<size_t>(M));
    auto fp32 = [&] {
      core::sgemm(false, true, M, l.N, l.K, 1.0f, x.data(), l.K, w.data(), l.K, 0.0f, y.data(), l.N);
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < l.N; ++j) y[size_t(i * l.N + j)] += b[size_t(j)];
    };
    auto quantize = [&](bool shift) { quant::quantize_rows_int8(x.data(), M, l.K, 1.0f, xq.data(), sx.data(), shift); };
    auto gemm = [&](quant::Int8Kernel k) {
      quant::int8_gemm(k, M, l.N, l.K, xq.data(), sx.data(), qw.codes(scratch), qw.scale().data(), b.data(), y.data());
    };
    std::string impl;
    const auto t =
        interleaved({fp32, [&] { quantize(false); }, [&] { gemm(quant::Int8Kernel::s8s8); }, [&] { quantize(true); },
                     [&] {
                       gemm(quant::Int8Kernel::u8s8);
                       impl = quant::int8_gemm_last_impl();
                     }},
                    reps);
    std::vector<double> s8_total, u8_total;
    for (int r = 0; r < reps; ++r) {
      s8_total.push_back(t[1][size_t(r)] + t[2][size_t(r)]);
      u8_total.push_back(t[3][size_t(r)] + t[4][size_t(r)]);
    }
    const double ops = 2.0 * double(M) * double(l.N) * double(l.K);
    std::printf(
        "{\"bench\":\"int8_gemm\",\"case\":\"%s\",\"M\":%lld,\"N\":%lld,\"K\":%lld,\"threads\":%d,\"reps\":%d,"
        "\"fp32_ms\":%.4f,\"quantize_ms\":%.4f,\"s8s8_gemm_ms\":%.4f,\"u8s8_gemm_ms\":%.4f,"
        "\"fp32_gflops\":%.1f,\"s8s8_gops\":%.1f,\"u8s8_gops\":%.1f,"
        "\"speedup_s8s8_gemm\":%.3f,\"speedup_u8s8_gemm\":%.3f,\"speedup_s8s8_incl_quantize\":%.3f,"
        "\"speedup_u8s8_incl_quantize\":%.3f,\"speedup_s8s8_incl_quantize_best\":%.3f,"
        "\"speedup_u8s8_incl_quantize_best\":%.3f,\"impl\":\"%s\",\"load\":%s}\n",
        l.name, (long long)M, (long long)l.N, (long long)l.K, threads, reps, median(t[0]) * 1e3, median(t[1]) * 1e3,
        median(t[2]) * 1e3, median(t[4]) * 1e3, ops / median(t[0]) * 1e-9, ops / median(t[2]) * 1e-9,
        ops / median(t[4]) * 1e-9, median_ratio(t[0], t[2]), median_ratio(t[0], t[4]), median_ratio(t[0], s8_total),
        median_ratio(t[0], u8_total), best_ratio(t[0], s8_total), best_ratio(t[0], u8_total), impl.c_str(),
        load().c_str());
    std::fflush(stdout);
  }
}

// Times the linear layers of a forward (the part int8 replaces): computes each linear with the
// wrapped observer, or core::linear for fp32, and adds up the seconds spent inside.
class TimedLinears : public model::ForwardObserver {
 public:
  explicit TimedLinears(model::ForwardObserver* inner) : inner_(inner) {}
  void linear_input(int layer, model::LinearSite site, core::Tensor x) override {
    if (inner_) inner_->linear_input(layer, site, x);
  }
  bool linear(core::Ctx& ctx, int layer, model::LinearSite site, const core::Tensor& x, const core::Tensor& w,
              const core::Tensor* b, core::Tensor& out) override {
    const double t0 = now_s();
    if (!inner_ || !inner_->linear(ctx, layer, site, x, w, b, out)) out = core::linear(ctx, x, w, b);
    seconds += now_s() - t0;
    return true;
  }
  double seconds = 0;

 private:
  model::ForwardObserver* inner_;
};

void bench_prefill(const Model& m, int threads, int rounds, quant::Int8Kernel kernel) {
  model::GPT gpt(config(m));
  gpt.init(1);
  core::SeqRng rng(3);
  std::vector<int32_t> ids(size_t(m.B) * m.T);
  for (auto& t : ids) t = int32_t(rng.below(uint64_t(m.V)));

  quant::Int8Options w8a8 = quant::int8_options(quant::find_recipe("w8a8"));
  w8a8.kernel = kernel;
  quant::Int8Options head = w8a8, w4a8 = w8a8;
  head.include_head = true;
  w4a8.weight_bits = 4;
  quant::Int8Options llm = quant::int8_options(quant::find_recipe("llm-int8"));
  llm.kernel = kernel;
  quant::Int8Model int8(gpt, w8a8), int8_head(gpt, head), int4(gpt, w4a8), llm_int8(gpt, llm);
  const std::pair<const char*, model::ForwardObserver*> variants[] = {
      {"fp32", nullptr}, {"w8a8", &int8}, {"w8a8_head", &int8_head}, {"w4a8", &int4}, {"llm_int8", &llm_int8}};

  core::Arena acts, grads;
  // dense: GPT::forward on [B, T], logits of every position (what a training-style forward does).
  // packed: eval::PackedForward (the evaluation forward `nurture ptq` uses; vectorized GELU),
  //         logits of the last position of each sequence only (prefill before generation).
  eval::PackedBatch batch;
  for (int s = 0; s < m.B; ++s) {
    const int64_t seg = batch.add_sequence(ids.data() + size_t(s) * m.T, m.T);
    batch.want(batch.segments[size_t(seg)].end - 1);
  }
  eval::PackedForward packed(gpt);
  for (const char* mode : {"packed", "dense"}) {
    std::vector<std::function<void()>> fns;
    std::vector<std::vector<double>> linear_s(std::size(variants));
    for (size_t i = 0; i < std::size(variants); ++i)
      fns.push_back([&, i, mode] {
        acts.reset();
        core::Ctx ctx(acts, grads, nullptr);
        TimedLinears timed(variants[i].second);
        if (std::string(mode) == "dense")
          gpt.forward(ctx, ids.data(), m.B, m.T, 0, &timed);
        else
          packed(ctx, batch, &timed);
        linear_s[i].push_back(timed.seconds);
      });
    const auto t = interleaved(fns, rounds);
    const double tokens = double(m.B) * m.T;
    std::printf(
        "{\"bench\":\"int8_prefill\",\"forward\":\"%s\",\"model\":\"V%d d%d L%d H%d T%d B%d\",\"threads\":%d,"
        "\"kernel\":\"%s\",\"rounds\":%d",
        mode, m.V, m.d, m.L, m.H, m.T, m.B, threads, quant::name(kernel), rounds);
    for (size_t i = 0; i < t.size(); ++i) {
      // linear_s also holds the warm-up run: drop it so both lists cover the same rounds.
      const std::vector<double> lin(linear_s[i].begin() + 1, linear_s[i].end());
      std::vector<double> other;
      for (size_t r = 0; r < lin.size(); ++r) other.push_back(t[i][r] - lin[r]);
      std::printf(
          ",\"%s_tokens_per_s\":%.0f,\"%s_ms\":%.1f,\"%s_linear_ms\":%.1f,\"%s_other_ms\":%.1f,\"%s_ms_all\":%s",
          variants[i].first, tokens / median(t[i]), variants[i].first, median(t[i]) * 1e3, variants[i].first,
          median(lin) * 1e3, variants[i].first, median(other) * 1e3, variants[i].first, list(t[i], 1e3).c_str());
    }
    for (size_t i = 1; i < t.size(); ++i)
      std::printf(",\"speedup_%s\":%.3f,\"speedup_%s_best\":%.3f", variants[i].first, median_ratio(t[0], t[i]),
                  variants[i].first, best_ratio(t[0], t[i]));
    std::printf(",\"load\":%s}\n", load().c_str());
    std::fflush(stdout);
  }
}

void bench_memory(const Model& m) {
  model::GPT gpt(config(m));
  gpt.init(1);
  quant::Int8Options o8 = quant::int8_options(quant::find_recipe("w8a8")), o4 = o8;
  o4.weight_bits = 4;
  quant::Int8Options o8h = o8, o4h = o4;
  o8h.include_head = o4h.include_head = true;
  const quant::Int8Model i8(gpt, o8), i4(gpt, o4), i8h(gpt, o8h), i4h(gpt, o4h);
  std::printf(
      "{\"bench\":\"int8_memory\",\"model\":\"V%d d%d L%d H%d\",\"blocks_fp32_bytes\":%lld,\"blocks_int8_bytes\":%lld,"
      "\"blocks_int4_bytes\":%lld,\"blocks_int8_ratio\":%.4f,\"blocks_int4_ratio\":%.4f,"
      "\"with_head_fp32_bytes\":%lld,\"with_head_int8_bytes\":%lld,\"with_head_int4_bytes\":%lld,"
      "\"model_fp32_bytes\":%lld}\n",
      m.V, m.d, m.L, m.H, (long long)i8.float_weight_bytes(), (long long)i8.weight_bytes(),
      (long long)i4.weight_bytes(), double(i8.weight_bytes()) / double(i8.float_weight_bytes()),
      double(i4.weight_bytes()) / double(i4.float_weight_bytes()), (long long)i8h.float_weight_bytes(),
      (long long)i8h.weight_bytes(), (long long)i4h.weight_bytes(), (long long)(gpt.num_params() * 4));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, rounds = 7, reps = 9;
  std::string only, kernel = "s8s8", preset_name = "small";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else if (a == "--kernel" && i + 1 < argc)
      kernel = argv[++i];
    else if (a == "--preset" && i + 1 < argc)
      preset_name = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: bench_int8 [--threads 2] [--rounds 7] [--reps 9] [--kernel s8s8|u8s8] "
                   "[--preset small|gpt2] [--only gemm|prefill|memory]\n");
      return 2;
    }
  }
  rounds = std::max(rounds, 1);
  reps = std::max(reps, 1);
  omp_set_num_threads(threads);
  const quant::Int8Kernel k = kernel == "u8s8" ? quant::Int8Kernel::u8s8 : quant::Int8Kernel::s8s8;
  Model m;
  if (!preset(preset_name, m)) {
    std::fprintf(stderr, "bench_int8: unknown --preset '%s' (use small or gpt2)\n", preset_name.c_str());
    return 2;
  }
  std::fprintf(stderr, "bench_int8: preset %s, %d threads, load %s\n", preset_name.c_str(), threads, load().c_str());
  if (only.empty() || only == "memory") bench_memory(m);
  if (only.empty() || only == "gemm") bench_gemm(m, threads, reps);
  if (only.empty() || only == "prefill") bench_prefill(m, threads, rounds, k);
  return 0;
}
