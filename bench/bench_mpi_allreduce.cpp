// bench_mpi_allreduce: time to sum one flat fp32 gradient buffer across the ranks of an MPI job,
// with the trainer's rank-ordered reduction for N > 2 (dist::sum_ordered_alltoall: Alltoallv +
// ordered sum + Allgatherv, bit-identical on every rank) and with the library's MPI_Allreduce
// (what the trainer uses for N = 2, where it is exact anyway), so the price of determinism is
// visible. Rank 0 prints ONE JSON line:
//   {"ranks":2,"floats":6901760,"bytes":…,"ordered_ms_median":…,"mpi_allreduce_ms_median":…,
//    "ordered_algbw_gbps":…,"ordered_busbw_gbps":…,…}
// algbw = bytes / time; busbw = algbw · 2(N−1)/N, the bytes each rank actually moves in a
// bandwidth-optimal all-reduce (the nccl-tests convention), comparable to a link's bandwidth.
//
//   mpirun -np 2 build/bench/bench_mpi_allreduce --floats 6901760 --reps 20
// The default size is the benchmark model's gradient (V4096 d256 L6 H8 T256: 6,901,760 floats).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "train/distributed.h"

namespace dist = nurture::train::dist;

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  int64_t floats = 6901760;
  int reps = 20, warmup = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--floats" && i + 1 < argc)
      floats = std::atoll(argv[++i]);
    else if (a == "--reps" && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (a == "--warmup" && i + 1 < argc)
      warmup = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: mpirun -np N %s [--floats N] [--reps N] [--warmup N]\n", argv[0]);
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  dist::Session mpi(&argc, &argv);
  const int N = dist::size();
  std::vector<float> g(static_cast<size_t>(floats)), scratch;
  std::vector<double> ordered, library;
  using Clock = std::chrono::steady_clock;
  // Interleaved, so load from other processes hits both variants alike.
  for (int r = 0; r < warmup + reps; ++r) {
    for (int64_t i = 0; i < floats; ++i) g[size_t(i)] = float((i + dist::rank()) % 7) * 1e-3f;
    dist::barrier();
    auto t0 = Clock::now();
    dist::sum_ordered_alltoall(g.data(), floats, scratch);
    const double a = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    dist::barrier();
    t0 = Clock::now();
    dist::sum_mpi(g.data(), floats);
    const double b = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (r >= warmup) ordered.push_back(a), library.push_back(b);
  }
  if (dist::is_root()) {
    const double bytes = double(floats) * sizeof(float);
    const double om = median(ordered), lm = median(library);
    const double bus = N > 1 ? 2.0 * (N - 1) / N : 0.0;
    std::printf(
        "{\"benchmark\":\"mpi_allreduce\",\"ranks\":%d,\"floats\":%lld,\"bytes\":%.0f,\"reps\":%d,"
        "\"ordered_ms_median\":%.3f,\"mpi_allreduce_ms_median\":%.3f,\"ordered_algbw_gbps\":%.3f,"
        "\"ordered_busbw_gbps\":%.3f,\"mpi_allreduce_busbw_gbps\":%.3f}\n",
        N, static_cast<long long>(floats), bytes, reps, om, lm, bytes / om / 1e6, bytes * bus / om / 1e6,
        bytes * bus / lm / 1e6);
  }
  return 0;
}
