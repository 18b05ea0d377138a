// `nurture report`: turns a sweep's output tree into summary.csv, paired.csv, summary.md, plots/*.png
// (with their gnuplot data and scripts) and index.html.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace nurture::report {

struct ReportOptions {
  std::filesystem::path runs_dir;
  std::filesystem::path out_dir;                // empty: runs_dir
  std::string command;                          // shown in summary.md and index.html
  std::string gnuplot = "gnuplot";              // program name or path
  bool plots = true;                            // false: no plots/ at all
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

struct ReportFiles {
  std::filesystem::path csv, markdown, html;
  std::filesystem::path paired_csv;         // the header alone when the grid has no control point
  std::vector<std::filesystem::path> pngs;  // drawn (or, if gnuplot failed, meant to be)
  std::string heldout_table;                // Markdown: held-out bits/byte % degradation per variant x recipe
  std::string degradation_table;            // Markdown: task-mean % degradation (± SE) per variant x recipe
  std::string paired_tables;  // Markdown: each point − control, paired by seed (empty without a control)
  // What `nurture report` prints: the held-out table first, then the task mean, then the paired
  // differences, each with its heading; empty when there are no PTQ results.
  std::string printed_summary;
  size_t variants = 0;
};

// Reads the tree and writes every file. The tables, scripts and index.html are written before
// gnuplot runs, so when gnuplot is missing or fails (std::runtime_error, one line) everything
// else is already on disk. Also throws when runs_dir holds no results.
ReportFiles write_report(const ReportOptions& options);

}  // namespace nurture::report
