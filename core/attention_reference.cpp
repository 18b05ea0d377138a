// The plain attention kernel: full T×T scores per (batch, head), scalar softmax, probabilities
// kept for backward. core::causal_attention's blocked kernel is tested against it.
#include <omp.h>

#include <Eigen/Core>
#include <cassert>
#include <cmath>
#include <limits>

#include "core/attention_reference.h"
#include "core/ops.h"

namespace nurture::core {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CStrided = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
using Strided = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
using Dense = Eigen::Map<RowMat>;
}  // namespace

Tensor causal_attention_reference(Ctx& ctx, const Tensor& qkv, int n_head, bool alibi) {
  assert(!qkv.one_reader);  // its backward adds into dqkv
  const int64_t B = qkv.shape[0], T = qkv.shape[1], C3 = qkv.shape[2], C = C3 / 3;
  const int64_t H = n_head, hd = C / H;
  assert(C3 == 3 * C && C % H == 0);
  const float scale = 1.0f / std::sqrt(float(hd));
  Tensor y = ctx.make(Shape{B, T, C}, qkv.tracked());
  // Attention probabilities [B, H, T, T], kept for backward (upper triangle is exactly 0).
  float* probs = ctx.scratch(B * H * T * T);
  // Under a half policy: the QKᵀ GEMM emits half scores; P·V reads P in half (autocast casts
  // bmm inputs); with softmax_fp32 off the exponentials are stored in half as well.
  const RoundFn round_op = ctx.prec.gemm_operand;
  const bool half_softmax = round_op && !ctx.prec.softmax_fp32;
#pragma omp parallel for schedule(static)
  for (int64_t bh = 0; bh < B * H; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    const float* base = qkv.data + b * T * C3 + h * hd;
    CStrided q(base, T, hd, Eigen::OuterStride<>(C3));
    CStrided k(base + C, T, hd, Eigen::OuterStride<>(C3));
    CStrided v(base + 2 * C, T, hd, Eigen::OuterStride<>(C3));
    Dense P(probs + bh * T * T, T, T);
    P.noalias() = q * k.transpose();
    round_op(P.data(), T * T);
    const float slope = alibi ? alibi_slope(int(h), int(H)) : 0.0f;
    for (int64_t i = 0; i < T; ++i) {
      float* row = P.data() + i * T;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j <= i; ++j) {
        row[j] = row[j] * scale - slope * float(i - j);
        mx = std::max(mx, row[j]);
      }
      float s = 0;
      for (int64_t j = 0; j <= i; ++j) row[j] = std::exp(row[j] - mx);
      if (half_softmax) round_op(row, i + 1);
      for (int64_t j = 0; j <= i; ++j) s += row[j];
      const float inv = 1.0f / s;
      for (int64_t j = 0; j <= i; ++j) row[j] *= inv;
      for (int64_t j = i + 1; j < T; ++j) row[j] = 0.0f;
    }
    round_op(P.data(), T * T);
    Strided out(y.data + b * T * C + h * hd, T, hd, Eigen::OuterStride<>(C));
    out.noalias() = P * v;
  }
  ctx.prec.act(y.data, y.numel());
  if (!y.tracked()) return y;
  const int nthreads = omp_get_max_threads();
  float* work = ctx.scratch(int64_t(nthreads) * T * T);
  ctx.record(y, "causal_attention_reference", [qkv, y, probs, work, B, T, C, C3, H, hd, scale, round_op] {
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const float* base = qkv.data + b * T * C3 + h * hd;
      float* gbase = qkv.grad + b * T * C3 + h * hd;
      CStrided q(base, T, hd, Eigen::OuterStride<>(C3));
      CStrided k(base + C, T, hd, Eigen::OuterStride<>(C3));
      CStrided v(base + 2 * C, T, hd, Eigen::OuterStride<>(C3));
      Strided dq(gbase, T, hd, Eigen::OuterStride<>(C3));
      Strided dk(gbase + C, T, hd, Eigen::OuterStride<>(C3));
      Strided dv(gbase + 2 * C, T, hd, Eigen::OuterStride<>(C3));
      CStrided dy(y.grad + b * T * C + h * hd, T, hd, Eigen::OuterStride<>(C));
      Eigen::Map<const RowMat> P(probs + bh * T * T, T, T);
      Dense dP(work + int64_t(omp_get_thread_num()) * T * T, T, T);
      dv.noalias() += P.transpose() * dy;
      dP.noalias() = dy * v.transpose();
      round_op(dP.data(), T * T);  // a half GEMM output
      // Softmax backward: dS = P ⊙ (dP − rowsum(P ⊙ dP)), then the 1/sqrt(hd) scale.
      for (int64_t i = 0; i < T; ++i) {
        const float* p = P.data() + i * T;
        float* d = dP.data() + i * T;
        float dot = 0;
        for (int64_t j = 0; j <= i; ++j) dot += p[j] * d[j];
        for (int64_t j = 0; j <= i; ++j) d[j] = p[j] * (d[j] - dot) * scale;
        for (int64_t j = i + 1; j < T; ++j) d[j] = 0.0f;
      }
      round_op(dP.data(), T * T);  // dS enters two half GEMMs
      dq.noalias() += dP * k;
      dk.noalias() += dP.transpose() * q;
    }
  });
  return y;
}

}  // namespace nurture::core
