#include "data/split.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "data/error.h"

namespace nurture::data {

namespace {
// 0.1, not std::to_string's 0.100000.
std::string fraction_text(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}
}  // namespace

TokenSplit split_tokens(std::span<const int32_t> tokens, double val_fraction) {
  if (!(val_fraction >= 0.0 && val_fraction < 1.0))
    throw DataError("val_fraction " + fraction_text(val_fraction) + " is invalid; use a value in [0, 1), e.g. 0.05");
  const auto n_val = static_cast<size_t>(std::llround(val_fraction * static_cast<double>(tokens.size())));
  const size_t n_train = tokens.size() - std::min(n_val, tokens.size());
  return {tokens.first(n_train), tokens.subspan(n_train)};
}

void check_split_fits(const TokenSplit& split, int seq_len, double val_fraction) {
  const size_t need = static_cast<size_t>(seq_len) + 1;
  const size_t total = split.train.size() + split.val.size();
  const std::string sizes =
      " (" + std::to_string(total) + " tokens in all, val_fraction " + fraction_text(val_fraction) + ")";
  if (split.train.size() < need)
    throw DataError("corpus smaller than one sequence: training split has " + std::to_string(split.train.size()) +
                    " tokens < seq_len+1 = " + std::to_string(need) + sizes +
                    "; use a larger corpus, lower seq_len, or lower val_fraction");
  if (val_fraction > 0.0 && split.val.size() < need)
    throw DataError("corpus smaller than one sequence: validation split has " + std::to_string(split.val.size()) +
                    " tokens < seq_len+1 = " + std::to_string(need) + sizes +
                    "; raise val_fraction, lower seq_len, or use a larger corpus");
}

}  // namespace nurture::data
