// The report's tables: summary.csv (long format, one row per variant x recipe x task x
// evaluated step) and the sections of summary.md / index.html in the paper's layouts
// (Table 4: scores before/after PTQ; Table 5: outlier statistics; Figure 2 as a table).
#pragma once

#include <string>
#include <vector>

#include "report/report_data.h"
#include "report/report_table.h"

namespace nurture::report {

// summary.csv's columns, in order: the fixed ones with one column per grid axis inserted
// after "status" (docs/OUTPUT-FORMATS.md documents them).
std::vector<std::string> csv_columns(const RunTree& tree);
std::string summary_csv(const RunTree& tree);

// Every table section of the report, in reading order.
std::vector<Section> summary_sections(const RunTree& tree);

// summary.md: a title, the command that made it, then summary_sections().
std::string summary_markdown(const RunTree& tree, const std::string& command);

}  // namespace nurture::report
