// RoundStats on small hand-made arrays, every vector path, and the core::RoundFn glue.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "precision/format.h"
#include "precision/round_fn.h"
#include "precision/round_kernels.h"
#include "tests/precision/print.h"

namespace nurture::precision {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<kernels::Isa> isas() {
  std::vector<kernels::Isa> v;
  for (auto isa : {kernels::Isa::scalar, kernels::Isa::avx2, kernels::Isa::avx512, kernels::Isa::avx512_bf16}) {
    if (kernels::supported(isa)) v.push_back(isa);
  }
  return v;
}

// 13 elements: not a multiple of any vector width, so tails are exercised too.
const std::vector<float> kFp16Case = {
    0.0f, -0.0f, 1.0f,
    1e-8f,     // below half of 2^-24: underflow
    -1e-45f,   // fp32 subnormal: underflow
    3e-8f,     // rounds to 2^-24: subnormal
    1e-5f,     // subnormal
    70000.0f,  // overflow
    -1e6f,     // overflow
    kInf, -kInf, kNan,
    65504.0f,
};

TEST(precision_round_stats, fp16_counts_every_path) {
  for (auto isa : isas()) {
    for (bool ftz : {false, true}) {
      std::vector<float> v = kFp16Case;
      RoundStats s;
      kernels::round_copy(isa, Format::fp16, v.data(), v.data(), int64_t(v.size()),
                          {.flush_subnormals = ftz}, &s);
      const RoundStats want = ftz ? RoundStats{13, 4, 2, 0, 1, 2} : RoundStats{13, 2, 2, 2, 1, 2};
      EXPECT_EQ(s, want) << kernels::name(isa) << (ftz ? " ftz" : "");
      EXPECT_EQ(v[5], ftz ? 0.0f : 0x1p-24f);
      EXPECT_EQ(std::bit_cast<uint32_t>(v[4]), 0x80000000u);
      EXPECT_TRUE(std::isinf(v[7]) && std::isinf(v[8]) && v[8] < 0);
    }
  }
}

TEST(precision_round_stats, bf16_counts_every_path) {
  const std::vector<float> input = {
      1e-40f,    // fp32 subnormal kept as a bf16 subnormal
      1e-45f,    // 2^-149, below half of bf16's 2^-133: underflow
      3.40e38f,  // overflow
      -kNan, 1.0f, 0.0f, -2.5f,
  };
  for (auto isa : isas()) {
    std::vector<float> v = input;
    RoundStats s;
    kernels::round_copy(isa, Format::bf16, v.data(), v.data(), int64_t(v.size()), {}, &s);
    EXPECT_EQ(s, (RoundStats{7, 1, 1, 1, 1, 0})) << kernels::name(isa);
    EXPECT_EQ(std::bit_cast<uint32_t>(v[3]), 0xFFC00000u);
    // Counters accumulate across calls.
    kernels::round_copy(isa, Format::bf16, v.data(), v.data(), 2, {}, &s);
    EXPECT_EQ(s.elements, 9);
    EXPECT_EQ(s.subnormal, 2);
    EXPECT_EQ(s.underflow, 1);  // already zero: not underflowed again
  }
}

TEST(precision_round_stats, fp32_counts_without_rounding) {
  std::vector<float> v = {1e-40f, kNan, kInf, 1.0f};
  RoundStats s;
  round_inplace(Format::fp32, v.data(), 4, {}, &s);
  EXPECT_EQ(s, (RoundStats{4, 0, 0, 1, 1, 1}));
  EXPECT_EQ(v[0], 1e-40f);
}

TEST(precision_round_stats, round_copy_leaves_the_source) {
  const std::vector<float> src = {0.1f, 70000.0f, 1e-8f};
  for (Format f : {Format::fp32, Format::bf16, Format::fp16}) {
    std::vector<float> dst(3, -1.0f);
    RoundStats s;
    round_copy(f, src.data(), dst.data(), 3, {}, &s);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(dst[i], round_to(f, src[i])) << name(f);
    EXPECT_EQ(src[0], 0.1f);
    EXPECT_EQ(s.elements, 3);
    dst.assign(3, -1.0f);
    round_copy(f, src.data(), dst.data(), 3);  // the plain fp32 path is a copy
    EXPECT_EQ(dst[1], round_to(f, 70000.0f)) << name(f);
  }
}

TEST(precision_round_fn, empty_for_plain_fp32) {
  RoundContext ctx;
  EXPECT_FALSE(bool(make_round_fn(ctx)));
  ctx.options.flush_subnormals = true;
  EXPECT_TRUE(bool(make_round_fn(ctx)));
}

TEST(precision_round_fn, large_buffers_match_serial_rounding) {
  // Big enough to be split across threads, with a ragged end.
  const int64_t n = (int64_t(1) << 20) + 7;
  std::vector<float> a(n);
  for (int64_t i = 0; i < n; ++i) a[i] = std::ldexp(float(i % 1000) - 500.0f, int(i % 60) - 40);
  const std::vector<float> original = a;
  std::vector<float> b = a;

  RoundStats serial;
  round_inplace(Format::fp16, a.data(), n, {}, &serial);
  for (int64_t i = 0; i < n; ++i) {
    const float want = round_to(Format::fp16, original[i]);
    ASSERT_EQ(std::bit_cast<uint32_t>(a[i]), std::bit_cast<uint32_t>(want)) << i;
  }

  RoundStats shared;
  const RoundContext ctx{Format::fp16, {}, &shared};
  const core::RoundFn fn = make_round_fn(ctx);
  fn(b.data(), n);
  ctx.collect();

  EXPECT_EQ(shared, serial);
  EXPECT_GT(serial.overflow, 0);
  EXPECT_GT(serial.underflow, 0);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), n * sizeof(float)), 0);
}

