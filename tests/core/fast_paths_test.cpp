// The fast kernels against the scalar references they replace: blocked causal attention vs
// causal_attention_reference (forward and every input gradient, fp32 and under a bf16 rounding
// hook, with and without ALiBi, T not a multiple of the block), vectorised erf GELU vs libm.
//
// Tolerances. fp32: the two attention kernels differ only in summation order and in exp (Eigen's
// vectorised vs libm's, both within ~2 ulp), so outputs and gradients agree to ~1e-6 relative;
// 2e-5·(1 + |ref|) is far below any indexing or masking bug (O(1)). bf16 hook: a few-ulp fp32
// difference can flip a bf16 rounding of a score or probability (relative step 2^-8), so the
// bound is 2^-6·(1 + |ref|) with almost all elements still exactly equal.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/attention_reference.h"
#include "core/ops.h"
#include "core/rng.h"
#include "grad_check.h"

using namespace nurture;
using core::Buffer;

namespace {

// bf16 round to nearest even in an fp32 slot (finite inputs only, enough for these tests).
void round_bf16(float* p, int64_t n, void*) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, p + i, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    std::memcpy(p + i, &u, 4);
  }
}

struct Outputs {
  std::vector<float> y, dqkv;
};

using AttnFn = core::Tensor (*)(core::Ctx&, const core::Tensor&, int, bool);
core::Tensor blocked_attention(core::Ctx& c, const core::Tensor& qkv, int H, bool alibi) {
  return core::causal_attention(c, qkv, H, alibi);
}

Outputs run_attention(AttnFn fn, Buffer& in, int H, bool alibi, bool bf16, bool half_softmax) {
  Buffer qkv(in.t().shape, true);
  std::copy(in.data(), in.data() + in.numel(), qkv.data());
  core::Arena acts, grads;
  core::Tape tape;
  core::Ctx ctx(acts, grads, &tape);
  if (bf16) {
    ctx.prec.gemm_operand.fn = round_bf16;
    ctx.prec.softmax_fp32 = !half_softmax;
  }
  core::Tensor y = fn(ctx, qkv.t(), H, alibi);
  Buffer R(y.shape);
  test::fill_normal(R, 77);
  for (int64_t i = 0; i < y.numel(); ++i) y.grad[i] = R.data()[i];
  tape.backward(ctx.prec);
  Outputs r;
  r.y.assign(y.data, y.data + y.numel());
  r.dqkv.assign(qkv.grad(), qkv.grad() + qkv.numel());
  return r;
}

// Every element within tol·(1 + |want|); returns the mean absolute difference.
double expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol, const char* what) {
  EXPECT_EQ(got.size(), want.size());
  double sum = 0;
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i) {
    const double err = std::abs(double(got[i]) - want[i]);
    sum += err;
    if (err > tol * (1 + std::abs(want[i]))) ++bad;
    EXPECT_LE(err, tol * (1 + std::abs(want[i]))) << what << "[" << i << "]";
  }
  return sum / double(got.size());
}

struct Case {
  int B, T, H, hd;
  bool alibi, bf16, half_softmax;
};

void compare(const Case& c) {
  Buffer qkv({c.B, c.T, 3 * c.H * c.hd});
  test::fill_normal(qkv, 1000 + c.T, 1.5);
  const Outputs fast = run_attention(blocked_attention, qkv, c.H, c.alibi, c.bf16, c.half_softmax);
  const Outputs ref = run_attention(core::causal_attention_reference, qkv, c.H, c.alibi, c.bf16, c.half_softmax);
  const double tol = c.bf16 ? 1.0 / 64 : 2e-5;
  const double dy = expect_close(fast.y, ref.y, tol, "y");
  const double dg = expect_close(fast.dqkv, ref.dqkv, tol, "dqkv");
  if (!c.bf16) return;
  // The rounding points must all be there: fast-vs-reference under the same hook has to be much
  // closer than the effect of the hook itself (reference with vs without it).
  const Outputs ref32 = run_attention(core::causal_attention_reference, qkv, c.H, c.alibi, false, false);
  const double ey = expect_close(ref32.y, ref.y, 1.0, "y (hook effect)");
  const double eg = expect_close(ref32.dqkv, ref.dqkv, 1.0, "dqkv (hook effect)");
  std::printf("mean |fast - ref|: y %.3g dqkv %.3g; mean hook effect: y %.3g dqkv %.3g\n", dy, dg, ey, eg);
  EXPECT_LT(dy, 0.1 * ey);
  EXPECT_LT(dg, 0.1 * eg);
}

}  // namespace

