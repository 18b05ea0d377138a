// `nurture sweep`: runs every variant of a grid through train -> ptq -> analyze, each stage a
// child process of the same binary, resumably (experiments/README.md).
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "experiments/grid.h"

namespace nurture::experiments {

struct SweepOptions {
  int jobs = 1;             // variants in parallel
  int threads_per_job = 0;  // 0: cores / jobs
  std::string only;         // glob on variant names; empty: all
  std::string exe;          // the nurture binary; empty: this process's executable
  // Tests swap the post-training stages for a stand-in: (stage, checkpoint, output dir,
  // threads) -> argv. Empty: the real `nurture ptq` / `nurture analyze` command lines.
  std::function<std::vector<std::string>(const std::string&, const std::string&, const std::string&, int)> post_command;
  bool tty = false;               // redraw a live block instead of printing plain lines
  double status_interval_s = 60;  // plain mode: a whole-sweep status line this often
};

// The variants `only` selects, in grid order; throws ConfigError when it matches none.
std::vector<const GridVariant*> select_variants(const Grid& grid, const std::string& only);

// Threads per job after checking jobs x threads <= cores; throws ConfigError otherwise.
int resolve_threads(int jobs, int threads_per_job, int cores);

// The argv of each stage (what --dry-run prints and the runner executes).
std::vector<std::string> train_command(const Grid& grid, const GridVariant& v, const std::string& exe, int threads);
std::vector<std::string> post_stage_command(const Grid& grid, const std::string& stage, const std::string& exe,
                                            const std::string& checkpoint, const std::string& out_dir, int threads);
// <variant>/checkpoints/step_NNNNNNN.h5, and where ptq / analyze write for it.
std::string checkpoint_path(const Grid& grid, const GridVariant& v, int64_t step);
std::string stage_output_dir(const Grid& grid, const GridVariant& v, const std::string& stage, int64_t step);
std::string stage_output_file(const std::string& stage);  // "ptq.json" | "analysis.json"

// The expanded variants and the stages each would run, with their status on disk.
void print_plan(const Grid& grid, const SweepOptions& opt, std::ostream& out);

// Runs the selected variants; returns the exit status (0 when none failed). Progress and the
// final summary go to `out`.
int run_sweep(const Grid& grid, const SweepOptions& opt, std::ostream& out);

}  // namespace nurture::experiments
