#include "experiments/plot_gnuplot.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "experiments/report_axes.h"
#include "experiments/report_table.h"
#include "train/atomic_file.h"

namespace nurture::experiments {

namespace fs = std::filesystem;

namespace {

// gnuplot single-quoted string: no escapes are interpreted, a quote is doubled.
std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A label column in a .dat file: gnuplot reads a double-quoted field as one column.
std::string data_label(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? '\'' : c;
  return out + "\"";
}

std::string num(std::optional<double> v) { return v && std::isfinite(*v) ? exact(*v) : "?"; }

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

// One data block per series: a comment line naming it, rows, two blank lines (gnuplot `index`).
struct DataFile {
  std::string text;
  int blocks = 0;
  void begin(const std::string& title, const std::string& columns) { text += "# " + title + "\n# " + columns + "\n"; }
  void row(const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) text += (i ? " " : "") + fields[i];
    text += "\n";
  }
  void end() {
    text += "\n\n";
    ++blocks;
  }
};

std::string preamble(const std::string& name, int width, int height) {
  const std::string w = std::to_string(width), h = std::to_string(height);
  return "# Written by `nurture report`. Restyle freely, then run `gnuplot " + name +
         ".gp` in this directory.\n"
         "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n  set terminal pngcairo size " +
         w + "," + h + " font 'sans,10'\n} else {\n  set terminal png size " + w + "," + h +
         "\n}\n"
         "set termoption noenhanced\n"
         // `nurture report` passes a temporary name and renames it, so a PNG is never half-written.
         "if (!exists('outfile')) outfile = '" +
         name +
         ".png'\n"
         "set output outfile\n"
         "set datafile missing '?'\n"
         "set grid\n";
}

// The series of a panel: `file` index i, column `col`, one plot clause per series.
std::string plot_series(const std::string& file, const std::vector<std::string>& titles, const std::string& using_,
                        const std::string& style, const std::vector<std::string>& extra = {}) {
  std::string s = "plot ";
  for (size_t i = 0; i < titles.size(); ++i) {
    s += (i ? ", \\\n     " : "") + q(file) + " index " + std::to_string(i) + " using " + using_ + " with " + style;
    if (i < extra.size() && !extra[i].empty()) s += " " + extra[i];
    s += " title " + q(titles[i]);
  }
  return s + "\n";
}

// Every panel carries the legend below it: panels keep the same size, and no legend hides data.
std::string key(size_t /*panel*/) { return "set key below font ',8'\n"; }

// Autoscaled y ranges otherwise put the extreme points on the frame.
const char* kHeadroom = "set offsets graph 0, graph 0, graph 0.08, graph 0.08\n";

void write(const fs::path& dir, const std::string& file, const std::string& text) {
  train::write_file_atomic(dir / file, text);
}

// Whether any final evaluation has a likelihood task under these recipes: then figures 2 and 3
// get a second row of panels with its degradation (at small scale the least noisy measure).
bool has_likelihood(const RunTree& tree, const std::vector<std::string>& recipes) {
  for (const auto& v : tree.variants)
    for (const auto& e : v.evals)
      for (const auto& r : recipes)
        if (likelihood_degradation(e, r)) return true;
  return false;
}

// The panels of figures 2 and 3: a row for the task mean, and one for the held-out likelihood.
struct PanelRow {
  std::string title_suffix, ylabel;
};
std::vector<PanelRow> panel_rows(bool heldout) {
  std::vector<PanelRow> rows = {{"", "% degradation, task mean (positive = worse)"}};
  if (heldout) rows.push_back({", held-out bits/byte", "% degradation of held-out bits/byte"});
  return rows;
}

void figure2(const RunTree& tree, const fs::path& dir, std::vector<Plot>& out) {
  const auto recipes = headline_recipes(tree);
  if (recipes.empty()) return;
  const bool heldout = has_likelihood(tree, recipes);
  const auto rows = panel_rows(heldout);
  std::vector<Measure> measures = {mean_degradation};
  if (heldout) measures.push_back(likelihood_degradation);
  for (const auto& c : compare_axes(tree)) {
    const std::string name = "fig2_" + safe_name(c.axis);
    // Points trained with several seeds get error bars (± one standard deviation over seeds).
    bool replicates = false;
    for (const auto& g : c.groups)
      for (const auto& [value, members] : g.by_value) replicates = replicates || members.size() >= 2;
    DataFile d;
    std::vector<std::string> titles;
    // Columns: x, value, then per panel (measure × recipe) its mean, then (with replicates) the
    // standard deviations in the same order; the "every variant" line has none (0).
    auto series = [&](const std::string& title, const std::map<std::string, std::vector<const Variant*>>& by_value,
                      bool with_spread) {
      std::string cols = "x value";
      for (size_t m = 0; m < measures.size(); ++m)
        for (const auto& r : recipes) cols += " " + r + (m ? "_heldout" : "");
      if (replicates)
        for (size_t m = 0; m < measures.size(); ++m)
          for (const auto& r : recipes) cols += " " + r + (m ? "_heldout" : "") + "_sd";
      d.begin(title, cols);
      for (size_t i = 0; i < c.values.size(); ++i) {
        auto it = by_value.find(c.values[i]);
        if (it == by_value.end()) continue;
        std::vector<std::string> row = {std::to_string(i), data_label(c.values[i])};
        for (Measure m : measures)
          for (const auto& r : recipes) row.push_back(num(m(it->second, r)));
        if (replicates)
          for (Measure m : measures)
            for (const auto& r : recipes) {
              const auto sd = with_spread ? spread(it->second, r, m) : std::nullopt;
              row.push_back(num(sd ? sd : 0.0));
            }
        d.row(row);
      }
      d.end();
      titles.push_back(title);
    };
    for (const auto& g : c.groups) series(g.label, g.by_value, true);
    if (c.groups.size() != 1)
      series(c.groups.empty() ? "every variant (mean; other axes differ too)" : "every variant (mean)", c.all, false);
    std::string xtics = "set xtics (";
    for (size_t i = 0; i < c.values.size(); ++i) xtics += (i ? ", " : "") + q(c.values[i]) + " " + std::to_string(i);
    xtics += ")\n";
    std::string gp = preamble(name, 520 * int(recipes.size()) + 80, 460 * int(rows.size()));
    gp += "set multiplot layout " + std::to_string(rows.size()) + "," + std::to_string(recipes.size()) + " title " +
          q("Mean % degradation after PTQ vs " + c.axis + " (Figure 2)") + "\n" + kHeadroom;
    gp += xtics + "set xrange [-0.5:" + std::to_string(c.values.size()) + "-0.5]\n";
    for (size_t p = 0; p < rows.size(); ++p)
      for (size_t r = 0; r < recipes.size(); ++r) {
        gp += key(r) + "set ylabel " + q(rows[p].ylabel) + "\nset title " + q(recipes[r] + rows[p].title_suffix) + "\n";
        const size_t col = 3 + p * recipes.size() + r, panels = rows.size() * recipes.size();
        gp += replicates
                  ? plot_series(name + ".dat", titles, "1:" + std::to_string(col) + ":" + std::to_string(col + panels),
                                "yerrorlines lw 2 pt 7")
                  : plot_series(name + ".dat", titles, "1:" + std::to_string(col), "linespoints lw 2 pt 7");
      }
    gp += "unset multiplot\n";
    write(dir, name + ".dat", d.text);
    write(dir, name + ".gp", gp);
    out.push_back(
        {name, "Mean % degradation vs " + c.axis + " (Figure 2)",
         "Each line holds the other axes fixed (its legend); x is the value of " + c.axis +
             ". y: mean relative degradation over tasks at the last evaluated checkpoint" +
             (heldout ? "; bottom row: relative change of held-out bits per byte alone" : "") +
             (replicates ? "; points trained with several seeds: their mean ± one standard deviation." : ".")});
  }
}

void figure3(const RunTree& tree, const fs::path& dir, std::vector<Plot>& out) {
  const auto recipes = headline_recipes(tree);
  // The paper's Figure 3 compares bf16 with fp16 at equal other settings: when the grid has
  // such pairs, plot just those; otherwise every variant evaluated more than once.
  std::string dtype_axis;
  std::set<const Variant*> paired;
  for (const auto& c : compare_axes(tree)) {
    if (short_axis(c.axis) != "dtype") continue;
    dtype_axis = c.axis;
    for (const auto& g : c.groups)
      for (const auto& [value, members] : g.by_value) paired.insert(members.begin(), members.end());
  }
  std::vector<const Variant*> vs;
  bool over_time = false;
  for (const auto& v : tree.variants) {
    if (v.evals.empty() || (!paired.empty() && !paired.count(&v))) continue;
    vs.push_back(&v);
    over_time = over_time || v.evals.size() >= 2;
  }
  if (!over_time || recipes.empty()) return;
  const bool heldout = has_likelihood(tree, recipes);
  const auto rows = panel_rows(heldout);
  const std::string name = "fig3_degradation_over_steps";
  DataFile d;
  std::vector<std::string> titles, styles, dtypes;
  for (const Variant* v : vs) {
    std::string cols = "step";
    for (const auto& r : recipes) cols += " " + r;
    if (heldout)
      for (const auto& r : recipes) cols += " " + r + "_heldout";
    d.begin(v->name, cols);
    for (const auto& e : v->evals) {
      std::vector<std::string> row = {std::to_string(e.step)};
      for (const auto& r : recipes) {
        const PtqRecipe* rec = e.recipe(r);
        row.push_back(num(rec ? rec->mean_degradation_pct : std::nullopt));
      }
      if (heldout)
        for (const auto& r : recipes) row.push_back(num(likelihood_degradation(e, r)));
      d.row(row);
    }
    d.end();
    titles.push_back(v->name);
    // The paper's contrast: bf16 in blue, fp16 in red, whatever else varies.
    const auto it = dtype_axis.empty() ? v->axis_values.end() : v->axis_values.find(dtype_axis);
    const std::string dt = it == v->axis_values.end() ? "" : it->second;
    // Variants of the same colour differ in dash and point type.
    const int same = int(std::count(dtypes.begin(), dtypes.end(), dt));
    dtypes.push_back(dt);
    const std::string shape = " dt " + std::to_string(1 + same % 5) + " pt " + std::to_string(1 + same % 13);
    styles.push_back(dt == "bf16" ? "lc rgb '#1f77b4'" + shape : dt == "fp16" ? "lc rgb '#d62728'" + shape : "");
  }
  std::string gp = preamble(name, 520 * int(recipes.size()) + 80, 460 * int(rows.size()));
  gp += "set multiplot layout " + std::to_string(rows.size()) + "," + std::to_string(recipes.size()) + " title " +
        q("Mean % degradation after PTQ over training (Figure 3)") + "\n" + kHeadroom;
  for (size_t p = 0; p < rows.size(); ++p)
    for (size_t r = 0; r < recipes.size(); ++r) {
      gp += key(r) + "set ylabel " + q(rows[p].ylabel) + "\nset title " +
            q(recipes[r] + rows[p].title_suffix + ", by training step") + "\n";
      gp += plot_series(name + ".dat", titles, "1:" + std::to_string(2 + p * recipes.size() + r), "linespoints lw 2",
                        styles);
    }
  gp += "unset multiplot\n";
  write(dir, name + ".dat", d.text);
  write(dir, name + ".gp", gp);
  out.push_back({name, "Degradation over training (Figure 3)",
                 paired.empty() ? "Every variant, at each checkpoint that was quantized and evaluated."
                                : "The variants that differ from another only in " + dtype_axis +
                                      "; bf16 lines are blue, fp16 lines red. Each point is one checkpoint "
                                      "quantized and evaluated during training."});
}

void figure5(const RunTree& tree, const fs::path& dir, std::vector<Plot>& out) {
  const std::string name = "fig5_block_statistics";
  DataFile d;
  std::vector<std::string> titles;
  for (const auto& v : tree.variants) {
    const AnalysisResult* a = v.final_analysis();
    if (!a || a->linears.empty()) continue;
    // The paper plots attn-kqv-proj and the LayerNorm before it (ln_1); other sites are the
    // fallback for a file without them.
    std::map<int, std::vector<const LinearStats*>> qkv, any;
    std::map<int, double> ln1;
    for (const auto& l : a->linears) (l.site == "qkv" ? qkv : any)[l.block].push_back(&l);
    for (const auto& n : a->layer_norms)
      if (n.name == "ln_1") ln1[n.block] = n.gain_std;
    std::set<int> blocks;
    for (const auto& [b, _] : qkv) blocks.insert(b);
    if (blocks.empty())
      for (const auto& [b, _] : any) blocks.insert(b);
    d.begin(v.name + " (step " + std::to_string(a->step) + ")",
            "block rmse_int8 token_std ln_1_gain_std spectral_norm");
    for (int b : blocks) {
      const auto& ls = qkv.count(b) ? qkv[b] : any[b];
      double rmse = 0, tstd = 0, spec = 0;
      for (const auto* l : ls) rmse += l->rmse_int8, tstd += l->token_std, spec += l->spectral_norm;
      const double n = double(ls.size());
      d.row({std::to_string(b), exact(rmse / n), exact(tstd / n), ln1.count(b) ? exact(ln1[b]) : "?", exact(spec / n)});
    }
    d.end();
    titles.push_back(v.name);
  }
  if (titles.empty()) return;
  std::string gp = preamble(name, 1100, 820);
  gp += "set multiplot layout 2,2 title " +
        q("Per-block statistics of attn-kqv-proj at the last analysed checkpoint (Figure 5)") + "\nset xtics 1\n" +
        kHeadroom;
  const char* panels[4][2] = {{"RMSE(X, X^) of the per-token int8 input, by block", "2"},
                              {"token STD of the input, by block", "3"},
                              {"ln_1 gain STD, by block", "4"},
                              {"spectral norm of the weight, by block", "5"}};
  for (size_t p = 0; p < 4; ++p) {
    gp += key(p) + "set title " + q(panels[p][0]) + "\n";
    gp += plot_series(name + ".dat", titles, std::string("1:") + panels[p][1], "linespoints lw 2 pt 7");
  }
  gp += "unset multiplot\n";
  write(dir, name + ".dat", d.text);
  write(dir, name + ".gp", gp);
  out.push_back({name, "Per-block activation and weight statistics (Figure 5)",
                 "Input of the attention QKV projection: RMSE of per-token int8 quantization and mean per-token STD; "
                 "STD of the preceding LayerNorm gain; spectral norm of the QKV weight. One line per variant."});
}

void loss_curves(const RunTree& tree, const fs::path& dir, std::vector<Plot>& out) {
  const std::string name = "loss_curves";
  DataFile train, val;
  std::vector<std::string> titles;
  for (const auto& v : tree.variants) {
    if (v.metrics.empty()) continue;
    train.begin(v.name, "step loss");
    val.begin(v.name, "step val_loss");
    for (const auto& m : v.metrics) {
      if (m.loss) train.row({std::to_string(m.step), num(m.loss)});
      if (m.val_loss) val.row({std::to_string(m.step), num(m.val_loss)});
    }
    train.end();
    val.end();
    titles.push_back(v.name);
  }
  if (titles.empty()) return;
  std::string gp = preamble(name, 1200, 480);
  gp += "set multiplot layout 1,2 title 'Training curves'\nset ylabel 'cross-entropy (nats/token)'\n";
  gp += key(0) + "set title 'training loss, by step'\n" + plot_series(name + ".dat", titles, "1:2", "lines lw 1.5");
  gp += key(1) + "set title 'validation loss, by step'\n" +
        plot_series(name + "_val.dat", titles, "1:2", "linespoints lw 2 pt 7");
  gp += "unset multiplot\n";
  write(dir, name + ".dat", train.text);
  write(dir, name + "_val.dat", val.text);
  write(dir, name + ".gp", gp);
  out.push_back({name, "Training and validation loss", "metrics.jsonl of every variant: loss per step and val_loss."});
}

void telemetry(const RunTree& tree, const fs::path& dir, std::vector<Plot>& out) {
  const std::string name = "precision_telemetry";
  DataFile d;
  std::vector<std::string> titles;
  for (const auto& v : tree.variants) {
    if (std::none_of(v.metrics.begin(), v.metrics.end(),
                     [](const MetricsRecord& m) { return m.loss_scale.has_value(); }))
      continue;
    d.begin(v.name, "step loss_scale skipped_so_far weight_grad_underflow act_grad_underflow");
    int64_t skipped = 0;
    for (const auto& m : v.metrics) {
      if (!m.loss_scale) continue;
      skipped += m.skipped.value_or(false) ? 1 : 0;
      d.row({std::to_string(m.step), num(m.loss_scale), std::to_string(skipped), num(m.weight_grad_underflow),
             num(m.act_grad_underflow)});
    }
    d.end();
    titles.push_back(v.name);
  }
  if (titles.empty()) return;
  std::string gp = preamble(name, 1100, 820);
  gp += "set multiplot layout 2,2 title 'Mixed-precision telemetry (bf16 / fp16 variants), by step'\n";
  gp += key(0) + "set title 'loss scale'\nset logscale y 2\n" + plot_series(name + ".dat", titles, "1:2", "steps lw 2");
  gp += "unset logscale y\n" + std::string(kHeadroom) + key(1) + "set title 'skipped steps so far'\n" +
        plot_series(name + ".dat", titles, "1:3", "steps lw 2");
  gp += key(2) + "set title 'weight-gradient underflow fraction'\n" +
        plot_series(name + ".dat", titles, "1:4", "lines lw 1.5");
  gp += key(3) + "set title 'activation-gradient underflow fraction'\n" +
        plot_series(name + ".dat", titles, "1:5", "lines lw 1.5");
  gp += "unset multiplot\n";
  write(dir, name + ".dat", d.text);
  write(dir, name + ".gp", gp);
  out.push_back({name, "Mixed-precision telemetry",
                 "From metrics.jsonl of the bf16/fp16 variants: the loss scale, the number of steps skipped for "
                 "inf/NaN gradients, and the fraction of non-zero gradient elements that rounded to zero."});
}

}  // namespace

