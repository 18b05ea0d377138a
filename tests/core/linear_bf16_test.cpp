// The native-bf16 fast paths of core::linear (core/ops_linear.cpp): bias added in oneDNN's
// epilogue (gemm_bf16_bias) and dy converted once for both backward GEMMs
// (gemm_bf16_converted_a), against the generic path (separate bias pass, one conversion per GEMM)
// and against the emulated bf16 GEMM (sgemm on the same bf16 values).
//
// Tolerances. Operands are bf16 values, so products are exact and only the fp32 summation order
// differs: per element |Δ| ≤ (K + 4)·u·S with u = 2^-24 and S = Σ|a_k·b_k| + |bias| (the bound
// of gemm_bf16_test.cpp). The forward output is then rounded to bf16, where such a difference
// can flip one rounding: at most one bf16 ulp, 2^-8 relative. A wrong bias, transpose or operand
// gives O(S) errors.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "core/attention_reference.h"
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/ops.h"
#include "grad_check.h"

using namespace nurture;
using core::Buffer;

namespace {

constexpr double kU = 0x1.0p-24;

// bf16 round to nearest even in an fp32 slot (finite inputs only).
float rne_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&f, &u, 4);
  return f;
}
void round_bf16(float* p, int64_t n, void*) {
  for (int64_t i = 0; i < n; ++i) p[i] = rne_bf16(p[i]);
}

std::vector<float> random_bf16(int64_t n, uint64_t seed) {
  Buffer b(core::Shape{n});
  test::fill_normal(b, seed);
  std::vector<float> v(b.data(), b.data() + n);
  for (float& x : v) x = rne_bf16(x);
  return v;
}

std::vector<float> abs_of(const std::vector<float>& v) {
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = std::fabs(v[i]);
  return r;
}

// Per element: |got − want| ≤ rel·|want| + (K + 4)·u·S.
void expect_within(const std::vector<float>& got, const std::vector<float>& want, const std::vector<float>& S,
                   int64_t K, double rel, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i) {
    const double tol = rel * std::abs(double(want[i])) + double(K + 4) * kU * S[i];
    const double err = std::abs(double(got[i]) - want[i]);
    if (err > tol) ++bad;
    EXPECT_LE(err, tol) << what << "[" << i << "]";
  }
}

TEST(GemmBf16Bias, EqualsGemmThenBiasPass) {
  if (!core::bf16_gemm_available()) GTEST_SKIP() << "no AVX512_BF16";
  for (bool tb : {true, false}) {
    const int64_t M = 70, N = 48, K = 37;
    const auto A = random_bf16(M * K, 1), B = random_bf16(K * N, 2), bias = random_bf16(N, 3);
    const int64_t ldb = tb ? K : N;
    std::vector<float> fused(M * N), plain(M * N), S(M * N);
    core::gemm_bf16_bias(tb, M, N, K, A.data(), K, B.data(), ldb, bias.data(), fused.data(), N);
    EXPECT_NE(core::gemm_bf16_last_impl().find("brg"), std::string::npos) << core::gemm_bf16_last_impl();
    core::gemm_bf16(false, tb, M, N, K, 1.0f, A.data(), K, B.data(), ldb, 0.0f, plain.data(), N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) plain[i * N + j] += bias[j];
    const auto aA = abs_of(A), aB = abs_of(B);
    core::sgemm(false, tb, M, N, K, 1.0f, aA.data(), K, aB.data(), ldb, 0.0f, S.data(), N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) S[i * N + j] += std::fabs(bias[j]);
    expect_within(fused, plain, S, K, 0.0, tb ? "NT" : "NN");
  }
}

TEST(GemmBf16ConvertedA, BitIdenticalToGemmBf16) {
  if (!core::bf16_gemm_available()) GTEST_SKIP() << "no AVX512_BF16";
  const int64_t M = 53, N = 29, K = 41;
  for (bool ta : {false, true}) {
    const auto A = random_bf16(M * K, 4), B = random_bf16(K * N, 5), C0 = random_bf16(M * N, 6);
    const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
    std::vector<float> want = C0, got = C0;
    core::gemm_bf16(ta, false, M, N, K, 1.0f, A.data(), a_cols, B.data(), N, 1.0f, want.data(), N);
    uint16_t* a16 = core::gemm_bf16_operand_scratch(M * K);
    core::to_bf16_truncate(A.data(), a_rows, a_cols, a_cols, a16);
    core::gemm_bf16_converted_a(ta, false, M, N, K, 1.0f, a16, B.data(), N, 1.0f, got.data(), N);
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4)) << (ta ? "TN" : "NN");
  }
}

