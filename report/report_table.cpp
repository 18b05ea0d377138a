#include "report/report_table.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace nurture::report {

namespace {

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

bool is_numeric(const Table& t, size_t col) { return col < t.numeric.size() && t.numeric[col]; }

}  // namespace

std::string to_markdown(const Table& t) {
  std::string s = "|";
  for (const auto& h : t.header) s += " " + md_cell(h) + " |";
  s += "\n|";
  for (size_t c = 0; c < t.header.size(); ++c) s += is_numeric(t, c) ? "---:|" : "---|";
  s += "\n";
  for (const auto& row : t.rows) {
    s += "|";
    for (size_t c = 0; c < t.header.size(); ++c) s += " " + md_cell(c < row.size() ? row[c] : "") + " |";
    s += "\n";
  }
  return s;
}

std::string to_markdown(const std::vector<Section>& sections) {
  std::string s;
  for (const auto& sec : sections) {
    s += std::string(size_t(sec.level), '#') + " " + sec.title + "\n\n";
    if (!sec.text.empty()) s += sec.text + "\n\n";
    if (!sec.table.header.empty()) s += to_markdown(sec.table) + "\n";
  }
  return s;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  return out;
}

std::string to_html(const Table& t) {
  std::string s = "<table>\n<thead><tr>";
  for (size_t c = 0; c < t.header.size(); ++c)
    s += std::string(is_numeric(t, c) ? "<th class=\"num\">" : "<th>") + html_escape(t.header[c]) + "</th>";
  s += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    s += "<tr>";
    for (size_t c = 0; c < t.header.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : "";
      // A failure must stand out from the numbers around it (index.html styles .failed).
      const bool failed = cell.find("FAILED") != std::string::npos || cell == "failed";
      std::string cls =
          std::string(is_numeric(t, c) ? "num" : "") + (failed ? (is_numeric(t, c) ? " failed" : "failed") : "");
      s += (cls.empty() ? std::string("<td>") : "<td class=\"" + cls + "\">") + html_escape(cell) + "</td>";
    }
    s += "</tr>\n";
  }
  return s + "</tbody>\n</table>\n";
}

std::string fmt(double v, int decimals) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  char b[64];
  if (decimals >= 0)
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
  else
    std::snprintf(b, sizeof b, "%.4g", v);
  std::string s = b;
  if (s == "-0" || s.find_first_not_of("-0.") == std::string::npos) s.erase(0, s[0] == '-' ? 1 : 0);
  return s;
}

std::string opt(const std::optional<double>& v, int decimals) { return v ? fmt(*v, decimals) : kMissing; }

std::string exact(double v) {
  if (v == 0) return "0";  // no "-0" in a CSV
  char b[64];
  auto r = std::to_chars(b, b + sizeof b, v);
  return std::string(b, r.ptr);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace nurture::report
