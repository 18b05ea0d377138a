// The report's tables: summary.csv (long format, one row per variant x recipe x task x
// evaluated step) and the sections of summary.md / index.html in the paper's layouts
// (Table 4: scores before/after PTQ; Table 5: outlier statistics; Figure 2 as a table).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/report_data.h"
#include "report/report_paired.h"
#include "report/report_table.h"

namespace nurture::report {

// summary.csv's columns, in order: the fixed ones with one column per grid axis inserted
// after "status" (docs/OUTPUT-FORMATS.md documents them).
std::vector<std::string> csv_columns(const RunTree& tree);
std::string summary_csv(const RunTree& tree);

// The paired comparisons, as families of rows: every point against the control ("vs_control")
// and the two-axis points one axis at a time ("one_axis"), each per measure ("heldout",
// "task_mean"). Holm's adjustment runs within a family, which is one table of summary.md.
struct PairedRow {
  std::vector<std::string> cells;  // the table's leading cells
  std::string point, reference, at, recipe;
  ControlDifference d;
  std::optional<double> p, holm_p;  // missing for a failed or one-seed comparison
  // verdict_text(d) at the Holm-adjusted level where there is a test, else verdict_text(d).
  std::string verdict_after_holm() const;
};
struct PairedFamily {
  std::string kind, measure, what;  // what: "held-out bits/byte", "task mean"
  std::vector<std::string> lead;    // headers of the leading cells
  int digits = 2;
  std::vector<PairedRow> rows;
};
std::vector<PairedFamily> paired_families(const RunTree& tree);
// paired.csv: one row per comparison of paired_families(), full precision (OUTPUT-FORMATS.md).
std::string paired_csv(const RunTree& tree);

// Every table section of the report, in reading order.
std::vector<Section> summary_sections(const RunTree& tree);

// summary.md: a title, the command that made it, then summary_sections().
std::string summary_markdown(const RunTree& tree, const std::string& command);

}  // namespace nurture::report
