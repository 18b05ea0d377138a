#include "experiments/sweep_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace nurture::experiments {

namespace {

// The step of the last complete line of metrics.jsonl (0 when there is none yet).
int64_t last_step(const std::filesystem::path& metrics) {
  std::ifstream in(metrics, std::ios::binary);
  if (!in) return 0;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(size > 4096 ? size - 4096 : 0);
  int64_t step = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.front() != '{' || line.back() != '}') continue;
    try {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("step")) step = j["step"].get<int64_t>();
    } catch (const nlohmann::json::exception&) {
    }
  }
  return step;
}

// Weight of training in a variant's total work; ptq and analyze share the rest.
constexpr double kTrainShare = 0.75;

}  // namespace

std::string short_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t < 60)
    std::snprintf(buf, sizeof buf, "%lds", t);
  else if (t < 3600)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  return buf;
}

SweepProgress::SweepProgress(std::ostream& out, bool tty, double status_interval_s, int variants, int jobs)
    : out_(out), tty_(tty), interval_(status_interval_s), variants_(variants), jobs_(jobs), remaining_(variants) {}

double SweepProgress::now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void SweepProgress::begin(const std::string& variant, double baseline) {
  std::lock_guard lock(mu_);
  Running r;
  r.baseline = r.fraction = baseline;
  r.start = r.stage_start = now();
  running_[variant] = r;
  remaining_ -= 1;
}

void SweepProgress::stage(const std::string& variant, const std::string& stage, double fraction_before,
                          const std::filesystem::path& metrics, int64_t steps) {
  std::lock_guard lock(mu_);
  Running& r = running_[variant];
  r.stage = stage;
  r.detail.clear();
  r.fraction = fraction_before;
  r.stage_start = now();
  r.metrics = metrics;
  r.steps = steps;
  if (!tty_) out_ << "sweep: " << variant << ": " << stage << " started\n" << std::flush;
}

void SweepProgress::post_step(const std::string& variant, const std::string& stage, int index, int count,
                              double fraction) {
  std::lock_guard lock(mu_);
  Running& r = running_[variant];
  r.detail = "checkpoint " + std::to_string(index + 1) + "/" + std::to_string(count);
  r.fraction = fraction;
}

void SweepProgress::refresh_train(Running& r) {
  if (r.metrics.empty() || r.steps <= 0) return;
  const int64_t step = last_step(r.metrics);
  r.detail = "step " + std::to_string(step) + "/" + std::to_string(r.steps);
  r.fraction = std::max(r.fraction, kTrainShare * double(step) / double(r.steps));
}

void SweepProgress::end(const std::string& variant, const std::string& outcome) {
  std::lock_guard lock(mu_);
  auto it = running_.find(variant);
  if (it != running_.end()) {
    gained_ += 1.0 - it->second.baseline;
    if (it->second.baseline == 0) full_runs_.push_back(now() - it->second.start);
    running_.erase(it);
  }
  ++finished_;
  erase_block();
  out_ << "sweep: [" << finished_ << "/" << variants_ << "] " << variant << ": " << outcome << "\n";
  draw_block();
  out_ << std::flush;
}

void SweepProgress::message(const std::string& line) {
  std::lock_guard lock(mu_);
  erase_block();
  out_ << line << "\n";
  draw_block();
  out_ << std::flush;
}

std::string SweepProgress::summary_line() {
  double gained = gained_, left = remaining_;
  for (auto& [name, r] : running_) {
    if (r.stage == "train") refresh_train(r);
    gained += r.fraction - r.baseline;
    left += 1.0 - r.fraction;
  }
  const double t = now();
  std::string eta = "ETA --";
  if (!full_runs_.empty()) {
    // Once a variant has run from scratch, its wall time is the best guess for the others
    // (the stages' relative costs differ a lot between grids).
    double avg = 0;
    for (double d : full_runs_) avg += d / double(full_runs_.size());
    double work = remaining_ * avg;
    for (const auto& [name, r] : running_) work += std::max(0.0, avg * (1.0 - r.baseline) - (t - r.start));
    const double lanes = std::max(1.0, std::min<double>(jobs_, remaining_ + running_.size()));
    eta = "ETA " + short_duration(work / lanes);
  } else if (gained > 0.02 && t > 5) {
    eta = "ETA " + short_duration(t * left / gained);
  }
  return "sweep: " + std::to_string(finished_) + "/" + std::to_string(variants_) + " variants finished, " +
         std::to_string(running_.size()) + " running, elapsed " + short_duration(t) + ", " + eta;
}

void SweepProgress::erase_block() {
  for (; drawn_ > 0; --drawn_) out_ << "\033[1A\033[2K";
}

void SweepProgress::draw_block() {
  if (!tty_) return;
  std::vector<std::string> lines;
  const double t = now();
  for (auto& [name, r] : running_) {
    if (r.stage == "train") refresh_train(r);
    lines.push_back("  " + name + "  " + r.stage + (r.detail.empty() ? "" : " " + r.detail) + "  (" +
                    short_duration(t - r.stage_start) + ")");
  }
  lines.push_back(summary_line());
  // A wrapped line would break the cursor-up redraw: cut lines to the terminal's width.
  struct winsize ws {};
  const size_t cols = ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col - 1 : 0;
  for (auto& l : lines) out_ << (cols && l.size() > cols ? l.substr(0, cols) : l) << "\n";
  drawn_ = static_cast<int>(lines.size());
}

void SweepProgress::tick() {
  std::lock_guard lock(mu_);
  if (tty_) {
    erase_block();
    draw_block();
    out_ << std::flush;
    return;
  }
  if (now() - last_status_ < interval_) return;
  last_status_ = now();
  std::string detail;
  for (auto& [name, r] : running_) {
    if (r.stage == "train") refresh_train(r);
    detail += "; " + name + " " + r.stage + (r.detail.empty() ? "" : " " + r.detail);
  }
  out_ << summary_line() << detail << "\n" << std::flush;
}

void SweepProgress::finish() {
  std::lock_guard lock(mu_);
  erase_block();
  out_ << std::flush;
}

}  // namespace nurture::experiments
