// The data module's user-facing error type.
#pragma once

#include <stdexcept>

namespace nurture::data {

// A problem the user can fix (missing corpus file, invalid UTF-8, vocab_size too large, corpus too
// small for seq_len, ...). The message is one line: what went wrong, where, and how to fix it, so
// cli/ can print it as is and exit non-zero. Internal invariants use assert instead.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace nurture::data
