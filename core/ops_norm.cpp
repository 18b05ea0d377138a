#include <Eigen/Core>
#include <omp.h>

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/colsum.h"
#include "core/gemm_bf16.h"
#include "core/ops.h"

namespace nurture::core {

namespace {
using CRow = Eigen::Map<const Eigen::ArrayXf>;

// LayerNorm "in half arithmetic" (layernorm_fp32: false): every intermediate the fp16 kernel
// would store is rounded — the centred values, their squares (which overflow to inf once
// |x − mean| > 256 in fp16, the failure the paper's fp16 runs hit), the variance, rstd and
// the normalised values. Reductions still accumulate in fp32, as fused kernels do. Serial
// over rows: it is a teaching path, and the rounding counter is not thread-safe.
void layer_norm_half_forward(Ctx& ctx, const float* x, const float* g, const float* bt, float* y, float* mean,
                             float* rstd, int64_t N, int64_t C, float eps) {
  const RoundFn& rnd = ctx.prec.act;
  float* d = ctx.scratch(2 * C);
  float* sq = d + C;
  for (int64_t i = 0; i < N; ++i) {
    const float* xi = x + i * C;
    float m = 0;
    for (int64_t j = 0; j < C; ++j) m += xi[j];
    m /= C;
    rnd(&m, 1);
    for (int64_t j = 0; j < C; ++j) d[j] = xi[j] - m;
    rnd(d, C);
    for (int64_t j = 0; j < C; ++j) sq[j] = d[j] * d[j];
    rnd(sq, C);
    float v = 0;
    for (int64_t j = 0; j < C; ++j) v += sq[j];
    v = v / C + eps;
    rnd(&v, 1);
    float r = 1.0f / std::sqrt(v);
    rnd(&r, 1);
    mean[i] = m;
    rstd[i] = r;
    float* yi = y + i * C;
    for (int64_t j = 0; j < C; ++j) yi[j] = d[j] * r;
    rnd(yi, C);
    for (int64_t j = 0; j < C; ++j) yi[j] = yi[j] * g[j] + (bt ? bt[j] : 0.0f);
  }
}

// One row of the fp32 LayerNorm (llm.c layernorm_forward): biased variance, eps inside the sqrt; saves
// mean and rstd per row for the backward. The row sums are Eigen's vectorised reductions, in an
// order fixed by C and the row's address alignment (the same in every run, whatever the thread
// count), instead of one serial chain of C dependent adds, which made LayerNorm 9% of an int8
// prefill.
inline void layer_norm_row(const float* x, const float* g, const float* bt, float* yi, float* mean, float* rstd,
                           int64_t i, int64_t C, float eps) {
  const CRow xi(x + i * C, C);
  const float m = xi.sum() / float(C);
  const float v = (xi - m).square().sum() / float(C);
  const float r = 1.0f / std::sqrt(v + eps);
  mean[i] = m;
  rstd[i] = r;
  if (bt)
    for (int64_t j = 0; j < C; ++j) yi[j] = (xi[j] - m) * r * g[j] + bt[j];
  else
    for (int64_t j = 0; j < C; ++j) yi[j] = (xi[j] - m) * r * g[j];
}

// Rows go in blocks of kRowBlock, each rounded to the storage format (rnd, ctx.prec.act) while
// still in cache instead of in a second pass over y: the same values and counts. With `words` the
// output is stored as bf16 words only: each block is normalised into this thread's slice of
// `scratch` (kRowBlock rows), rounded there, and its words written out.
constexpr int64_t kRowBlock = 16;
void layer_norm_forward(const float* x, const float* g, const float* bt, float* y, uint16_t* words, float* scratch,
                        float* mean, float* rstd, int64_t N, int64_t C, float eps, const RoundFn& rnd) {
#pragma omp parallel for schedule(static)
  for (int64_t i0 = 0; i0 < N; i0 += kRowBlock) {
    const int64_t i1 = std::min(N, i0 + kRowBlock);
    float* out = words ? scratch + omp_get_thread_num() * kRowBlock * C : y + i0 * C;
    for (int64_t i = i0; i < i1; ++i) layer_norm_row(x, g, bt, out + (i - i0) * C, mean, rstd, i, C, eps);
    rnd(out, (i1 - i0) * C);
    if (words) to_bf16_truncate(out, i1 - i0, C, C, words + i0 * C);
  }
}

// dgamma[j] += Σ_i x̂[i, j]·dy[i, j], with x̂ recomputed per chunk instead of materialising an
// [N, C] product (4 MB per LayerNorm on the benchmark model). A single chunk also goes through the
// partial sums (OneChunk::via_partial), unlike the bias sums: the order LayerNorm's gradients were
// pinned with.
void dgamma_accumulate(const float* x, const float* dy, const float* mean, const float* rstd, int64_t N, int64_t C,
                       float* out) {
  colsum_chunked(N, C, out, OneChunk::via_partial, [&](int64_t r0, int64_t r1, float* acc) {
    for (int64_t i = r0; i < r1; ++i) {
      const float m = mean[i], r = rstd[i];
      for (int64_t j = 0; j < C; ++j) {
        const float prod = (x[i * C + j] - m) * r * dy[i * C + j];
        acc[j] += prod;
      }
    }
  });
}
}  // namespace

Tensor layer_norm(Ctx& ctx, const Tensor& x, const Tensor& gamma, const Tensor* beta, float eps, bool into_linear) {
  const int64_t N = x.rows(), C = x.cols();
  assert(gamma.numel() == C);
  const bool tracked = x.tracked() || gamma.tracked() || (beta && beta->tracked());
  const bool words = into_linear && ctx.bf16_words() && ctx.prec.layernorm_fp32;
  Tensor y = words ? ctx.make_bf16(x.shape, tracked) : ctx.make(x.shape, tracked, into_linear);
  float* mean = ctx.scratch(N);
  float* rstd = ctx.scratch(N);
  const float* g = gamma.data;
  const float* bt = beta ? beta->data : nullptr;
  if (!ctx.prec.layernorm_fp32 && ctx.prec.act) {
    layer_norm_half_forward(ctx, x.data, g, bt, y.data, mean, rstd, N, C, eps);
    ctx.prec.act(y.data, y.numel());
  } else {
    float* scratch = words ? ctx.scratch(omp_get_max_threads() * kRowBlock * C) : nullptr;
    layer_norm_forward(x.data, g, bt, y.data, y.words, scratch, mean, rstd, N, C, eps, ctx.prec.act);
  }
  if (!y.tracked()) return y;
  Tensor bb = beta ? *beta : Tensor{};
  // One backward for both forwards, on purpose. After the half forward it is the fp32 formula at
  // the statistics that forward saved (mean and rstd rounded to half), with x̂ recomputed in fp32
  // and the forward's other roundings passed straight through (their own derivative is 0 almost
  // everywhere). That is the policy's split for every op with an *_fp32 flag (the softmax and
  // cross-entropy backwards do the same): the flag says where the forward stores intermediates in
  // half, which is where fp16 overflows; the backward computes in fp32 from half inputs, as a
  // half LayerNorm kernel's backward accumulates in fp32, and is rounded only at the op's
  // boundaries (dy before this closure, dx before its producer's, dγ and dβ with the weight
  // gradients). A row whose squares overflowed has rstd 0, so its dx and dγ terms are exactly 0:
  // the derivative of the collapsed output y = β, not a NaN. tests/precision/policy_test.cpp.
  ctx.record(y, "layer_norm", [x, gamma, bb, y, mean, rstd, N, C] {
    const float* g = gamma.data;
    if (x.grad) {
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < N; ++i) {
        const float* xi = x.data + i * C;
        const float* dy = y.grad + i * C;
        // Row sums vectorised as in the forward.
        const CRow xr(xi, C), gr(g, C), dyr(dy, C);
        const float dnorm_mean = (gr * dyr).sum() / float(C);
        const float dnorm_norm_mean = (gr * dyr * ((xr - mean[i]) * rstd[i])).sum() / float(C);
        with_grad_store(x, [&](auto assign) {
          for (int64_t j = 0; j < C; ++j) {
            const float nrm = (xi[j] - mean[i]) * rstd[i];
            grad_store<assign>(x.grad + i * C, j, (g[j] * dy[j] - dnorm_mean - nrm * dnorm_norm_mean) * rstd[i]);
          }
        });
      }
    }
    if (gamma.grad) dgamma_accumulate(x.data, y.grad, mean, rstd, N, C, gamma.grad);
    if (bb.grad) colsum_accumulate(y.grad, N, C, bb.grad);
  });
  return y;
}

}  // namespace nurture::core
