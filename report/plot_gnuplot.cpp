#include "report/plot_gnuplot.h"

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

#include "core/atomic_file.h"
#include "report/report_axes.h"
#include "report/report_ladder.h"
#include "report/report_paired.h"
#include "report/report_table.h"

namespace nurture::report {

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
  core::write_file_atomic(dir / file, text);
}

// The panels of figures 2 and 3: a row for the held-out likelihood (the precise measure, first)
// when the suite has one, and one for the task mean.
struct PanelRow {
  std::string title_suffix, ylabel;
  Measure measure;
};
std::vector<PanelRow> panel_rows(bool heldout) {
  std::vector<PanelRow> rows;
  if (heldout) rows.push_back({", held-out bits/byte", "% degradation of held-out bits/byte", heldout_degradation});
  rows.push_back({", task mean", "% degradation, task mean (positive = worse)", task_mean_degradation});
  return rows;
}

// An empty panel that says why it is empty (a constant outside the y range draws nothing).
std::string no_data_panel() {
  return "set yrange [0:1]\nset label 1 'no finished, non-failed value yet' at graph 0.5, graph 0.5 center\n"
         "plot 2 notitle\nunset label 1\nset autoscale y\n";
}

void figure2(const RunTree& tree, const fs::path& dir, std::vector<Plot>& out) {
  const auto recipes = headline_recipes(tree);
  if (recipes.empty()) return;
  const bool heldout = has_heldout(tree, recipes);
  const auto rows = panel_rows(heldout);
  for (const auto& c : compare_axes(tree)) {
    const std::string name = "fig2_" + safe_name(c.axis);
    // Points trained with several seeds get error bars: the 95% confidence interval of the mean.
    bool replicates = false;
    for (const auto& g : c.groups)
      for (const auto& [value, members] : g.by_value) replicates = replicates || members.size() >= 2;
    DataFile d;
    std::vector<std::string> titles;
    // Panels without a single number (an unfinished sweep, or a recipe every variant failed)
    // get a note instead of a plot, which gnuplot would refuse ("all points y value undefined").
    std::vector<bool> drawn(rows.size() * recipes.size(), false);
    // Columns: x, value, then per panel (measure × recipe) its mean, then (with replicates) the
    // CI half widths in the same order; the "every variant" line has none (0). A failed cell
    // is missing ('?'): a failure is never drawn as a number.
    auto series = [&](const std::string& title, const std::map<std::string, std::vector<const Variant*>>& by_value,
                      bool with_interval) {
      std::string cols = "x value";
      for (const auto& row : rows)
        for (const auto& r : recipes) cols += " " + r + (row.measure == heldout_degradation ? "_heldout" : "");
      if (replicates)
        for (const auto& row : rows)
          for (const auto& r : recipes)
            cols += " " + r + (row.measure == heldout_degradation ? "_heldout" : "") + "_ci95";
      d.begin(title, cols);
      for (size_t i = 0; i < c.values.size(); ++i) {
        auto it = by_value.find(c.values[i]);
        if (it == by_value.end()) continue;
        std::vector<std::string> row = {std::to_string(i), data_label(c.values[i])};
        for (size_t p = 0; p < rows.size(); ++p)
          for (size_t r = 0; r < recipes.size(); ++r) {
            row.push_back(num(collect(it->second, recipes[r], rows[p].measure).mean()));
            if (row.back() != "?") drawn[p * recipes.size() + r] = true;
          }
        if (replicates)
          for (const auto& p : rows)
            for (const auto& r : recipes) {
              const auto h = with_interval ? collect(it->second, r, p.measure).ci95_half() : std::nullopt;
              row.push_back(num(h ? h : 0.0));
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
          q("% degradation after PTQ vs " + c.axis + " (Figure 2)") + "\n" + kHeadroom;
    gp += xtics + "set xrange [-0.5:" + std::to_string(c.values.size()) + "-0.5]\n";
    for (size_t p = 0; p < rows.size(); ++p)
      for (size_t r = 0; r < recipes.size(); ++r) {
        gp += key(r) + "set ylabel " + q(rows[p].ylabel) + "\nset title " + q(recipes[r] + rows[p].title_suffix) + "\n";
        const size_t col = 3 + p * recipes.size() + r, panels = rows.size() * recipes.size();
        if (!drawn[p * recipes.size() + r]) {
          gp += no_data_panel();
          continue;
        }
        gp += replicates
                  ? plot_series(name + ".dat", titles, "1:" + std::to_string(col) + ":" + std::to_string(col + panels),
                                "yerrorlines lw 2 pt 7")
                  : plot_series(name + ".dat", titles, "1:" + std::to_string(col), "linespoints lw 2 pt 7");
      }
    gp += "unset multiplot\n";
    write(dir, name + ".dat", d.text);
    write(dir, name + ".gp", gp);
    out.push_back({name, "% degradation vs " + c.axis + " (Figure 2)",
                   "Each line holds the other axes fixed (its legend); x is the value of " + c.axis + ". " +
                       (heldout ? "Top row: relative change of held-out bits per byte (the precise measure); bottom "
                                  "row: mean relative degradation over tasks. "
                                : "y: mean relative degradation over tasks. ") +
                       "Last evaluated checkpoint; a failed (NaN) cell is left out" +
                       (replicates ? "; points trained with several seeds: their mean, error bars = 95% CI of the "
                                     "mean (Student t)."
                                   : ".")});
  }
}

// Each grid point minus the control, paired by seed, with its 95% confidence interval: the
// figure that says whether an axis change did anything beyond seed noise.
void paired_figure(const RunTree& tree, const fs::path& dir, std::vector<Plot>& out) {
  const std::vector<Point> points = grid_points(tree);
  const auto recipes = final_recipes(tree);
  if (points.size() < 2 || !points.front().control || recipes.empty()) return;
  const auto rows = panel_rows(has_heldout(tree, recipes));
  const std::string name = "fig_paired_vs_control";
  DataFile d;
  std::vector<std::string> titles;
  bool intervals = false;
  std::vector<bool> drawn(rows.size(), false);
  for (size_t ri = 0; ri < recipes.size(); ++ri) {
    const std::string& r = recipes[ri];
    // Recipes side by side around each point's tick, so their intervals do not hide each other.
    const double shift = (double(ri) - 0.5 * double(recipes.size() - 1)) * 0.12;
    std::string cols = "x point";
    for (const auto& p : rows)
      cols += " " + std::string(p.measure == heldout_degradation ? "heldout" : "task_mean") + " ci_low ci_high";
    d.begin(r, cols);
    for (size_t i = 1; i < points.size(); ++i) {
      std::vector<std::string> row = {exact(double(i - 1) + shift), data_label(points[i].label)};
      for (size_t pi = 0; pi < rows.size(); ++pi) {
        const ControlDifference c = difference_from_control(tree, points[i], points.front(), r, rows[pi].measure);
        const bool ok = !c.is_failed() && c.diff.n > 0;
        drawn[pi] = drawn[pi] || ok;
        intervals = intervals || c.diff.ci_low.has_value();
        row.push_back(ok ? exact(c.diff.mean) : "?");
        row.push_back(ok ? num(c.diff.ci_low ? c.diff.ci_low : c.diff.mean) : "?");
        row.push_back(ok ? num(c.diff.ci_high ? c.diff.ci_high : c.diff.mean) : "?");
      }
      d.row(row);
    }
    d.end();
    titles.push_back(r);
  }
  std::string xtics = "set xtics (";
  for (size_t i = 1; i < points.size(); ++i)
    xtics += (i > 1 ? ", " : "") + q(points[i].label) + " " + std::to_string(i - 1);
  xtics += ") rotate by -20\n";
  std::string gp = preamble(name, 900, 420 * int(rows.size()));
  gp += "set multiplot layout " + std::to_string(rows.size()) + ",1 title " +
        q("Point − control, paired by seed (95% CI)") + "\n" + kHeadroom + xtics +
        "set xrange [-0.5:" + std::to_string(points.size() - 1) + "-0.5]\nset xzeroaxis lt -1\n";
  for (size_t p = 0; p < rows.size(); ++p) {
    const std::string c = std::to_string(3 + 3 * p);
    gp += key(p) + "set ylabel " + q("difference in " + rows[p].ylabel) + "\nset title " +
          q("point − control" + rows[p].title_suffix) + "\n";
    if (!drawn[p]) {
      gp += no_data_panel();
      continue;
    }
    gp +=
        plot_series(name + ".dat", titles, "1:" + c + ":" + std::to_string(4 + 3 * p) + ":" + std::to_string(5 + 3 * p),
                    "yerrorbars lw 2 pt 7");
  }
  gp += "unset multiplot\n";
  write(dir, name + ".dat", d.text);
  write(dir, name + ".gp", gp);
  out.push_back({name, "Differences from the control, paired by seed",
                 "Each point's mean over seeds of (point − control) in percentage points of degradation, one series "
                 "per recipe; error bars: 95% confidence interval of the mean paired difference (Student t)." +
                     std::string(intervals ? "" : " One seed per point here: no intervals (bars of zero length).") +
                     " An interval that excludes 0 is an effect; failed comparisons are left out (see the tables)."});
}

// The bit-width ladder (report_ladder.h): held-out degradation against bits, one line per point.
void ladder_figure(const RunTree& tree, const fs::path& dir, std::vector<Plot>& out) {
  const std::vector<Ladder> ladders = bit_ladders(tree);
  if (ladders.empty()) return;
  const std::vector<Point> points = grid_points(tree);
  const std::string name = "fig_bit_ladder";
  std::string gp = preamble(name, 560 * int(ladders.size()) + 60, 480);
  gp += "set multiplot layout 1," + std::to_string(ladders.size()) + " title " +
        q("Held-out % degradation by bit width") +
        // Half a bit of room left and right, so the end rungs' error bars are not on the frame.
        "\nset offsets 0.5, 0.5, graph 0.08, graph 0.08\nset ylabel " + q("% degradation of held-out bits/byte") + "\n";
  for (size_t li = 0; li < ladders.size(); ++li) {
    const Ladder& l = ladders[li];
    DataFile d;
    std::vector<std::string> titles;
    for (const auto& p : points) {
      d.begin(p.label, "bits degradation ci95 recipe");
      for (const auto& r : l.rungs) {
        const Cell c = collect(p.variants, r.recipe, heldout_degradation);
        const auto h = c.ci95_half();
        d.row({std::to_string(r.bits), num(c.mean()), num(h ? h : 0.0), data_label(r.recipe)});
      }
      d.end();
      titles.push_back(p.label);
    }
    const std::string file = name + "_" + l.name + ".dat";
    write(dir, file, d.text);
    gp += key(li) + "set title " + q("by " + l.xlabel) + "\nset xlabel " + q(l.xlabel) +
          "\nset xtics 1\nset arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2\n";
    gp += plot_series(file, titles, "1:2:3", "yerrorlines lw 2 pt 7");
    gp += "unset arrow\n";
  }
  gp += "unset multiplot\n";
  write(dir, name + ".gp", gp);
  out.push_back({name, "Bit-width ladder",
                 "Held-out % degradation against activation bits (weights int8) and against weight bits "
                 "(weight-only recipes), from ptq.json's weight_bits / act_bits; one line per grid point (seeds "
                 "averaged, error bars = 95% CI). The dashed line is 1%. Failed recipes are left out."});
}

// Figure 4: the histograms of the c_attn weights and the LayerNorm gains, one panel per kind,
// one line per variant (all blocks summed) at the last analysed checkpoint.
void figure4(const RunTree& tree, const fs::path& dir, std::vector<Plot>& out) {
  const std::vector<std::string> kinds = {"attn.c_attn.weight", "ln_1.weight", "ln_2.weight"};
  const std::string name = "fig4_histograms";
  std::vector<std::string> files, panels;
  std::vector<std::vector<std::string>> titles;
  for (const auto& kind : kinds) {
    DataFile d;
    std::vector<std::string> t;
    for (const auto& v : tree.variants) {
      const AnalysisResult* a = v.final_analysis();
      if (!a) continue;
      // Blocks can have different ranges: each block is its own series, drawn as one line per
      // variant by giving the blocks of a variant one title (the first) and the same colour.
      bool first = true;
      for (const auto& h : a->histograms) {
        if (h.name != kind) continue;
        d.begin(v.name + " block " + std::to_string(h.block), "centre fraction");
        double total = 0;
        for (double c : h.counts) total += c;
        for (size_t i = 0; i < h.counts.size(); ++i)
          d.row({exact(0.5 * (h.edges[i] + h.edges[i + 1])), num(total > 0 ? h.counts[i] / total : 0.0)});
        d.end();
        t.push_back(first ? v.name + " (per block)" : "");
        first = false;
      }
    }
    if (t.empty()) continue;
    files.push_back(name + "_" + safe_name(kind) + ".dat");
    write(dir, files.back(), d.text);
    panels.push_back(kind);
    titles.push_back(t);
  }
  if (files.empty()) return;
  std::string gp = preamble(name, 520 * int(files.size()) + 60, 480);
  gp += "set multiplot layout 1," + std::to_string(files.size()) + " title " +
        q("Weight and LayerNorm gain distributions per block (Figure 4)") + "\n" + kHeadroom +
        "set ylabel 'fraction of values per bin'\n";
  for (size_t i = 0; i < files.size(); ++i) {
    gp += key(i) + "set title " + q(panels[i]) + "\nset xlabel 'value'\n";
    // Colour by variant: series of one variant share the colour of its first block.
    std::vector<std::string> styles;
    int colour = 0;
    for (const auto& t : titles[i]) {
      if (!t.empty()) ++colour;
      styles.push_back("lc " + std::to_string(colour));
    }
    std::vector<std::string> shown;
    for (const auto& t : titles[i]) shown.push_back(t);
    std::string s = plot_series(files[i], shown, "1:2", "histeps lw 1.2", styles);
    // An empty title still makes a legend entry in gnuplot: `notitle` removes it.
    for (size_t k = 0; (k = s.find(" title ''", k)) != std::string::npos;) s.replace(k, 9, " notitle");
    gp += s;
  }
  gp += "unset multiplot\n";
  write(dir, name + ".gp", gp);
  out.push_back({name, "Weight and gain histograms (Figure 4)",
                 "The distribution of attn.c_attn weights and of the ln_1 / ln_2 gains in every block at the last "
                 "analysed checkpoint (fraction of values per bin of nurture analyze's 64-bin histograms); one "
                 "colour per variant, one line per block. Wider tails and larger gains go with larger activation "
                 "outliers in the paper."});
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
  const bool heldout = has_heldout(tree, recipes);
  const auto rows = panel_rows(heldout);
  const std::string name = "fig3_degradation_over_steps";
  DataFile d;
  std::vector<std::string> titles, styles, dtypes;
  for (const Variant* v : vs) {
    std::string cols = "step";
    for (const auto& p : rows)
      for (const auto& r : recipes) cols += " " + r + (p.measure == heldout_degradation ? "_heldout" : "");
    d.begin(v->name, cols);
    for (const auto& e : v->evals) {
      std::vector<std::string> row = {std::to_string(e.step)};
      for (const auto& p : rows)
        for (const auto& r : recipes) row.push_back(num(p.measure(e, r).x));
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
        q("% degradation after PTQ over training (Figure 3)") + "\n" + kHeadroom;
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
  paired_figure(tree, plots_dir, out);
  ladder_figure(tree, plots_dir, out);
  figure3(tree, plots_dir, out);
  figure4(tree, plots_dir, out);
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
    core::AtomicFile png(plots_dir / (p.name + ".png"));
    const fs::path& tmp = png.temp_path();
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
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && fs::file_size(tmp, ec) > 0) {
      png.commit();
    } else {
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

}  // namespace nurture::report
