#include "report/report.h"

#include "core/atomic_file.h"
#include "report/html_index.h"
#include "report/plot_gnuplot.h"
#include "report/report_data.h"
#include "report/report_tables.h"

namespace nurture::report {

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
  core::write_file_atomic(f.csv, summary_csv(tree));
  core::write_file_atomic(f.markdown, summary_markdown(tree, o.command));
  // Always written (a header alone without a control point), so a stale file never outlives its run.
  f.paired_csv = out / "paired.csv";
  core::write_file_atomic(f.paired_csv, paired_csv(tree));
  const std::vector<Section> sections = summary_sections(tree);
  // The printed summary leads with the held-out measure, as the tables do.
  bool in_paired = false;
  for (const auto& s : sections) {
    if (s.level == 2) in_paired = s.title.rfind("Differences from the control", 0) == 0;
    if (s.table.header.size() <= 2 || s.table.rows.empty()) continue;
    const bool heldout = s.title.rfind("Held-out bits per byte: % degradation of every recipe", 0) == 0;
    const bool task_mean = s.title.rfind("Mean % degradation of every recipe", 0) == 0;
    if (heldout) f.heldout_table = to_markdown(s.table);
    if (task_mean) f.degradation_table = to_markdown(s.table);
    if (in_paired) f.paired_tables += s.title + ":\n\n" + to_markdown(s.table) + "\n";
    if (heldout || task_mean)
      f.printed_summary +=
          s.title + " (positive = worse, last evaluated checkpoint):\n\n" + to_markdown(s.table) + "\n";
  }
  if (!f.printed_summary.empty() && !f.paired_tables.empty())
    f.printed_summary +=
        "Differences from the control, paired by seed (95% CI; verdict: effect / none detected):\n\n" + f.paired_tables;

  std::vector<Plot> plots;
  if (o.plots) {
    plots = write_plot_scripts(tree, out / "plots");
    for (const auto& p : plots) f.pngs.push_back(out / "plots" / (p.name + ".png"));
  }
  core::write_file_atomic(f.html, index_html(tree, sections, plots, o.command));
  log("wrote " + f.csv.string() + ", " + f.paired_csv.string() + ", " + f.markdown.string() + ", " + f.html.string());
  if (!plots.empty()) {
    log("drawing " + std::to_string(plots.size()) + " plot(s) with gnuplot");
    render_plots(plots, out / "plots", o.gnuplot);
  }
  return f;
}

}  // namespace nurture::report
