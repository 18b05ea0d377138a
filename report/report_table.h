// A table as plain strings, rendered once to Markdown (summary.md) and once to HTML
// (index.html), so the two files can never show different numbers.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace nurture::report {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> numeric;  // per column: right-aligned; missing entries mean text

  bool empty() const { return rows.empty(); }
};

// One titled part of the report: a paragraph and/or a table. Level 2 is a top section,
// level 3 a subsection (Table 5 has one per outlier rule).
struct Section {
  int level = 2;
  std::string title, text;
  Table table;
};

// Placeholder shown for a value that does not exist (failed variant, no analysis yet).
inline constexpr const char* kMissing = "—";

std::string to_markdown(const Table& t);
std::string to_markdown(const std::vector<Section>& sections);
std::string html_escape(const std::string& s);
std::string to_html(const Table& t);

// Number formatting shared by every table: `decimals` fixed digits, or %.4g when negative.
std::string fmt(double v, int decimals = -1);
// fmt() of a value a variant may not have (no analysis yet, an older metrics file): kMissing then.
std::string opt(const std::optional<double>& v, int decimals = -1);
// Shortest text that reads back as the same double (CSV keeps full precision).
std::string exact(double v);
std::string csv_field(const std::string& s);

}  // namespace nurture::report
