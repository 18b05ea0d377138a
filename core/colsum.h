// The chunked column-sum reduction behind every parameter gradient that sums over rows (a linear's
// bias, LayerNorm's gamma and beta). Rows are cut into fixed chunks of kColsumChunk; each chunk is
// summed on its own (in parallel), then the chunk sums are added to out in chunk order. The
// summation order is therefore fixed by the row count alone, so the result does not depend on
// the thread count (ops.h's determinism convention).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace nurture::core {

constexpr int64_t kColsumChunk = 64;

// What happens when all rows fit in one chunk. The two orders round differently, and each op's
// results are pinned bit for bit, so both are kept:
//   into_out:    out[j] += row 0, then += row 1, ... (no scratch; linear's bias gradient)
//   via_partial: out[j] += (row 0 + row 1 + ...), like every chunk of a longer input
//                (LayerNorm's gamma gradient)
enum class OneChunk { into_out, via_partial };

// out[j] += Σ_i term(i, j). add_rows(r0, r1, acc) adds rows [r0, r1) into acc[0, cols), row
// after row; it computes the terms itself, so an op can reduce values it never materialises
// (LayerNorm's x̂·dy) or do other work on rows while they are in cache.
template <class AddRows>
void colsum_chunked(int64_t rows, int64_t cols, float* out, OneChunk one_chunk, AddRows add_rows) {
  const int64_t nchunks = (rows + kColsumChunk - 1) / kColsumChunk;
  if (nchunks <= 1 && one_chunk == OneChunk::into_out) {
    add_rows(0, rows, out);
    return;
  }
  thread_local std::vector<float> partial;  // grows once, reused every step
  partial.assign(static_cast<size_t>(nchunks * cols), 0.0f);
  float* p = partial.data();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < nchunks; ++c)
    add_rows(c * kColsumChunk, std::min(rows, (c + 1) * kColsumChunk), p + c * cols);
  for (int64_t c = 0; c < nchunks; ++c)
    for (int64_t j = 0; j < cols; ++j) out[j] += p[c * cols + j];
}

}  // namespace nurture::core