std::vector<Plot> write_plot_scripts(const RunTree& tree, const fs::path& plots_dir) {
  fs::create_directories(plots_dir);
  std::vector<Plot> out;
  figure2(tree, plots_dir, out);
  figure3(tree, plots_dir, out);
  figure5(tree, plots_dir, out);
  loss_curves(tree, plots_dir, out);
  telemetry(tree, plots_dir, out);
  return out;
}

fs::path find_program(const std::string& program) {
  if (program.find('/') != std::string::npos)
    return ::access(program.c_str(), X_OK) == 0 ? fs::path(program) : fs::path();
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string d;
  while (std::getline(dirs, d, ':')) {
    const fs::path p = fs::path(d.empty() ? "." : d) / program;
    if (::access(p.c_str(), X_OK) == 0 && !fs::is_directory(p)) return p;
  }
  return {};
}

void render_plots(const std::vector<Plot>& plots, const fs::path& plots_dir, const std::string& gnuplot) {
  if (plots.empty()) return;
  const fs::path exe = find_program(gnuplot);
  if (exe.empty())
    throw std::runtime_error("'" + gnuplot +
                             "' not found on PATH, so no PNGs were drawn: install it (sudo apt-get install "
                             "gnuplot-nox) and re-run; the tables and the plot scripts in " +
                             plots_dir.string() + " are written");
  for (const auto& p : plots) {
    const fs::path log = plots_dir / (p.name + ".log");
    const fs::path png = plots_dir / (p.name + ".png");
    const fs::path tmp = plots_dir / (p.name + ".png.tmp-" + std::to_string(::getpid()));
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("cannot start gnuplot: fork failed");
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || ::chdir(plots_dir.c_str()) != 0) ::_exit(126);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      const std::string script = p.name + ".gp", define = "outfile='" + tmp.filename().string() + "'";
      ::execl(exe.c_str(), gnuplot.c_str(), "-e", define.c_str(), script.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0) {
    }
    std::error_code ec;
    const bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && fs::file_size(tmp, ec) > 0;
    if (ok) fs::rename(tmp, png, ec);
    if (!ok || ec) {
      fs::remove(tmp, ec);
      std::ifstream in(log);
      std::string line, first;
      while (std::getline(in, line))
        if (line.find("line") != std::string::npos || first.empty()) first = line;
      throw std::runtime_error("gnuplot failed on " + (plots_dir / (p.name + ".gp")).string() + ": " +
                               (first.empty() ? "no output" : first) + " (full output in " + log.string() + ")");
    }
    fs::remove(log, ec);
  }
}

}  // namespace nurture::experiments
