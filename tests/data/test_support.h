// The data tests' fixture text; scratch directories and text files come from tests/support.
#pragma once

#include <filesystem>
#include <string>

#include "data/file_io.h"
#include "tests/support/support.h"

namespace nurture::data::testing {

using test::TempDir;
using test::write_text;

// The first ~`bytes` of the shipped Tiny Shakespeare (ASCII), cut at a line end: a realistic
// corpus that trains a 256-512 piece tokenizer in well under a second.
inline std::string shakespeare_prefix(size_t bytes = 100'000) {
  std::string all = read_file(std::filesystem::path(NURTURE_SOURCE_DIR) / "datasets/tinyshakespeare/input.txt");
  const size_t cut = all.find('\n', bytes);
  all.resize(cut == std::string::npos ? all.size() : cut + 1);
  return all;
}

}  // namespace nurture::data::testing
