#include "data/batch_sampler.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <string>

#include "data/error.h"

namespace nurture::data {

namespace {
// Mixed into the seed so the batch stream differs from other SeqRng streams (e.g. weight init)
// that a config seeds with the same number.
constexpr uint64_t kBatchStream = 0x64617461'62617463ull;  // "databatc"
}  // namespace

BatchSampler::BatchSampler(std::span<const int32_t> tokens, int seq_len, int batch_size, uint64_t seed)
    : tokens_(tokens), seq_len_(seq_len), batch_size_(batch_size), rng_(core::mix_key(seed, kBatchStream)) {
  if (seq_len <= 0 || batch_size <= 0)
    throw DataError("batch sampler needs seq_len > 0 and batch_size > 0 (got " + std::to_string(seq_len) + ", " +
                    std::to_string(batch_size) + ")");
  if (tokens.size() < static_cast<size_t>(seq_len) + 1)
    throw DataError("corpus smaller than one sequence: " + std::to_string(tokens.size()) +
                    " training tokens < seq_len+1 = " + std::to_string(seq_len + 1) +
                    "; use a larger corpus or lower seq_len");
}

void BatchSampler::next(int32_t* inputs, int32_t* targets) { next(inputs, targets, 0, batch_size_); }

void BatchSampler::next(int32_t* inputs, int32_t* targets, int row_begin, int row_end) {
  if (row_begin < 0 || row_end > batch_size_ || row_begin > row_end)
    throw std::out_of_range("batch rows [" + std::to_string(row_begin) + ", " + std::to_string(row_end) +
                            ") outside [0, " + std::to_string(batch_size_) + ")");
  const size_t T = static_cast<size_t>(seq_len_);
  const uint64_t starts = tokens_.size() - T;  // window [s, s+T] must fit: s in [0, n-T-1]
  for (int row = 0; row < batch_size_; ++row) {
    const size_t s = static_cast<size_t>(rng_.below(starts));  // drawn for every row: keeps ranks in lockstep
    if (row < row_begin || row >= row_end) continue;
    const size_t out = static_cast<size_t>(row - row_begin) * T;
    std::copy_n(tokens_.begin() + static_cast<std::ptrdiff_t>(s), T, inputs + out);
    std::copy_n(tokens_.begin() + static_cast<std::ptrdiff_t>(s + 1), T, targets + out);
  }
}

}  // namespace nurture::data
