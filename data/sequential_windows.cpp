#include "data/sequential_windows.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "data/error.h"

namespace nurture::data {

SequentialWindows::SequentialWindows(std::span<const int32_t> tokens, int seq_len)
    : tokens_(tokens), seq_len_(seq_len) {
  if (seq_len <= 0) throw DataError("seq_len must be > 0 (got " + std::to_string(seq_len) + ")");
  if (tokens.size() < static_cast<size_t>(seq_len) + 1)
    throw DataError("corpus smaller than one sequence: " + std::to_string(tokens.size()) +
                    " validation tokens < seq_len+1 = " + std::to_string(seq_len + 1) +
                    "; raise val_fraction, lower seq_len, or use a larger corpus");
  count_ = (tokens.size() - 1) / static_cast<size_t>(seq_len);
}

void SequentialWindows::get(size_t k, int32_t* inputs, int32_t* targets) const {
  if (k >= count_) throw std::out_of_range("window " + std::to_string(k) + " of " + std::to_string(count_));
  const size_t T = static_cast<size_t>(seq_len_);
  const auto begin = tokens_.begin() + static_cast<std::ptrdiff_t>(k * T);
  std::copy_n(begin, T, inputs);
  std::copy_n(begin + 1, T, targets);
}

int SequentialWindows::get_batch(size_t first, int max_rows, int32_t* inputs, int32_t* targets) const {
  int rows = 0;
  for (size_t k = first; k < count_ && rows < max_rows; ++k, ++rows) {
    const size_t off = static_cast<size_t>(rows) * static_cast<size_t>(seq_len_);
    get(k, inputs + off, targets + off);
  }
  return rows;
}

}  // namespace nurture::data
