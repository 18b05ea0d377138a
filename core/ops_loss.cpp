#include <Eigen/Core>
#include <immintrin.h>
#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/ops.h"

namespace nurture::core {

namespace {

constexpr int64_t kBlock = 1024;  // exponentials per row and stack buffer in the forward's row sums
constexpr int64_t kRows = 8;      // rows whose sums run side by side, one per double lane

// r[c] ← column c of the 8 × 8 block r (AVX2 is the project's baseline).
inline void transpose8(__m256 r[8]) {
  __m256 t[8];
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
    t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
  }
  __m256 u[8];
  for (int k = 0; k < 8; k += 4) {
    u[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
    r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
  }
}

// s[r] += e[r·kBlock + j] for j = 0, 1, …, len−1, in that order, in double: bit for bit the
// per-row loop, but the 8 rows' additions run side by side instead of one 4-cycle add after the
// other (that chain was most of the forward's time).
void add_rows(const float* e, int64_t len, double s[kRows]) {
  __m256d lo = _mm256_loadu_pd(s), hi = _mm256_loadu_pd(s + 4);
  int64_t j = 0;
  for (; j + 8 <= len; j += 8) {
    __m256 r[8];
    for (int k = 0; k < 8; ++k) r[k] = _mm256_load_ps(e + k * kBlock + j);
    transpose8(r);
    for (int c = 0; c < 8; ++c) {
      lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(r[c])));
      hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(r[c], 1)));
    }
  }
  _mm256_storeu_pd(s, lo);
  _mm256_storeu_pd(s + 4, hi);
  for (; j < len; ++j)
    for (int k = 0; k < kRows; ++k) s[k] += e[k * kBlock + j];
}

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
  for (int64_t i0 = 0; i0 < N; i0 += kRows) {
    const int64_t rows = std::min(kRows, N - i0);
    float mx[kRows];
    for (int64_t k = 0; k < rows; ++k) mx[k] = Eigen::Map<const Eigen::ArrayXf>(logits.data + (i0 + k) * V, V).maxCoeff();
    // Vectorised float exponentials (libm's scalar double exp was ~4% of a training step),
    // summed in double per row, so the sum keeps the double accumulation's accuracy.
    alignas(64) float e[kRows * kBlock];
    double s[kRows] = {};
    for (int64_t j0 = 0; j0 < V; j0 += kBlock) {
      const int64_t len = std::min(kBlock, V - j0);
      for (int64_t k = 0; k < rows; ++k) {
        Eigen::Map<Eigen::ArrayXf> eb(e + k * kBlock, len);
        eb = (Eigen::Map<const Eigen::ArrayXf>(logits.data + (i0 + k) * V + j0, len) - mx[k]).exp();
      }
      if (rows == kRows) {
        add_rows(e, len, s);
      } else {
        for (int64_t k = 0; k < rows; ++k)
          for (int64_t j = 0; j < len; ++j) s[k] += e[k * kBlock + j];
      }
    }
    for (int64_t k = 0; k < rows; ++k) {
      const int64_t i = i0 + k;
      lse[i] = mx[k] + static_cast<float>(std::log(s[k]));
      round_op(&lse[i], 1);
      row_loss[i] = targets[i] >= 0 ? lse[i] - logits.data[i * V + targets[i]] : 0.0f;
      round_op(&row_loss[i], 1);
    }
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
    // One-reader logits (the usual case: nothing else reads them) get every element written,
    // ignored rows as zeros; otherwise the gradient is added in.
    const bool assign = logits.one_reader;
    if (!count) {
      if (assign) std::fill_n(logits.grad, N * V, 0.0f);
      return;
    }
    const float dl = loss.grad[0] / static_cast<float>(count);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      float* dx = logits.grad + i * V;
      Eigen::Map<Eigen::ArrayXf> d(dx, V);
      if (targets[i] < 0) {
        if (assign) d.setZero();
        continue;
      }
      const auto p = (Eigen::Map<const Eigen::ArrayXf>(logits.data + i * V, V) - lse[i]).exp() * dl;
      if (assign) d = 0.0f + p;  // grad_store's +0 + v, as Eigen's += on a zeroed buffer
      else d += p;
      dx[targets[i]] -= dl;
    }
  });
  return loss;
}

}  // namespace nurture::core
