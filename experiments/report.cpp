#include "experiments/report.h"

#include "experiments/html_index.h"
#include "experiments/plot_gnuplot.h"
#include "experiments/report_data.h"
#include "experiments/report_tables.h"
#include "train/atomic_file.h"

namespace nurture::experiments {

namespace fs = std::filesystem;

ReportFiles write_report(const ReportOptions& o) {
  auto log = [&o](const std::string& m) {
    if (o.log) o.log(m);
  };
  const RunTree tree = load_run_tree(o.runs_dir);
  const fs::path out = o.out_dir.empty() ? o.runs_dir : o.out_dir;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (!fs::is_directory(out)) throw std::runtime_error(out.string() + ": cannot create the output directory");
  for (const auto& v : tree.variants)
    for (const auto& p : v.problems) log("warning: " + v.name + ": " + p);
  for (const auto& p : tree.problems) log("warning: " + p);

  ReportFiles f;
  f.variants = tree.variants.size();
  f.csv = out / "summary.csv";
  f.markdown = out / "summary.md";
  f.html = out / "index.html";
  train::write_file_atomic(f.csv, summary_csv(tree));
  train::write_file_atomic(f.markdown, summary_markdown(tree, o.command));
  const std::vector<Section> sections = summary_sections(tree);
  for (const auto& s : sections)
    if (s.title.rfind("Mean % degradation of every recipe", 0) == 0 && s.table.header.size() > 2)
      f.degradation_table = to_markdown(s.table);

  std::vector<Plot> plots;
  if (o.plots) {
    plots = write_plot_scripts(tree, out / "plots");
    for (const auto& p : plots) f.pngs.push_back(out / "plots" / (p.name + ".png"));
  }
  train::write_file_atomic(f.html, index_html(tree, sections, plots, o.command));
  log("wrote " + f.csv.string() + ", " + f.markdown.string() + ", " + f.html.string());
  if (!plots.empty()) {
    log("drawing " + std::to_string(plots.size()) + " plot(s) with gnuplot");
    render_plots(plots, out / "plots", o.gnuplot);
  }
  return f;
}

}  // namespace nurture::experiments
