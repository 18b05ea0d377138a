// What a running sweep shows: one line per running variant (stage, training step, elapsed) and
// a whole-sweep line with an ETA. On a terminal the block is redrawn in place; otherwise stage
// changes are plain lines plus a periodic status line, which reads well in a log or CI.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

namespace nurture::experiments {

class SweepProgress {
 public:
  SweepProgress(std::ostream& out, bool tty, double status_interval_s, int variants, int jobs);

  // A variant starts being worked on. `baseline` is the fraction of its work already done
  // (finished stages from an earlier sweep), so the ETA only extrapolates from this session.
  void begin(const std::string& variant, double baseline);
  // Enters a stage. Training reports its step from `metrics` (metrics.jsonl) out of `steps`;
  // other stages report `index` of `count` checkpoints.
  void stage(const std::string& variant, const std::string& stage, double fraction_before,
             const std::filesystem::path& metrics = {}, int64_t steps = 0);
  void post_step(const std::string& variant, const std::string& stage, int index, int count, double fraction);
  void end(const std::string& variant, const std::string& outcome);
  // A line that stays (a variant finished or failed).
  void message(const std::string& line);
  // Called about once a second: redraws (terminal) or prints the periodic status line.
  void tick();
  void finish();

 private:
  struct Running {
    std::string stage, detail;
    double baseline = 0, fraction = 0, stage_start = 0, start = 0;
    std::filesystem::path metrics;
    int64_t steps = 0;
  };
  double now() const;
  void refresh_train(Running& r);
  std::string summary_line();
  void erase_block();
  void draw_block();

  std::ostream& out_;
  bool tty_;
  double interval_;
  int variants_, jobs_, finished_ = 0;
  std::vector<double> full_runs_;  // wall time of variants run from scratch this session
  double gained_ = 0;              // progress made this session by variants that ended
  double remaining_ = 0;           // work left in variants not yet begun (1 each)
  int drawn_ = 0;
  double last_status_ = 0;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  std::map<std::string, Running> running_;
  std::mutex mu_;
};

// "42s", "3m05s", "1h02m".
std::string short_duration(double seconds);

}  // namespace nurture::experiments
