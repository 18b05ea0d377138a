// `nurture sweep --emit-slurm FILE`: an sbatch job-array script with one task per variant,
// each task running this same sweep restricted to its variant (`--only NAME`), so resuming,
// status files and the output tree work exactly as on one machine.
#pragma once

#include <string>
#include <vector>

#include "experiments/grid.h"

namespace nurture::experiments {

struct SlurmOptions {
  std::string exe;        // absolute path of the nurture binary
  std::string grid_file;  // absolute path of the grid file
  std::string workdir;    // absolute directory the sweep runs from (relative paths resolve here)
  int threads = 1;        // --cpus-per-task
};

std::string slurm_script(const Grid& grid, const std::vector<const GridVariant*>& variants, const SlurmOptions& opt);

}  // namespace nurture::experiments
