// Helpers shared by the data tests: scratch directories and the small text fixture.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/file_io.h"

namespace nurture::data::testing {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("nurture-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The first ~`bytes` of the shipped Tiny Shakespeare (ASCII), cut at a line end: a realistic
// corpus that trains a 256-512 piece tokenizer in well under a second.
inline std::string shakespeare_prefix(size_t bytes = 100'000) {
  std::string all = read_file(std::filesystem::path(NURTURE_SOURCE_DIR) / "datasets/tinyshakespeare/input.txt");
  const size_t cut = all.find('\n', bytes);
  all.resize(cut == std::string::npos ? all.size() : cut + 1);
  return all;
}

}  // namespace nurture::data::testing
