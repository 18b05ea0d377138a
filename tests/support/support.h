// Helpers that several test executables need: scratch directories that clean up after a failed
// test too, whole-file text I/O, the message of an expected exception, random token ids.
#pragma once

#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "core/rng.h"

namespace nurture::test {

namespace fs = std::filesystem;

// A fresh directory "nurture-<name>-<pid>-<n>" under the system temp dir, removed with everything
// in it when it goes out of scope: a test that fails an ASSERT (or throws) leaves nothing behind,
// and tests running in parallel processes or one after another never share one.
class TempDir {
 public:
  explicit TempDir(const std::string& name = "test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  operator const fs::path&() const { return path_; }
  fs::path operator/(const fs::path& name) const { return path_ / name; }
  std::string string() const { return path_.string(); }

 private:
  fs::path path_;
};

// The whole file; throws std::runtime_error naming the file when it cannot be opened.
std::string read_text(const fs::path& p);
// Creates or truncates `p` (its directory must exist).
void write_text(const fs::path& p, const std::string& text);

// The what() of the E that `f` throws, or "" when it throws nothing.
template <class E = std::exception, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

// While alive, writes past `bytes` in any file of this process fail with EFBIG (RLIMIT_FSIZE, with
// SIGXFSZ ignored so the process is not killed): how the tests make a write fail halfway, as a
// full disk fails with ENOSPC. Restores the limit and the signal's action when it goes out of scope.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes);
  ~FileSizeLimit();
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  bool ok() const { return ok_; }  // whether the limit could be set

 private:
  struct Saved;
  Saved* saved_;
  bool ok_ = false;
};

// `n` token ids in [0, vocab), drawn from `rng` (or from a fresh generator seeded with `seed`).
std::vector<int32_t> random_tokens(int n, int vocab, core::SeqRng& rng);
std::vector<int32_t> random_tokens(int n, int vocab, uint64_t seed);

}  // namespace nurture::test
