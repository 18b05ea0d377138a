#include "tests/support/support.h"

#include <signal.h>
#include <sys/resource.h>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nurture::test {

TempDir::TempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("nurture-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<int32_t> random_tokens(int n, int vocab, core::SeqRng& rng) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab)));
  return t;
}

std::vector<int32_t> random_tokens(int n, int vocab, uint64_t seed) {
  core::SeqRng rng(seed);
  return random_tokens(n, vocab, rng);
}

struct FileSizeLimit::Saved {
  struct sigaction action {};
  rlimit limit{};
};

FileSizeLimit::FileSizeLimit(uint64_t bytes) : saved_(new Saved) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &saved_->action);
  getrlimit(RLIMIT_FSIZE, &saved_->limit);
  rlimit small = saved_->limit;
  small.rlim_cur = bytes;
  ok_ = setrlimit(RLIMIT_FSIZE, &small) == 0;
}

FileSizeLimit::~FileSizeLimit() {
  setrlimit(RLIMIT_FSIZE, &saved_->limit);
  sigaction(SIGXFSZ, &saved_->action, nullptr);
  delete saved_;
}

}  // namespace nurture::test
