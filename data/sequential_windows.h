// Fixed, ordered windows over a token span (validation / evaluation loss).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nurture::data {

// Window k covers tokens [k*T, k*T + T]: inputs are tokens k*T .. k*T+T-1, targets are shifted by
// one. Consecutive windows share only their boundary token, so every token after the first is a
// target exactly once and "the first K windows" is the same set on every run and every rank.
// Tokens after the last full window are not used.
//
// Keeps a view of `tokens`; the caller keeps the storage alive.
class SequentialWindows {
 public:
  // Throws DataError ("corpus smaller than one sequence ...") if there is not one full window.
  SequentialWindows(std::span<const int32_t> tokens, int seq_len);

  size_t size() const { return count_; }
  int seq_len() const { return seq_len_; }

  // Window k into [seq_len] buffers.
  void get(size_t k, int32_t* inputs, int32_t* targets) const;
  // Windows first, first+1, ... (at most max_rows, stopping at the end) into row-major
  // [rows, seq_len] buffers; returns the number of rows written.
  int get_batch(size_t first, int max_rows, int32_t* inputs, int32_t* targets) const;

 private:
  std::span<const int32_t> tokens_;
  int seq_len_;
  size_t count_;
};

}  // namespace nurture::data
