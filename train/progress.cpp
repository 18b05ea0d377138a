#include "train/progress.h"

#include <cstdio>

namespace nurture::train {

std::string format_duration(double s) {
  char buf[32];
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", (long long)(t / 3600), (long long)(t % 3600 / 60));
  else
    std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(t / 60), (long long)(t % 60));
  return buf;
}

void Progress::update(int64_t step, int64_t total, double loss, double tps, double elapsed, int64_t every) {
  const bool last = step == total;
  if (!tty_ && !(every > 0 && step % every == 0) && !last) return;
  const double eta = step > 0 ? elapsed / step * (total - step) : 0.0;
  char buf[200];
  std::snprintf(buf, sizeof buf, "step %lld/%lld  loss %.4f  %.0f tok/s  elapsed %s  eta %s", (long long)step,
                (long long)total, loss, tps, format_duration(elapsed).c_str(), format_duration(eta).c_str());
  if (tty_) {
    out_ << "\r\033[K" << buf << std::flush;
    dirty_ = true;
  } else {
    out_ << buf << "\n" << std::flush;
  }
}

void Progress::message(const std::string& line) {
  if (dirty_) out_ << "\r\033[K";
  out_ << line << "\n" << std::flush;
  dirty_ = false;
}

void Progress::finish() {
  if (dirty_) out_ << "\n" << std::flush;
  dirty_ = false;
}

}  // namespace nurture::train
