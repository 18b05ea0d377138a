// The report's figures as gnuplot data files and scripts in <out>/plots/, rendered to PNG by
// running gnuplot as a child process. The .dat/.gp pairs stay on disk so a user can restyle a
// figure and re-run `gnuplot NAME.gp` in that directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "report/report_data.h"

namespace nurture::report {

struct Plot {
  std::string name;     // plots/<name>.gp, .dat, .png
  std::string title;    // a heading for index.html
  std::string caption;  // what it shows and how to read it
};

// Writes the data and script of every figure the tree has data for (a figure with nothing to
// show is left out) and returns them in reading order.
std::vector<Plot> write_plot_scripts(const RunTree& tree, const std::filesystem::path& plots_dir);

// The path of `program` (a name searched on PATH, or a path), or empty when it is not there.
std::filesystem::path find_program(const std::string& program);

// Runs `gnuplot NAME.gp` in plots_dir for each plot. Throws std::runtime_error (one line) when
// gnuplot is missing (with the apt package to install) or a script fails (with its first
// error line).
void render_plots(const std::vector<Plot>& plots, const std::filesystem::path& plots_dir,
                  const std::string& gnuplot = "gnuplot");

}  // namespace nurture::report
