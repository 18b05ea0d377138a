#include "train/metrics_log.h"

#include <sstream>
#include <stdexcept>
#include <vector>

#include "train/atomic_file.h"

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
    write_file_atomic(path, kept);
  }
  out_.open(path, std::ios::app);
  if (!out_) throw std::runtime_error(path.string() + ": cannot open for writing (check the output directory)");
}

void MetricsLog::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace nurture::train
