// `nurture report RUNS_DIR [--out DIR]`: tables, plots and index.html for a sweep's output
// tree (report/report.h). Prints the held-out and task-mean degradation tables, the paired
// differences from the control, and the page's path.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "report/report.h"

namespace nurture::cli {

Action add_report(CLI::App& app) {
  struct Opts {
    std::string runs_dir, out, gnuplot = "gnuplot";
    bool no_plots = false, quiet = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("runs_dir", o->runs_dir, "Sweep output directory (runs/<grid>), or a single run directory")
      ->required();
  app.add_option("--out", o->out, "Write the report here (default: RUNS_DIR)");
  app.add_flag("--no-plots", o->no_plots, "Tables and index.html only: no plots/ and no gnuplot");
  app.add_option("--gnuplot", o->gnuplot, "The gnuplot program to run")->capture_default_str();
  app.add_flag("-q,--quiet", o->quiet, "No progress lines on stderr");
  return [o] {
    report::ReportOptions opt;
    opt.runs_dir = o->runs_dir;
    opt.out_dir = o->out;
    opt.gnuplot = o->gnuplot;
    opt.plots = !o->no_plots;
    opt.command = "nurture report " + o->runs_dir + (o->out.empty() ? "" : " --out " + o->out) +
                  (o->no_plots ? " --no-plots" : "");
    opt.log = [o](const std::string& m) {
      if (!o->quiet) std::cerr << "report: " << m << "\n";
    };
    const report::ReportFiles f = report::write_report(opt);
    if (f.printed_summary.empty())
      std::cout << "No PTQ results yet (no eval/*/ptq.json): run nurture ptq on a checkpoint, or nurture sweep.\n";
    else
      std::cout << f.printed_summary;
    std::cout << "report: " << f.html.string() << "\n";
    return 0;
  };
}

}  // namespace nurture::cli
