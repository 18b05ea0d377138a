#include "report/html_index.h"

namespace nurture::report {

namespace {

const char* kStyle = R"(body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
  max-width: 1200px; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; background: #f4f4f6; }
pre { padding: 0.6em 0.8em; overflow-x: auto; border-radius: 4px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #d8d8de; padding: 0.25em 0.6em; text-align: left; white-space: nowrap; }
th { background: #eef0f4; } tbody tr:nth-child(even) { background: #fafafc; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.failed { color: #b00020; font-weight: 600; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #e4e4e8; }
figcaption { color: #555; font-size: 0.9em; }
nav ul { columns: 2; } .muted { color: #666; })";

std::string anchor(const std::string& title) {
  std::string a;
  for (char c : title) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      a += char(std::tolower(static_cast<unsigned char>(c)));
    else if (!a.empty() && a.back() != '-')
      a += '-';
  }
  while (!a.empty() && a.back() == '-') a.pop_back();
  return a;
}

// Section text is Markdown-light: `code` spans and "- " list lines are all it uses.
std::string text_html(const std::string& text) {
  std::string out, para;
  bool in_code = false;
  for (char c : text) {
    if (c == '`') {
      para += in_code ? "</code>" : "<code>";
      in_code = !in_code;
    } else {
      para += html_escape(std::string(1, c));
    }
  }
  if (in_code) para += "</code>";
  if (para.rfind("- ", 0) == 0) {
    std::string items = "<ul>\n<li>";
    for (size_t i = 2; i < para.size(); ++i) {
      if (para.compare(i, 3, "\n- ") == 0) {
        items += "</li>\n<li>";
        i += 2;
      } else {
        items += para[i];
      }
    }
    return items + "</li>\n</ul>\n";
  }
  return "<p>" + para + "</p>\n";
}

std::string section_html(const Section& s) {
  const std::string h = "h" + std::to_string(s.level);
  std::string out = "<" + h + " id=\"" + anchor(s.title) + "\">" + html_escape(s.title) + "</" + h + ">\n";
  if (!s.text.empty()) out += text_html(s.text);
  if (!s.table.header.empty()) out += "<div class=\"scroll\">\n" + to_html(s.table) + "</div>\n";
  return out;
}

}  // namespace

std::string index_html(const RunTree& tree, const std::vector<Section>& sections, const std::vector<Plot>& plots,
                       const std::string& command) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>nurture report: " +
      html_escape(tree.grid) + "</title>\n<style>\n" + kStyle + "\n</style>\n</head>\n<body>\n";
  h += "<h1>nurture report: " + html_escape(tree.grid) + "</h1>\n";
  h += "<p class=\"muted\">" + std::to_string(tree.variants.size()) + " variant(s) in <code>" +
       html_escape(tree.root.string()) + "</code>" +
       (tree.grid_file.empty() ? "" : ", grid file <code>" + html_escape(tree.grid_file) + "</code>") +
       ". Data: <a href=\"summary.csv\">summary.csv</a>, <a href=\"summary.md\">summary.md</a>; each figure's data "
       "and gnuplot script are in <code>plots/</code>.</p>\n";
  h += "<p>Made by:</p>\n<pre>" + html_escape(command) + "</pre>\n";
  h += "<nav><ul>\n";
  const std::string figures = "Figures";
  for (size_t i = 0; i < sections.size(); ++i) {
    if (i == 1 && !plots.empty()) h += "<li><a href=\"#" + anchor(figures) + "\">" + figures + "</a></li>\n";
    if (sections[i].level == 2)
      h += "<li><a href=\"#" + anchor(sections[i].title) + "\">" + html_escape(sections[i].title) + "</a></li>\n";
  }
  h += "</ul></nav>\n";
  // Figures come right after the variants table: they are what a reader looks at first.
  for (size_t i = 0; i < sections.size(); ++i) {
    if (i == 1 && !plots.empty()) {
      h += "<h2 id=\"" + anchor(figures) + "\">" + figures + "</h2>\n";
      for (const auto& p : plots)
        h += "<figure id=\"" + anchor(p.name) + "\">\n<h3>" + html_escape(p.title) + "</h3>\n<img src=\"plots/" +
             html_escape(p.name) + ".png\" alt=\"" + html_escape(p.title) + "\">\n<figcaption>" +
             html_escape(p.caption) + " Source: <a href=\"plots/" + html_escape(p.name) + ".gp\">plots/" +
             html_escape(p.name) + ".gp</a></figcaption>\n</figure>\n";
    }
    h += section_html(sections[i]);
  }
  return h + "</body>\n</html>\n";
}

}  // namespace nurture::report
