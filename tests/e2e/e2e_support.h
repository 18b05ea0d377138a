// Shared helpers for the end-to-end tests: the tiny config and comparing weights. Temp run
// directories are test::TempDir (tests/support/support.h).
#pragma once

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"
#include "tests/support/support.h"
#include "train/trainer.h"

namespace nurture::test {

namespace fs = std::filesystem;

// configs/tiny.yaml on the shipped Tiny Shakespeare, writing under `out`; the tokenizer cache
// goes to a per-test directory beside it so parallel tests never share it.
inline config::Config tiny_config(const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> ov = {
      "output.dir=" + out.string(), "data.cache_dir=" + (out.parent_path() / "cache").string(), "train.steps=20",
      "train.eval_every=0", "data.corpus=" + std::string(NURTURE_SOURCE_DIR) + "/datasets/tinyshakespeare"};
  ov.insert(ov.end(), extra.begin(), extra.end());
  return config::load_config(std::string(NURTURE_SOURCE_DIR) + "/configs/tiny.yaml", ov);
}

inline std::vector<float> master_weights(train::Trainer& t) {
  auto& P = t.model().params();
  return {P.master(), P.master() + P.numel()};
}

inline bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace nurture::test
