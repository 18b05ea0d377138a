// The fp32 GEMM ceiling of this machine: oneDNN sgemm on the benchmark model's MLP shape
// ([4096, 256] × [1024, 256]ᵀ), 22 timed calls after 3 warm-up ones. Prints one JSON line with
// the best and median wall-clock GFLOP/s and the median GFLOP per CPU-second of the process
// (on a shared machine the CPU-time figure of a 1-thread run is the load-insensitive one).
//
//   OMP_NUM_THREADS=1 bench_sgemm_ceiling
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

namespace {
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}
}  // namespace

int main() {
  const long M = 4096, N = 1024, K = 256;
  std::vector<float> A(M * K, 0.5f), B(N * K, 0.25f), C(M * N);
  std::vector<double> wall, cpu;
  for (int r = 0; r < 25; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_ms();
    dnnl_sgemm('N', 'T', M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, C.data(), N);
    const double c1 = cpu_ms();
    const auto t1 = std::chrono::steady_clock::now();
    if (r < 3) continue;
    wall.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    cpu.push_back(c1 - c0);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  const double gflop = 2.0 * M * N * K / 1e9;
  std::printf(
      "{\"threads\":%d,\"shape\":[%ld,%ld,%ld],\"gflops_best_wall\":%.1f,\"gflops_median_wall\":%.1f,"
      "\"gflops_per_cpu_s_median\":%.1f}\n",
      omp_get_max_threads(), M, N, K, gflop / (wall[0] / 1e3), gflop / (wall[wall.size() / 2] / 1e3),
      gflop / (cpu[cpu.size() / 2] / 1e3));
  return 0;
}