struct LinearOut {
  std::vector<float> y, dx, dw, db;
};

// A bf16-policy linear: operands bf16, output and incoming gradient rounded (as MixedPrecision
// does), GEMM either the native one or sgemm on the same values (the emulation).
LinearOut run_linear(core::GemmFn gemm, bool with_bias) {
  const int64_t M = 96, K = 40, N = 72;
  Buffer x(core::Shape{4, 24, K}, true), w(core::Shape{N, K}, true), b(core::Shape{N}, true);
  auto xv = random_bf16(M * K, 7), wv = random_bf16(N * K, 8), bv = random_bf16(N, 9);
  std::copy(xv.begin(), xv.end(), x.data());
  std::copy(wv.begin(), wv.end(), w.data());
  std::copy(bv.begin(), bv.end(), b.data());
  core::Arena acts, grads;
  core::Tape tape;
  core::Ctx ctx(acts, grads, &tape);
  ctx.prec.gemm = gemm;
  ctx.prec.act.fn = round_bf16;
  ctx.prec.grad.fn = round_bf16;
  core::Tensor y = core::linear(ctx, x.t(), w.t(), with_bias ? &b.t() : nullptr);
  const auto R = random_bf16(M * N, 10);
  std::copy(R.begin(), R.end(), y.grad);
  tape.backward(ctx.prec);
  return {
      {y.data, y.data + M * N}, {x.grad(), x.grad() + M * K}, {w.grad(), w.grad() + N * K}, {b.grad(), b.grad() + N}};
}

TEST(LinearNativeBf16, MatchesEmulatedBf16WithinSummationOrder) {
  if (!core::bf16_gemm_available()) GTEST_SKIP() << "no AVX512_BF16";
  for (bool with_bias : {true, false}) {
    SCOPED_TRACE(with_bias ? "bias" : "no bias");
    const LinearOut nat = run_linear(core::gemm_bf16, with_bias), emu = run_linear(core::sgemm, with_bias);
    // Loose O(S) scale for the checks below: inputs are N(0,1), so S ≈ 0.8·K per element.
    const std::vector<float> Sy(nat.y.size(), 0.8f * 40 * 4 + 4), Sdx(nat.dx.size(), 0.8f * 72 * 4),
        Sdw(nat.dw.size(), 0.8f * 96 * 4);
    expect_within(nat.y, emu.y, Sy, 40, 0x1.0p-8, "y");
    expect_within(nat.dx, emu.dx, Sdx, 72, 0.0, "dx");
    expect_within(nat.dw, emu.dw, Sdw, 96, 0.0, "dw");
    EXPECT_EQ(nat.db, emu.db);  // same code on the same rounded dy
    // And the result is a linear layer at all: y differs from a bias-free run by the bias.
    if (with_bias) {
      const LinearOut nb = run_linear(core::gemm_bf16, false);
      double diff = 0;
      for (size_t i = 0; i < nb.y.size(); ++i) diff = std::max(diff, double(std::fabs(nat.y[i] - nb.y[i])));
      EXPECT_GT(diff, 0.1);
    }
  }
}

// Attention under the native bf16 policy: all six tile products run on vdpbf16ps, or on AMX
// tiles where the CPU has them and the shape fits (core/ops_attention.cpp). Against the reference
// kernel (Eigen fp32 on the same bf16 values, the emulation) with the rounding hooks of the bf16
// policy. Tolerance as in fast_paths_test.cpp's bf16 hook tests: a summation-order difference can
// flip one bf16 rounding of a score or probability (2^-8 relative), so 2^-6·(1 + |ref|); an
// indexing or packing bug gives O(1) errors.
struct AttnOut {
  std::vector<float> y, dqkv;
};

