// metrics.jsonl: one JSON object per line. Opened in append mode; on resume, lines past the
// resumed step are dropped first so a resumed run's log equals an uninterrupted one's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace nurture::train {

class MetricsLog {
 public:
  MetricsLog() = default;
  // Keeps only records with "step" ≤ keep_through_step (all if negative).
  void open(const std::filesystem::path& path, int64_t keep_through_step);
  void write(const nlohmann::json& record);
  bool is_open() const { return out_.is_open(); }

 private:
  std::ofstream out_;
  std::filesystem::path path_;
};

}  // namespace nurture::train