TEST(FastAttention, MatchesReferenceFp32) { compare({2, 70, 3, 8, false, false, false}); }
TEST(FastAttention, MatchesReferenceFp32Alibi) { compare({2, 45, 4, 5, true, false, false}); }
TEST(FastAttention, MatchesReferenceSingleBlock) { compare({3, 9, 2, 4, true, false, false}); }
TEST(FastAttention, MatchesReferenceBf16Hook) { compare({2, 80, 2, 16, false, true, false}); }
TEST(FastAttention, MatchesReferenceBf16HalfSoftmaxAlibi) { compare({1, 66, 4, 8, true, true, true}); }

TEST(FastAttention, FiniteDifferencesMultiBlock) {
  // T spans three row blocks, so the cross-block dK/dV accumulation is checked too.
  const int B = 1, T = 70, H = 2, hd = 4, C = H * hd;
  Buffer qkv({B, T, 3 * C}, true);
  test::fill_normal(qkv, 21);
  test::GradCheckOptions opt;
  opt.samples_per_input = 150;
  test::check_gradients([&](core::Ctx& c) { return core::causal_attention(c, qkv.t(), H, true); }, {{"qkv", &qkv}},
                        opt);
}

TEST(FastAttention, IndependentOfThreadCount) {
  Buffer qkv({2, 40, 3 * 4 * 8});
  test::fill_normal(qkv, 5);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const Outputs one = run_attention(blocked_attention, qkv, 4, false, false, false);
  omp_set_num_threads(3);
  const Outputs three = run_attention(blocked_attention, qkv, 4, false, false, false);
  omp_set_num_threads(saved);
  EXPECT_EQ(one.y, three.y);
  EXPECT_EQ(one.dqkv, three.dqkv);
}

TEST(FastGelu, ErfMatchesLibmInFp32Tolerance) {
  // Eigen's erf is a rational approximation: a few fp32 ulp from the double-precision formula
  // (measured max ~3e-7 absolute on this range); 2e-6·(1 + |ref|) still catches a wrong constant.
  const int64_t n = 70001;  // > one 4096 chunk and the parallel threshold, odd tail
  Buffer x({n}, true);
  for (int64_t i = 0; i < n; ++i) x.data()[i] = -9.0f + 18.0f * float(i) / float(n - 1);
  core::Arena acts, grads;
  core::Tape tape;
  core::Ctx ctx(acts, grads, &tape);
  core::Tensor y = core::gelu(ctx, x.t(), core::GeluKind::Erf);
  for (int64_t i = 0; i < n; ++i) y.grad[i] = 1.0f + float(i % 7) * 0.25f;
  tape.backward(ctx.prec);
  double max_err_y = 0, max_err_g = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x.data()[i];
    const double cdf = 0.5 * (1 + std::erf(v / std::sqrt(2.0)));
    const double want_y = v * cdf;
    const double want_g = y.grad[i] * (cdf + v * std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI));
    max_err_y = std::max(max_err_y, std::abs(y.data[i] - want_y) / (1 + std::abs(want_y)));
    max_err_g = std::max(max_err_g, std::abs(x.grad()[i] - want_g) / (1 + std::abs(want_g)));
  }
  EXPECT_LT(max_err_y, 2e-6);
  EXPECT_LT(max_err_g, 2e-6);
  std::printf("erf GELU max relative error: forward %.3g, backward %.3g\n", max_err_y, max_err_g);
}

TEST(FastDropout, MaskAndValuesMatchCounterRng) {
  // The vectorised hash must give exactly CounterRng's mask; the odd size covers the scalar tail
  // of each chunk and the parallel split.
  const int64_t n = 70001;
  const float p = 0.3f, scale = 1.0f / (1.0f - p);
  const uint64_t key = 0x1234567890abcdefull;
  Buffer x({n}, true);
  test::fill_normal(x, 31);
  core::Arena acts, grads;
  core::Tape tape;
  core::Ctx ctx(acts, grads, &tape);
  ctx.training = true;
  core::Tensor y = core::dropout(ctx, x.t(), p, key);
  for (int64_t i = 0; i < n; ++i) y.grad[i] = 1.0f;
  tape.backward(ctx.prec);
  const core::CounterRng rng{key};
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = !(rng.uniform(uint64_t(i)) < p);
    dropped += !keep;
    ASSERT_EQ(y.data[i], keep ? x.data()[i] * scale : 0.0f) << i;
    ASSERT_EQ(x.grad()[i], keep ? scale : 0.0f) << i;
  }
  EXPECT_NEAR(double(dropped) / n, p, 0.01);
}
