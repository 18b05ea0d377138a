#include <omp.h>

#include <cassert>
#include <vector>

#include "core/gemm.h"
#include "core/ops.h"

namespace nurture::core {

void colsum_accumulate(const float* m, int64_t rows, int64_t cols, float* out) {
  constexpr int64_t kChunk = 64;  // fixed: the summation order must not depend on thread count
  const int64_t nchunks = (rows + kChunk - 1) / kChunk;
  if (nchunks <= 1) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) out[j] += m[i * cols + j];
    return;
  }
  thread_local std::vector<float> partial;  // grows once, reused every step
  partial.assign(static_cast<size_t>(nchunks * cols), 0.0f);
  float* p = partial.data();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < nchunks; ++c) {
    float* acc = p + c * cols;
    const int64_t end = std::min(rows, (c + 1) * kChunk);
    for (int64_t i = c * kChunk; i < end; ++i)
      for (int64_t j = 0; j < cols; ++j) acc[j] += m[i * cols + j];
  }
  for (int64_t c = 0; c < nchunks; ++c)
    for (int64_t j = 0; j < cols; ++j) out[j] += p[c * cols + j];
}

Tensor linear(Ctx& ctx, const Tensor& x, const Tensor& w, const Tensor* b) {
  const int64_t K = x.cols(), M = x.rows(), N = w.shape[0];
  assert(w.shape.rank() == 2 && w.shape[1] == K);
  std::vector<int64_t> dims = x.shape.vec();
  dims.back() = N;
  Tensor y = ctx.make(Shape(dims), x.tracked() || w.tracked() || (b && b->tracked()));
  const GemmFn gemm = ctx.prec.gemm ? ctx.prec.gemm : sgemm;
  gemm(false, true, M, N, K, 1.0f, x.data, K, w.data, K, 0.0f, y.data, N);
  if (b) {
    const float* bias = b->data;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) y.data[i * N + j] += bias[j];
  }
  ctx.prec.act(y.data, y.numel());
  if (!y.tracked()) return y;
  Tensor bb = b ? *b : Tensor{};
  ctx.record(y, [x, w, bb, y, M, N, K, gemm] {
    if (x.grad) gemm(false, false, M, K, N, 1.0f, y.grad, N, w.data, K, 1.0f, x.grad, K);
    if (w.grad) gemm(true, false, N, K, M, 1.0f, y.grad, N, x.data, K, 1.0f, w.grad, K);
    if (bb.grad) colsum_accumulate(y.grad, M, N, bb.grad);
  });
  return y;
}

}  // namespace nurture::core
