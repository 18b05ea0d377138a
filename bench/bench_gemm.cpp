// fp32 sgemm vs native bf16 GEMM (core/gemm_bf16.h) at the linear-layer shapes of the benchmark
// model (d=256, B·T = 16·256 = 4096 tokens, vocab 4096): for every linear y = x·Wᵀ its forward
// (NT, beta 0), input gradient dx = dy·W (NN, beta 1) and weight gradient dW = dyᵀ·x (TN,
// beta 1), exactly as core/ops_linear.cpp calls them.
//
// One JSON line per GEMM: median milliseconds and GFLOP/s over --reps timed repetitions
// (sgemm and gemm_bf16 interleaved so load changes hit both alike); bf16 time includes the
// operand conversion, which is also timed alone (convert_ms, both operands).
//
//   bench_gemm [--threads 2] [--reps 15] [--only SUBSTRING-OF-CASE-NAME]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/gemm.h"
#include "core/gemm_bf16.h"

using namespace nurture;

namespace {

struct Case {
  std::string name;
  bool ta, tb;
  int64_t M, N, K;
  float beta;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void fill_bf16(std::vector<float>& v, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& x : v) {
    uint32_t u;
    float f = nd(rng);
    std::memcpy(&u, &f, 4);
    u &= 0xffff0000u;
    std::memcpy(&x, &u, 4);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 15;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_gemm [--threads 2] [--reps 15] [--only NAME]\n");
      return 2;
    }
  }
  reps = std::max(reps, 1);
  omp_set_num_threads(threads);

  constexpr int64_t T = 4096, d = 256, V = 4096;
  struct Linear {
    const char* name;
    int64_t out, in;
  };
  const Linear linears[] = {
      {"qkv", 3 * d, d}, {"proj", d, d}, {"fc", 4 * d, d}, {"mlp_proj", d, 4 * d}, {"lm_head", V, d}};
  std::vector<Case> cases;
  for (const Linear& l : linears) {
    const std::string n = l.name;
    cases.push_back({n + ".fwd", false, true, T, l.out, l.in, 0.0f});  // y = x·Wᵀ
    cases.push_back({n + ".dx", false, false, T, l.in, l.out, 1.0f});  // dx += dy·W
    cases.push_back({n + ".dW", true, false, l.out, l.in, T, 1.0f});   // dW += dyᵀ·x
  }

  std::fprintf(stderr, "bench_gemm: %d threads, %d reps, bf16 native: %s\n", threads, reps,
               core::bf16_gemm_available() ? "yes" : "no");
  for (const Case& c : cases) {
    if (!only.empty() && c.name.find(only) == std::string::npos) continue;
    // Stored shapes: A is M×K (K×M if ta), B is K×N (N×K if tb), all packed.
    const int64_t lda = c.ta ? c.M : c.K, ldb = c.tb ? c.K : c.N;
    std::vector<float> A(c.M * c.K), B(c.K * c.N), C1(c.M * c.N, 0.0f), C2(c.M * c.N, 0.0f);
    fill_bf16(A, 1);
    fill_bf16(B, 2);
    std::vector<uint16_t> a16(A.size()), b16(B.size());
    auto run_sgemm = [&] {
      core::sgemm(c.ta, c.tb, c.M, c.N, c.K, 1.0f, A.data(), lda, B.data(), ldb, c.beta, C1.data(),
                  c.N);
    };
    auto run_bf16 = [&] {
      core::gemm_bf16(c.ta, c.tb, c.M, c.N, c.K, 1.0f, A.data(), lda, B.data(), ldb, c.beta,
                      C2.data(), c.N);
    };
    auto run_convert = [&] {
      core::to_bf16_truncate(A.data(), c.ta ? c.K : c.M, c.ta ? c.M : c.K, lda, a16.data());
      core::to_bf16_truncate(B.data(), c.tb ? c.N : c.K, c.tb ? c.K : c.N, ldb, b16.data());
    };
    for (int w = 0; w < 2; ++w) {  // warm-up: JIT kernels, primitive cache, scratch, page faults
      run_sgemm();
      run_bf16();
      run_convert();
    }
    std::vector<double> ts, tb, tc;
    for (int r = 0; r < reps; ++r) {
      double t0 = now_s();
      run_sgemm();
      double t1 = now_s();
      run_bf16();
      double t2 = now_s();
      run_convert();
      double t3 = now_s();
      ts.push_back(t1 - t0);
      tb.push_back(t2 - t1);
      tc.push_back(t3 - t2);
    }
    const double flop = 2.0 * double(c.M) * double(c.N) * double(c.K);
    const double ms = median(ts), mb = median(tb), mc = median(tc);
    std::printf(
        "{\"bench\":\"gemm\",\"case\":\"%s\",\"op\":\"%c%c\",\"M\":%lld,\"N\":%lld,\"K\":%lld,"
        "\"beta\":%g,\"threads\":%d,\"reps\":%d,\"sgemm_ms\":%.4f,\"bf16_ms\":%.4f,"
        "\"convert_ms\":%.4f,\"sgemm_gflops\":%.1f,\"bf16_gflops\":%.1f,"
        "\"bf16_gflops_excl_convert\":%.1f,\"speedup\":%.3f,\"impl\":\"%s\"}\n",
        c.name.c_str(), c.ta ? 'T' : 'N', c.tb ? 'T' : 'N', (long long)c.M, (long long)c.N,
        (long long)c.K, c.beta, threads, reps, ms * 1e3, mb * 1e3, mc * 1e3, flop / ms * 1e-9,
        flop / mb * 1e-9, mb > mc ? flop / (mb - mc) * 1e-9 : 0.0, ms / mb,
        core::gemm_bf16_last_impl().c_str());
    std::fflush(stdout);
  }
  return 0;
}