AttnOut run_attention(bool reference, core::GemmFn gemm, int64_t T, int H, int64_t hd, bool alibi,
                      bool bf16_inputs = true) {
  const int64_t B = 2, C = H * hd;
  Buffer qkv(core::Shape{B, T, 3 * C}, true);
  const auto v = random_bf16(qkv.numel(), 21);
  std::copy(v.begin(), v.end(), qkv.data());
  if (!bf16_inputs)  // off the bf16 grid: the native path truncates these, the fp32 one does not
    for (int64_t i = 0; i < qkv.numel(); ++i) qkv.data()[i] *= 1.0f + 0x1.0p-12f;
  core::Arena acts, grads;
  core::Tape tape;
  core::Ctx ctx(acts, grads, &tape);
  ctx.prec.gemm = gemm;
  ctx.prec.act.fn = round_bf16;
  ctx.prec.grad.fn = round_bf16;
  ctx.prec.gemm_operand.fn = round_bf16;
  core::Tensor y = reference ? core::causal_attention_reference(ctx, qkv.t(), H, alibi)
                             : core::causal_attention(ctx, qkv.t(), H, alibi);
  const auto R = random_bf16(y.numel(), 22);
  std::copy(R.begin(), R.end(), y.grad);
  tape.backward(ctx.prec);
  return {{y.data, y.data + y.numel()}, {qkv.grad(), qkv.grad() + qkv.numel()}};
}

TEST(AttentionNativeBf16, MatchesEmulatedReference) {
  if (!core::bf16_gemm_available()) GTEST_SKIP() << "no AVX512_BF16";
  struct Case {
    int64_t T;
    int H;
    int64_t hd;
    bool alibi;
  };
  // T = 64 with head_dim 32: every tile product fits the AMX tiles where the CPU has them.
  for (const Case c : {Case{45, 2, 16, false}, Case{70, 3, 10, true}, Case{33, 1, 32, true}, Case{64, 2, 32, true}}) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " H=" << c.H << " hd=" << c.hd);
    const AttnOut nat = run_attention(false, core::gemm_bf16, c.T, c.H, c.hd, c.alibi);
    const AttnOut ref = run_attention(true, core::gemm_bf16, c.T, c.H, c.hd, c.alibi);
    // The native path really runs: with inputs off the bf16 grid (outside its contract) it
    // truncates them, so it no longer matches the fp32 kernel. (On bf16 inputs the two usually
    // agree bit for bit, because scores and dP are rounded to bf16 right after the product.)
    const AttnOut nat_off = run_attention(false, core::gemm_bf16, c.T, c.H, c.hd, c.alibi, false);
    const AttnOut fp_off = run_attention(false, nullptr, c.T, c.H, c.hd, c.alibi, false);
    for (auto [got, want, what] : {std::tuple{&nat.y, &ref.y, "y"}, std::tuple{&nat.dqkv, &ref.dqkv, "dqkv"}}) {
      int bad = 0;
      for (size_t i = 0; i < want->size() && bad < 5; ++i) {
        const double tol = 0x1.0p-6 * (1 + std::abs((*want)[i]));
        if (std::abs((*got)[i] - (*want)[i]) > tol) ++bad;
        EXPECT_LE(std::abs((*got)[i] - (*want)[i]), tol) << what << "[" << i << "]";
      }
    }
    EXPECT_NE(0, std::memcmp(nat_off.y.data(), fp_off.y.data(), nat_off.y.size() * 4));
    EXPECT_NE(0, std::memcmp(nat_off.dqkv.data(), fp_off.dqkv.data(), nat_off.dqkv.size() * 4));
  }
}

// LayerNorm and GELU outputs that feed only a linear layer are stored as bf16 words under the
// native policy (into_linear, Ctx::make_bf16). A block LN → linear → GELU → linear must give the
// same bits either way, forward and backward, and its act hook must see the same values: the words
// are the rounded fp32 outputs, truncated exactly.
struct HookSeen {
  int64_t elements = 0;
  uint64_t bit_sum = 0;  // order-free fingerprint of the rounded values
};
void round_bf16_seen(float* p, int64_t n, void* user) {
  round_bf16(p, n, nullptr);
  auto& seen = *static_cast<HookSeen*>(user);
#pragma omp critical
  {
    seen.elements += n;
    for (int64_t i = 0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, p + i, 4);
      seen.bit_sum += u;
    }
  }
}

struct BlockOut {
  std::vector<std::vector<float>> values;  // y, then every parameter's and the input's gradient
  HookSeen seen;
  bool stored_as_words = false;
};

