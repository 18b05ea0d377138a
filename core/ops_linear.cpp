#include <omp.h>

#include <algorithm>
#include <cassert>
#include <vector>

#include "core/colsum.h"
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/ops.h"

namespace nurture::core {

namespace {

// Rows [r0, r1) of m added into acc, row after row: the summation order colsum_accumulate pins.
void colsum_rows(const float* m, int64_t cols, int64_t r0, int64_t r1, float* acc) {
  for (int64_t i = r0; i < r1; ++i)
    for (int64_t j = 0; j < cols; ++j) acc[j] += m[i * cols + j];
}

// dy (M×N) rounded in place to the storage format (the policy's gradient rounding, which the tape
// leaves to this op), then to bf16 for the native GEMMs and, when db is given, its column sums
// added into db (bit for bit colsum_accumulate's): each block of rows is rounded, converted and
// summed while in cache, one pass over dy instead of three. Every element is rounded on its own,
// so the values and counts equal one rounding of the whole buffer.
void round_convert_dy(const RoundFn& round, float* dy, int64_t M, int64_t N, uint16_t* dy16, float* db) {
  const auto block = [&](int64_t r0, int64_t r1) {
    round(dy + r0 * N, (r1 - r0) * N);
    to_bf16_truncate(dy + r0 * N, r1 - r0, N, N, dy16 + r0 * N);
  };
  if (db) {
    colsum_chunked(M, N, db, OneChunk::into_out, [&](int64_t r0, int64_t r1, float* acc) {
      block(r0, r1);
      colsum_rows(dy, N, r0, r1, acc);
    });
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r0 = 0; r0 < M; r0 += kColsumChunk) block(r0, std::min(M, r0 + kColsumChunk));
}

}  // namespace

void colsum_accumulate(const float* m, int64_t rows, int64_t cols, float* out) {
  colsum_chunked(rows, cols, out, OneChunk::into_out,
                 [&](int64_t r0, int64_t r1, float* acc) { colsum_rows(m, cols, r0, r1, acc); });
}

Tensor linear(Ctx& ctx, const Tensor& x, const Tensor& w, const Tensor* b, bool one_reader) {
  const int64_t K = x.cols(), M = x.rows(), N = w.shape[0];
  assert(w.shape.rank() == 2 && w.shape[1] == K);
  std::vector<int64_t> dims = x.shape.vec();
  dims.back() = N;
  Tensor y = ctx.make(Shape(dims), x.tracked() || w.tracked() || (b && b->tracked()), one_reader);
  const GemmFn gemm = ctx.prec.gemm ? ctx.prec.gemm : sgemm;
  // The native bf16 GEMM adds the bias in its epilogue and, in backward, converts dy to bf16 once
  // for both GEMMs: the same values as the generic path up to summation order (the native GEMM's
  // contract anyway), one pass over y and one conversion of dy fewer.
  const bool native = gemm == gemm_bf16;
  // An input stored as bf16 words (Ctx::make_bf16) goes to the native GEMM as it is, in both
  // directions: no conversion, and its fp32 copy never existed.
  assert(!x.words || native);
  if (x.words) {
    if (b) gemm_bf16_bias_converted_a(true, M, N, K, x.words, w.data, K, b->data, y.data, N);
    else gemm_bf16_converted_a(false, true, M, N, K, 1.0f, x.words, w.data, K, 0.0f, y.data, N);
    ctx.prec.act(y.data, y.numel());
  } else if (native && b) {
    gemm_bf16_bias(true, M, N, K, x.data, K, w.data, K, b->data, y.data, N);
    ctx.prec.act(y.data, y.numel());
  } else if (b) {
    gemm(false, true, M, N, K, 1.0f, x.data, K, w.data, K, 0.0f, y.data, N);
    // The bias pass rounds each block of rows to the storage format while it is in cache (the
    // same values and counts as a second pass over y).
    const float* bias = b->data;
    const int64_t rows = std::max<int64_t>(1, 4096 / std::max<int64_t>(N, 1));
#pragma omp parallel for schedule(static)
    for (int64_t i0 = 0; i0 < M; i0 += rows) {
      const int64_t i1 = std::min(M, i0 + rows);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = 0; j < N; ++j) y.data[i * N + j] += bias[j];
      ctx.prec.act(y.data + i0 * N, (i1 - i0) * N);
    }
  } else {
    gemm(false, true, M, N, K, 1.0f, x.data, K, w.data, K, 0.0f, y.data, N);
    ctx.prec.act(y.data, y.numel());
  }
  if (!y.tracked()) return y;
  Tensor bb = b ? *b : Tensor{};
  // The closure rounds dy itself: on the native path fused into its conversion (see
  // round_convert_dy), so the tape's own pass over dy is skipped.
  const RoundFn round_grad = ctx.prec.grad;
  const auto backward = [x, w, bb, y, M, N, K, gemm, native, round_grad] {
    // A one_reader input has this linear as its only reader, so dx is its whole gradient: written
    // (beta 0), not added to a zeroed buffer.
    const float beta = x.one_reader ? 0.0f : 1.0f;
    if (native && ((x.grad && w.grad) || x.words)) {
      uint16_t* dy16 = gemm_bf16_operand_scratch(M * N);
      round_convert_dy(round_grad, y.grad, M, N, dy16, bb.grad);
      if (x.grad) gemm_bf16_converted_a(false, false, M, K, N, 1.0f, dy16, w.data, K, beta, x.grad, K);
      if (w.grad && x.words) gemm_bf16_converted_ab(true, false, N, K, M, 1.0f, dy16, x.words, 1.0f, w.grad, K);
      else if (w.grad) gemm_bf16_converted_a(true, false, N, K, M, 1.0f, dy16, x.data, K, 1.0f, w.grad, K);
      return;
    }
    round_grad(y.grad, M * N);
    if (x.grad) gemm(false, false, M, K, N, 1.0f, y.grad, N, w.data, K, beta, x.grad, K);
    if (w.grad) gemm(true, false, N, K, M, 1.0f, y.grad, N, x.data, K, 1.0f, w.grad, K);
    if (bb.grad) colsum_accumulate(y.grad, M, N, bb.grad);
  };
  ctx.record(y, "linear", backward, /*rounds_own_grad=*/true);
  return y;
}

}  // namespace nurture::core
