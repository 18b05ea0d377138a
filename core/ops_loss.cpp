#include <Eigen/Core>
#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/ops.h"

namespace nurture::core {

namespace {
constexpr int64_t kBlock = 1024;  // exponentials per stack buffer in the forward's row sum
}  // namespace

Tensor cross_entropy(Ctx& ctx, const Tensor& logits, const int32_t* targets) {
  const int64_t N = logits.rows(), V = logits.cols();
  Tensor loss = ctx.make(Shape{1}, logits.tracked());
  float* lse = ctx.scratch(N);
  float* row_loss = ctx.scratch(N);
  // loss_fp32 off: the log-sum-exp and per-token losses are stored in half (no counter: this
  // runs inside a parallel loop).
  const RoundFn round_op = ctx.prec.loss_fp32 ? RoundFn{} : ctx.prec.gemm_operand;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const float* x = logits.data + i * V;
    Eigen::Map<const Eigen::ArrayXf> row(x, V);
    const float mx = row.maxCoeff();
    // Vectorised float exponentials (libm's scalar double exp was ~4% of a training step),
    // summed in double per block of kBlock, so the sum keeps the double accumulation's accuracy.
    alignas(64) float e[kBlock];
    double s = 0;
    for (int64_t j0 = 0; j0 < V; j0 += kBlock) {
      const int64_t len = std::min(kBlock, V - j0);
      Eigen::Map<Eigen::ArrayXf> eb(e, len);
      eb = (row.segment(j0, len) - mx).exp();
      for (int64_t j = 0; j < len; ++j) s += e[j];
    }
    lse[i] = mx + static_cast<float>(std::log(s));
    round_op(&lse[i], 1);
    row_loss[i] = targets[i] >= 0 ? lse[i] - x[targets[i]] : 0.0f;
    round_op(&row_loss[i], 1);
  }
  double total = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i)  // serial, fixed order: deterministic
    if (targets[i] >= 0) {
      total += row_loss[i];
      ++count;
    }
  loss.data[0] = count ? static_cast<float>(total / count) : 0.0f;
  if (!loss.tracked()) return loss;
  ctx.record(loss, "cross_entropy", [logits, targets, loss, lse, N, V, count] {
    if (!count) return;
    const float dl = loss.grad[0] / static_cast<float>(count);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      if (targets[i] < 0) continue;
      const float* x = logits.data + i * V;
      float* dx = logits.grad + i * V;
      Eigen::Map<Eigen::ArrayXf>(dx, V) += (Eigen::Map<const Eigen::ArrayXf>(x, V) - lse[i]).exp() * dl;
      dx[targets[i]] -= dl;
    }
  });
  return loss;
}

}  // namespace nurture::core
