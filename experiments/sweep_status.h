// The sweep's bookkeeping files (experiments/README.md "Output tree"; a contract with
// `nurture report`): <variant>/status.json (which stages finished) and <out>/sweep.json (the grid
// and every variant's state). Both are rewritten atomically, so a killed sweep leaves the last good copy.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "experiments/grid.h"

namespace nurture::experiments {

// Stage states: "pending", "running", "done", "failed". A "running" stage found at start-up
// belongs to an interrupted sweep (or another process, which the variant lock detects).
struct VariantStatus {
  std::map<std::string, std::string> stages;  // "train" | "ptq" | "analyze" -> state
  std::string error;                          // why the variant failed, with its log tail
  std::map<std::string, double> seconds;      // wall time of each stage's last run
  std::map<std::string, double> cpu_seconds;  // CPU time (user + system) of the same run

  std::string stage(const std::string& name) const;
  // "done" when every one of `required` is done, "failed" / "running" when any stage is,
  // else "pending".
  std::string overall(const std::vector<std::string>& required) const;
};

// The stages this grid runs for every variant, in order.
std::vector<std::string> grid_stages(const Grid& grid);

// A missing or unreadable status.json reads as all pending.
VariantStatus read_status(const std::filesystem::path& variant_dir);
void write_status(const std::filesystem::path& variant_dir, const VariantStatus& s);

// sweep.json from the grid and each variant's status.json as it is on disk now.
void write_sweep_json(const Grid& grid);

}  // namespace nurture::experiments
