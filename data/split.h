// Deterministic train/validation split of a token stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nurture::data {

// The split is by position in the token stream, not by document: the last
// round(val_fraction * n) tokens are validation, everything before is training. With a directory
// corpus (files sorted by name) validation is therefore the tail of the last file. No window
// crosses the boundary because samplers only see one side.
struct TokenSplit {
  std::span<const int32_t> train;
  std::span<const int32_t> val;
};

// val_fraction must be in [0, 1); throws DataError otherwise. 0 gives an empty validation split.
TokenSplit split_tokens(std::span<const int32_t> tokens, double val_fraction);

// Throws DataError ("corpus smaller than one sequence: ...") unless both splits hold at least one
// window of seq_len + 1 tokens (validation only when val_fraction > 0).
void check_split_fits(const TokenSplit& split, int seq_len, double val_fraction);

}  // namespace nurture::data
