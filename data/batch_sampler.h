// Random training batches with an exactly resumable position.
#pragma once

#include <cstdint>
#include <span>

#include "core/rng.h"

namespace nurture::data {

// Draws B windows of T+1 consecutive tokens at uniformly random offsets (with replacement, as
// nanoGPT does): inputs are the first T tokens, targets the last T. The whole position in the data
// is one SeqRng state, so state()/set_state() round-trip through a checkpoint as a single uint64 and
// the batch after a resume is identical to the one an uninterrupted run would have drawn.
//
// Data parallel: every rank constructs the sampler with the same seed and calls
// next(in, tg, row_begin, row_end) with its own rows of the global batch; all ranks advance the
// RNG by the full batch, so they stay in lockstep and their rows are disjoint.
//
// The sampler keeps a view of `tokens`; the caller keeps the storage alive.
class BatchSampler {
 public:
  // Throws DataError if `tokens` holds fewer than seq_len + 1 tokens or B/T are not positive.
  BatchSampler(std::span<const int32_t> tokens, int seq_len, int batch_size, uint64_t seed);

  // inputs and targets are row-major [batch_size, seq_len].
  void next(int32_t* inputs, int32_t* targets);
  // Rows [row_begin, row_end) of the global batch into [row_end - row_begin, seq_len] buffers.
  void next(int32_t* inputs, int32_t* targets, int row_begin, int row_end);

  uint64_t state() const { return rng_.state(); }
  void set_state(uint64_t state) { rng_.set_state(state); }

  int seq_len() const { return seq_len_; }
  int batch_size() const { return batch_size_; }

 private:
  std::span<const int32_t> tokens_;
  int seq_len_;
  int batch_size_;
  core::SeqRng rng_;
};

}  // namespace nurture::data
