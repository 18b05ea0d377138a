// Live progress for training: one rewritten line on a terminal, plain periodic lines otherwise
// (logs, CI, sweeps writing to files).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace nurture::train {

class Progress {
 public:
  Progress(std::ostream& out, bool is_tty) : out_(out), tty_(is_tty) {}
  // Called every step; prints when on a terminal, or every `every` steps otherwise.
  void update(int64_t step, int64_t total, double loss, double tokens_per_s, double elapsed_s, int64_t every);
  // A line that must not be overwritten (validation results, checkpoints).
  void message(const std::string& line);
  void finish();

 private:
  std::ostream& out_;
  bool tty_;
  bool dirty_ = false;
};

std::string format_duration(double seconds);

}  // namespace nurture::train