BlockOut run_block(bool into_linear, core::GeluKind kind, bool ln_bias) {
  const int64_t B = 3, T = 37, C = 48, F = 4 * C;  // 111 rows: no multiple of LayerNorm's 16-row blocks
  Buffer x(core::Shape{B, T, C}, true), g(core::Shape{C}, true), be(core::Shape{C}, true);
  Buffer w1(core::Shape{F, C}, true), b1(core::Shape{F}, true), w2(core::Shape{C, F}, true), b2(core::Shape{C}, true);
  uint64_t seed = 30;
  for (Buffer* p : {&x, &g, &be, &w1, &b1, &w2, &b2}) {
    const auto v = random_bf16(p->numel(), seed++);
    std::copy(v.begin(), v.end(), p->data());
  }
  for (int64_t i = 0; i < C; ++i) g.data()[i] = rne_bf16(1.0f + 0.25f * g.data()[i]);
  BlockOut out;
  core::Arena acts, grads;
  {  // NaN garbage where the gradients will go: a words tensor's gradient is never zeroed, only overwritten
    const size_t n = size_t(1) << 20;
    std::fill_n(grads.alloc(n), n, std::numeric_limits<float>::quiet_NaN());
    grads.reset();
  }
  core::Tape tape;
  core::Ctx ctx(acts, grads, &tape);
  ctx.prec.gemm = core::gemm_bf16;
  ctx.prec.act = {round_bf16_seen, &out.seen};
  ctx.prec.grad.fn = round_bf16;
  core::Tensor h = core::layer_norm(ctx, x.t(), g.t(), ln_bias ? &be.t() : nullptr, 1e-5f, into_linear);
  core::Tensor f = core::gelu(ctx, core::linear(ctx, h, w1.t(), &b1.t()), kind, into_linear);
  core::Tensor y = core::linear(ctx, f, w2.t(), &b2.t());
  out.stored_as_words = h.words && !h.data && f.words && !f.data;
  const auto R = random_bf16(y.numel(), 99);
  std::copy(R.begin(), R.end(), y.grad);
  tape.backward(ctx.prec);
  out.values.push_back({y.data, y.data + y.numel()});
  for (Buffer* p : {&x, &g, &be, &w1, &b1, &w2, &b2}) out.values.push_back({p->grad(), p->grad() + p->numel()});
  return out;
}

TEST(Bf16Words, LayerNormAndGeluIntoLinearGiveTheSameBits) {
  if (!core::bf16_gemm_available()) GTEST_SKIP() << "no AVX512_BF16";
  for (auto kind : {core::GeluKind::Erf, core::GeluKind::Tanh})
    for (bool ln_bias : {true, false}) {
      SCOPED_TRACE(std::string(kind == core::GeluKind::Erf ? "erf" : "tanh") + (ln_bias ? " bias" : " no bias"));
      const BlockOut fp = run_block(false, kind, ln_bias), words = run_block(true, kind, ln_bias);
      EXPECT_FALSE(fp.stored_as_words);
      EXPECT_TRUE(words.stored_as_words);
      ASSERT_EQ(fp.values.size(), words.values.size());
      for (size_t k = 0; k < fp.values.size(); ++k)
        EXPECT_EQ(0, std::memcmp(fp.values[k].data(), words.values[k].data(), fp.values[k].size() * 4)) << "value " << k;
      EXPECT_EQ(fp.seen.elements, words.seen.elements);
      EXPECT_EQ(fp.seen.bit_sum, words.seen.bit_sum);
    }
}

// Without the native GEMM there is nothing to read words, so the outputs stay fp32.
TEST(Bf16Words, OnlyUnderTheNativePolicy) {
  Buffer x(core::Shape{4, 8}, true), g(core::Shape{8}, true);
  std::fill(g.data(), g.data() + 8, 1.0f);
  core::Arena acts, grads;
  core::Tape tape;
  core::Ctx ctx(acts, grads, &tape);
  ctx.prec.act.fn = round_bf16;
  const core::Tensor h = core::layer_norm(ctx, x.t(), g.t(), nullptr, 1e-5f, true);
  const core::Tensor f = core::gelu(ctx, x.t(), core::GeluKind::Erf, true);
  EXPECT_TRUE(h.data && !h.words);
  EXPECT_TRUE(f.data && !f.words);
}

}  // namespace
