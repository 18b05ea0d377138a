// Helpers for the reliability tests: the tiny training command line and running `nurture` as a
// child process that can be killed. Temp directories and text files: tests/support/support.h.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/support.h"

namespace nurture::test {

namespace fs = std::filesystem;

// `nurture train` arguments for configs/tiny.yaml shrunk to a run of a second or two, writing
// into `out` with the tokenizer cache in `cache`.
inline std::vector<std::string> tiny_train_args(const fs::path& out, const fs::path& cache,
                                                std::vector<std::string> extra = {}) {
  const std::string src = NURTURE_SOURCE_DIR;
  std::vector<std::string> a = {"train", src + "/configs/tiny.yaml", "data.corpus=" + src + "/datasets/tinyshakespeare",
                                "data.cache_dir=" + cache.string(), "output.dir=" + out.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// A `nurture` child process; stdout and stderr are appended to `log`.
class Child {
 public:
  Child(const std::vector<std::string>& args, const fs::path& log, const std::vector<std::string>& env = {}) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int null = ::open("/dev/null", O_RDONLY);
      if (fd < 0 || null < 0) ::_exit(126);
      ::dup2(null, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
      std::vector<char*> argv = {const_cast<char*>(NURTURE_BIN)};
      for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
      argv.push_back(nullptr);
      ::execv(NURTURE_BIN, argv.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (running()) kill();
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool running() {
    if (done_) return false;
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) finish(st);
    return !done_;
  }
  // Waits up to `d` for the process to exit; true if it did.
  bool wait_for(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (running()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }
  int wait() {
    while (running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return status_;
  }
  void kill() {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0) {
    }
    finish(st);
  }
  int status() const { return status_; }  // exit status, or 128 + signal
  pid_t pid() const { return pid_; }

 private:
  void finish(int st) {
    done_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = -1;
};

inline int run_to_end(const std::vector<std::string>& args, const fs::path& log,
                      const std::vector<std::string>& env = {}) {
  Child c(args, log, env);
  return c.wait();
}

}  // namespace nurture::test