TEST(precision_round_fn, stats_are_safe_from_parallel_callers) {
  RoundStats shared;
  const RoundContext ctx{Format::bf16, {.flush_subnormals = true}, &shared};
  const core::RoundFn fn = make_round_fn(ctx);
#pragma omp parallel for
  for (int t = 0; t < 64; ++t) {
    std::vector<float> v = {1e-40f, 3.4e38f, 1.0f};
    fn(v.data(), 3);
  }
  EXPECT_EQ(shared, RoundStats{}) << "per-thread counts reach the target only through collect()";
  ctx.collect();
  EXPECT_EQ(shared, (RoundStats{192, 64, 64, 0, 0, 0}));
  ctx.collect();
  EXPECT_EQ(shared, (RoundStats{192, 64, 64, 0, 0, 0})) << "collect() empties the shards";
}

TEST(precision_round_fn, threads_beyond_the_shards_are_counted) {
  // More OS threads than shards: the late ones add to the target directly.
  RoundStats shared;
  const RoundContext ctx{Format::bf16, {}, &shared};
  const core::RoundFn fn = make_round_fn(ctx);
  std::vector<std::thread> threads;
  for (int t = 0; t < kStatShards + 16; ++t)
    threads.emplace_back([&] {
      std::vector<float> v = {3.4e38f, 1.0f};
      fn(v.data(), 2);
    });
  for (auto& th : threads) th.join();
  ctx.collect();
  EXPECT_EQ(shared.elements, 2 * (kStatShards + 16));
  EXPECT_EQ(shared.overflow, kStatShards + 16);
}

TEST(precision_round_fn, clear_drops_partial_counts) {
  RoundStats shared;
  const RoundContext ctx{Format::bf16, {}, &shared};
  std::vector<float> v = {3.4e38f};
  make_round_fn(ctx)(v.data(), 1);
  ctx.clear();
  ctx.collect();
  EXPECT_EQ(shared, RoundStats{});
}

}  // namespace
}  // namespace nurture::precision
