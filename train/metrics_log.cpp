#include "train/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/atomic_file.h"

namespace nurture::train {

void MetricsLog::open(const std::filesystem::path& path, int64_t keep_through_step) {
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      try {
        auto j = nlohmann::json::parse(line);
        if (keep_through_step >= 0 && j.value("step", int64_t(0)) > keep_through_step) continue;
      } catch (const nlohmann::json::exception&) {
        continue;  // a line cut short by a kill: drop it
      }
      kept += line + "\n";
    }
    core::write_file_atomic(path, kept);
  }
  path_ = path;
  out_.open(path, std::ios::app);
  if (!out_) throw std::runtime_error(path.string() + ": cannot open for writing (check the output directory)");
}

void MetricsLog::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
  // A full disk must stop the run, not silently drop results (a cut line is dropped on resume).
  if (!out_)
    throw std::runtime_error(path_.string() + ": write failed (" + std::strerror(errno) +
                             "); free disk space, then resume with --resume");
}

}  // namespace nurture::train
