#include "report/report_tables.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "report/report_axes.h"
#include "report/report_ladder.h"
#include "report/report_mechanisms.h"
#include "report/report_paired.h"

namespace nurture::report {

namespace {

// analysis.json summary numbers copied into every CSV row of the same checkpoint: {column, key}.
// The paper's Figure 5 quantities (attn-kqv-proj input and weight, ln_1 gains) first; then the
// all-site averages (every block linear, every LayerNorm), named so they cannot be mistaken for
// them (analysis.json keeps their older unprefixed keys, which every version has).
const std::vector<std::pair<std::string, std::string>> kAnalysisColumns = {
    {"qkv_rmse_int8_mean", "qkv_rmse_int8_mean"},
    {"qkv_token_std_mean", "qkv_token_std_mean"},
    {"ln_1_gain_std_mean", "ln_1_gain_std_mean"},
    {"qkv_spectral_norm_mean", "qkv_spectral_norm_mean"},
    {"all_sites_rmse_int8_mean", "rmse_int8_mean"},
    {"all_sites_token_std_mean", "token_std_mean"},
    {"max_abs", "max_abs"},
    {"all_sites_ln_gain_std_mean", "ln_gain_std_mean"},
    {"all_sites_spectral_norm_mean", "spectral_norm_mean"},
    {"outliers_llm_int8", "outliers_llm_int8"},
    {"outliers_fixed", "outliers_fixed"},
    {"outliers_adaptive", "outliers_adaptive"}};
// Per recipe and checkpoint, and (final checkpoint) the paired comparison with the control.
const std::vector<std::string> kRecipeColumns = {"task_failed",
                                                 "recipe_failed",
                                                 "failed_tasks",
                                                 "weight_bits",
                                                 "act_bits",
                                                 "heldout_degradation_pct",
                                                 "heldout_degradation_se_pct",
                                                 "mean_degradation_pct",
                                                 "mean_degradation_se_pct",
                                                 "n_seeds",
                                                 "diff_vs_control_pct",
                                                 "ci95_low",
                                                 "ci95_high",
                                                 "mde80_pct",
                                                 "verdict",
                                                 "task_mean_diff_vs_control_pct",
                                                 "task_mean_ci95_low",
                                                 "task_mean_ci95_high",
                                                 "task_mean_verdict"};
const std::vector<std::string> kOutlierRules = {"llm_int8", "fixed", "adaptive"};

template <class T>
void push_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

// Tasks of the final evaluations, in first-seen order, with their metric direction.
std::vector<PtqTask> final_tasks(const RunTree& tree) {
  std::vector<PtqTask> out;
  for (const auto& v : tree.variants)
    if (const PtqResult* e = v.final_eval())
      for (const auto& t : e->tasks)
        if (std::none_of(out.begin(), out.end(), [&](const PtqTask& o) { return o.name == t.name; })) out.push_back(t);
  return out;
}

const AnalysisResult* analysis_at(const Variant& v, int64_t step) {
  for (const auto& a : v.analyses)
    if (a.step == step) return &a;
  return nullptr;
}

std::string axis_cell(const Variant& v, const std::string& axis) {
  auto it = v.axis_values.find(axis);
  return it == v.axis_values.end() ? "" : it->second;
}

Section variants_section(const RunTree& tree) {
  Section s;
  s.title = "Variants";
  s.text =
      "Status from sweep.json (or from what is on disk). Losses are the last logged training loss and "
      "validation loss, in nats per token.";
  // Keys a variant trained with but the grid stated relatively (the paper's λ as paper_wd): both
  // the stated and the used value are shown, "(used)" after the axes.
  std::set<std::string> derived_keys;
  for (const auto& v : tree.variants)
    for (const auto& [k, value] : v.derived) derived_keys.insert(k);
  s.table.header = {"variant"};
  for (const auto& a : tree.axes) s.table.header.push_back(short_axis(a));
  for (const auto& k : derived_keys) s.table.header.push_back(short_axis(k) + " (used)");
  const size_t lead = 1 + tree.axes.size() + derived_keys.size();
  for (const char* h : {"status", "steps", "train loss", "val loss", "evaluated steps", "note"})
    s.table.header.push_back(h);
  s.table.numeric.assign(s.table.header.size(), false);
  for (size_t i = 1 + tree.axes.size(); i < lead; ++i) s.table.numeric[i] = true;
  s.table.numeric[lead + 1] = s.table.numeric[lead + 2] = s.table.numeric[lead + 3] = true;
  for (const auto& v : tree.variants) {
    std::vector<std::string> row = {v.name + (v.control ? " (control)" : "")};
    for (const auto& a : tree.axes) row.push_back(axis_cell(v, a));
    for (const auto& k : derived_keys) {
      auto it = v.derived.find(k);
      row.push_back(it == v.derived.end() ? kMissing : it->second);
    }
    std::optional<double> loss, val;
    int64_t steps = 0;
    for (const auto& m : v.metrics) {
      if (m.loss) loss = m.loss, steps = std::max(steps, m.step);
      if (m.val_loss) val = m.val_loss;
    }
    std::string evaluated;
    for (const auto& e : v.evals) evaluated += (evaluated.empty() ? "" : ", ") + std::to_string(e.step);
    std::string note = v.error;
    // A recipe that failed at the last checkpoint is named here too, so the first table a reader
    // sees already says which numbers are missing and why.
    if (const PtqResult* e = v.final_eval())
      for (const auto& r : e->recipes)
        if (r.failed) note += (note.empty() ? "" : "; ") + r.name + " " + failed_text(int(r.failed_tasks.size()));
    for (const auto& p : v.problems) note += (note.empty() ? "" : "; ") + p;
    row.insert(row.end(), {v.state(), steps ? std::to_string(steps) : kMissing, opt(loss, 4), opt(val, 4),
                           evaluated.empty() ? kMissing : evaluated, note});
    s.table.rows.push_back(row);
  }
  return s;
}

// A recipe's task-mean cell in one evaluation: mean ± standard error over items (nurture-ptq-v2),
// or the failure.
std::string task_mean_text(const PtqRecipe* r) {
  if (!r) return kMissing;
  if (r->failed) return failed_text(int(r->failed_tasks.size()));
  if (!r->mean_degradation_pct) return kMissing;
  return fmt(*r->mean_degradation_pct, 2) +
         (r->mean_degradation_se_pct ? " ± " + fmt(*r->mean_degradation_se_pct, 2) : "");
}

std::string heldout_text(const PtqResult& e, const std::string& recipe) {
  const Value x = heldout_degradation(e, recipe);
  if (x.failed) return failed_text(x.failed_tasks);
  return opt(x.x, 3) + (x.x && x.se ? " ± " + fmt(*x.se, 3) : "");
}

Section table4_section(const RunTree& tree) {
  Section s;
  s.title = "Zero-shot scores before and after PTQ (Table 4 layout)";
  const std::vector<PtqTask> tasks = final_tasks(tree);
  std::vector<std::string> recipes = {"pre"};
  for (const auto& r : headline_recipes(tree)) recipes.push_back(r);
  bool any_up = std::any_of(tasks.begin(), tasks.end(), [](const PtqTask& t) { return t.higher_is_better; });
  s.text =
      "The last evaluated checkpoint of each variant. ↑: higher is better, ↓: lower is better. "
      "`pre` is the unquantized baseline. " +
      std::string(any_up ? "\"avg ↑\" averages the higher-is-better tasks (accuracies), as the paper's Average "
                           "column does. "
                         : "") +
      "\"held-out degr. %\" is the relative degradation of held-out bits per byte (the precise measure); "
      "\"mean degr. %\" the mean over all tasks of the relative degradation ± its standard error over items "
      "where ptq.json gives one (positive = worse than pre). FAILED: a task scored NaN after quantization.";
  s.table.header = {"variant", "step", "recipe"};
  for (const auto& t : tasks) s.table.header.push_back(t.name + " (" + t.metric + (t.higher_is_better ? " ↑)" : " ↓)"));
  if (any_up) s.table.header.push_back("avg ↑");
  s.table.header.push_back("held-out degr. %");
  s.table.header.push_back("mean degr. %");
  s.table.numeric.assign(s.table.header.size(), true);
  s.table.numeric[0] = s.table.numeric[2] = false;
  for (const auto& v : tree.variants) {
    const PtqResult* e = v.final_eval();
    if (!e) {
      std::vector<std::string> row = {v.name, kMissing, "(" + v.state() + ")"};
      row.resize(s.table.header.size(), kMissing);
      s.table.rows.push_back(row);
      continue;
    }
    for (const auto& name : recipes) {
      const PtqRecipe* r = e->recipe(name);
      std::vector<std::string> row = {v.name, std::to_string(e->step), name};
      double up_sum = 0;
      int up_n = 0;
      bool up_failed = false;
      for (const auto& t : tasks) {
        auto it = r ? r->scores.find(t.name) : std::map<std::string, double>::const_iterator();
        const bool failed =
            r && std::find(r->failed_tasks.begin(), r->failed_tasks.end(), t.name) != r->failed_tasks.end();
        if (!r || it == r->scores.end()) {
          row.push_back(failed ? "FAILED" : kMissing);
          up_failed = up_failed || (failed && t.higher_is_better);
          continue;
        }
        row.push_back(fmt(it->second, 4));
        if (t.higher_is_better) up_sum += it->second, ++up_n;
      }
      if (any_up) row.push_back(up_failed ? "FAILED" : up_n ? fmt(up_sum / up_n, 4) : kMissing);
      row.push_back(name == "pre" ? "" : heldout_text(*e, name));
      row.push_back(name == "pre" ? "" : task_mean_text(r));
      s.table.rows.push_back(row);
    }
  }
  return s;
}

// A variant x recipe table of one measure at the last evaluated checkpoint.
Section recipes_section(const RunTree& tree, bool heldout) {
  Section s;
  const std::vector<std::string> recipes = final_recipes(tree);
  if (heldout) {
    s.title = "Held-out bits per byte: % degradation of every recipe";
    s.text =
        "Relative change of the held-out bits per byte (the suite's likelihood task) against `pre` at the last "
        "evaluated checkpoint (positive = worse), ± its paired standard error when ptq.json gives one "
        "(nurture-ptq-v2): one number from thousands of tokens, the precise signal at small scale. FAILED (k "
        "tasks): the recipe scored NaN on k tasks.";
  } else {
    s.title = "Mean % degradation of every recipe (task mean ± standard error)";
    s.text =
        "Mean over tasks of the relative degradation against `pre` at the last evaluated checkpoint (positive = "
        "worse), ± its standard error over items when ptq.json gives one (nurture-ptq-v2). At small scale this "
        "mean is dominated by the item noise of the small tasks: read the held-out table above first.";
  }
  s.table.header = {"variant", "step"};
  s.table.header.insert(s.table.header.end(), recipes.begin(), recipes.end());
  s.table.numeric.assign(s.table.header.size(), true);
  s.table.numeric[0] = false;
  for (const auto& v : tree.variants) {
    const PtqResult* e = v.final_eval();
    std::vector<std::string> row = {v.name, e ? std::to_string(e->step) : kMissing};
    for (const auto& name : recipes)
      row.push_back(!e ? kMissing : heldout ? heldout_text(*e, name) : task_mean_text(e->recipe(name)));
    s.table.rows.push_back(row);
  }
  return s;
}

// One section per axis with two or more values: a row per group of variants that agree on every
// other axis, a cell per axis value holding `measure` under each headline recipe.
std::vector<Section> axis_tables(const std::vector<AxisComparison>& comparisons,
                                 const std::vector<std::string>& recipes, Measure measure, int digits,
                                 const std::string& title_suffix) {
  std::vector<Section> out;
  // A cell holding several seeds of one point (see compare_axes) gives their mean ± the 95%
  // confidence interval's half width, so a difference between cells can be read against it.
  auto cell = [&](const std::vector<const Variant*>& vs, bool interval) {
    std::string c;
    for (const auto& r : recipes) c += (c.empty() ? "" : " / ") + cell_text(collect(vs, r, measure), digits, interval);
    return vs.empty() ? std::string() : c;
  };
  for (const auto& c : comparisons) {
    Section s;
    s.level = 3;
    s.title = c.axis + title_suffix;
    s.table.header = {"other axes"};
    s.table.header.insert(s.table.header.end(), c.values.begin(), c.values.end());
    s.table.numeric.assign(s.table.header.size(), true);
    s.table.numeric[0] = false;
    for (const auto& g : c.groups) {
      std::vector<std::string> row = {g.label};
      for (const auto& val : c.values) {
        auto it = g.by_value.find(val);
        row.push_back(it == g.by_value.end() ? "" : cell(it->second, true));
      }
      s.table.rows.push_back(row);
    }
    if (c.groups.size() != 1) {
      std::vector<std::string> row = {c.groups.empty() ? "every variant (mean; other axes differ too)"
                                                       : "every variant (mean)"};
      for (const auto& val : c.values) row.push_back(cell(c.all.at(val), false));
      s.table.rows.push_back(row);
    }
    out.push_back(s);
  }
  return out;
}

std::vector<Section> axis_sections(const RunTree& tree) {
  std::vector<Section> out;
  const auto comparisons = compare_axes(tree);
  const auto recipes = headline_recipes(tree);
  std::string which;
  for (const auto& r : recipes) which += (which.empty() ? "" : " / ") + r;
  const std::string seeds =
      "; where a point was trained with several seeds (`train.seed`), their mean ± the half width of the 95% "
      "confidence interval of that mean (Student t). A cell with a failed seed shows FAILED: it is never averaged.";
  // The held-out likelihood leads when the suite has one; the task mean follows.
  if (!comparisons.empty() && has_heldout(tree, recipes)) {
    Section lik;
    lik.title = "Held-out bits per byte: % degradation per axis value (Figure 2 as a table)";
    lik.text =
        "Each row holds the other axes fixed, so a row shows the effect of this axis alone. Cells: relative change "
        "of held-out bits per byte under " +
        which + " at the last evaluated checkpoint (positive = worse)" + seeds;
    out.push_back(lik);
    for (auto& s : axis_tables(comparisons, recipes, heldout_degradation, 3, " (held-out)"))
      out.push_back(std::move(s));
  }
  Section head;
  head.title = "Task mean: % degradation per axis value";
  head.text = comparisons.empty()
                  ? "No grid axis takes two or more values among these variants."
                  : "As above, for the mean % degradation over the suite's tasks under " + which +
                        " (noisier at small scale: one item of a few hundred moves a task's accuracy by a few "
                        "tenths of a percent)" +
                        seeds;
  out.push_back(head);
  for (auto& s : axis_tables(comparisons, recipes, task_mean_degradation, 2, "")) out.push_back(std::move(s));
  return out;
}

// A paired-comparison table: the leading cells, then seeds, difference [95% CI], MDE80, verdict,
// p, and Holm's adjustment over the family's rows (one family per table).
Table paired_table(const PairedFamily& f) {
  Table t;
  t.header = f.lead;
  t.numeric.assign(t.header.size(), false);
  for (const char* h : {"seeds", "difference [95% CI]", "MDE80", "verdict", "p", "Holm p", "after Holm"}) {
    t.header.push_back(h);
    t.numeric.push_back(std::string(h) != "verdict" && std::string(h) != "after Holm");
  }
  auto pfmt = [](const std::optional<double>& x) { return x ? (*x < 0.001 ? "<0.001" : fmt(*x, 3)) : kMissing; };
  for (const PairedRow& r : f.rows) {
    const ControlDifference& d = r.d;
    std::vector<std::string> row = r.cells;
    const std::string verdict = verdict_text(d);
    row.insert(row.end(), {std::to_string(d.pairs), difference_text(d, f.digits),
                           d.diff.mde80 ? fmt(*d.diff.mde80, f.digits) : kMissing, verdict, pfmt(r.p), pfmt(r.holm_p),
                           r.verdict_after_holm()});
    t.rows.push_back(std::move(row));
  }
  return t;
}

const char* const kPairedHeadText =
    "For each point (the variants that differ from the control in the same axes; seeds are replicates), the "
    "mean over seeds of (point − control), each seed of the point paired with the control's run of the same "
    "seed, in percentage points of degradation (positive = the point degrades more). 95% CI: mean ± t(0.975, "
    "n − 1) · sd / √n. verdict: \"effect\" when the interval excludes 0, else \"none detected\". MDE80: the "
    "smallest true difference this many seeds would detect with 80% power at the 5% level, (t(0.975, n − 1) + "
    "t(0.8, n − 1)) · sd / √n; a smaller effect can exist unseen. A seed that failed on either side fails the "
    "comparison (it is not dropped). Each row is its own test at the 5% level, not corrected for the others: "
    "among k rows about 0.05·k \"effect\" verdicts are expected by chance when nothing differs. p is the "
    "paired t-test's two-sided p-value (below 0.05 exactly when the interval excludes 0); Holm p is Holm's "
    "adjustment over every row of its table, and \"after Holm\" the verdict at that level, which keeps the "
    "chance of any false effect in the table at 5%. An effect that matters should also hold across recipes "
    "or a replication. The same rows, with full precision, are in paired.csv.";

}  // namespace

std::string PairedRow::verdict_after_holm() const {
  const std::string v = verdict_text(d);
  const bool tested = holm_p.has_value() && (v == "effect" || v == "none detected");
  return tested ? (*holm_p < 0.05 ? "effect" : "none detected") : v;
}

std::vector<PairedFamily> paired_families(const RunTree& tree) {
  std::vector<PairedFamily> out;
  const std::vector<Point> points = grid_points(tree);
  if (points.size() < 2 || !points.front().control) return out;
  // Every recipe, not only the paper's two: at small scale the ladder's narrow rungs are where
  // a difference between points can show.
  const auto recipes = final_recipes(tree);
  std::vector<std::tuple<Measure, std::string, std::string>> measures;
  if (has_heldout(tree, recipes)) measures.push_back({heldout_degradation, "heldout", "held-out bits/byte"});
  measures.push_back({task_mean_degradation, "task_mean", "task mean"});
  auto family = [](std::string kind, std::string measure, std::string what, std::vector<std::string> lead,
                   bool heldout) {
    PairedFamily f;
    f.kind = std::move(kind);
    f.measure = std::move(measure);
    f.what = std::move(what);
    f.lead = std::move(lead);
    f.digits = heldout ? 3 : 2;
    return f;
  };
  for (const auto& [measure, key, what] : measures) {
    PairedFamily f = family("vs_control", key, what, {"point", "recipe"}, measure == heldout_degradation);
    for (size_t i = 1; i < points.size(); ++i)
      for (const auto& r : recipes)
        f.rows.push_back({{points[i].label, r},
                          points[i].label,
                          "control",
                          "",
                          r,
                          difference_from_control(tree, points[i], points.front(), r, measure),
                          {},
                          {}});
    out.push_back(std::move(f));
  }
  const std::vector<Contrast> contrasts = one_axis_contrasts(points);
  if (!contrasts.empty())
    for (const auto& [measure, key, what] : measures) {
      PairedFamily f = family("one_axis", key, what, {"change", "at", "recipe"}, measure == heldout_degradation);
      for (const auto& c : contrasts)
        for (const auto& r : recipes)
          f.rows.push_back({{c.change, c.at, r},
                            points[c.point].label,
                            points[c.reference].label,
                            c.at,
                            r,
                            difference_from_control(tree, points[c.point], points[c.reference], r, measure),
                            {},
                            {}});
      out.push_back(std::move(f));
    }
  // p, and Holm's adjustment within each family; a failed comparison has no p and stays out.
  for (auto& f : out) {
    std::vector<std::optional<double>> p;
    for (const auto& r : f.rows) p.push_back(r.d.is_failed() ? std::nullopt : r.d.diff.p_value);
    const auto holm = holm_adjusted(p);
    for (size_t i = 0; i < f.rows.size(); ++i) {
      f.rows[i].p = p[i];
      f.rows[i].holm_p = holm[i];
    }
  }
  return out;
}

std::string paired_csv(const RunTree& tree) {
  std::string out;
  auto line = [&out](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + csv_field(fields[i]);
    out += "\n";
  };
  auto num = [](const std::optional<double>& x) { return x ? exact(*x) : std::string(); };
  line({"comparison", "measure", "point", "reference", "at", "recipe", "n_seeds", "diff_pct", "ci95_low", "ci95_high",
        "mde80_pct", "p_value", "holm_p_value", "family_size", "verdict", "verdict_after_holm", "failed_seeds"});
  for (const auto& f : paired_families(tree)) {
    const std::string family_size = std::to_string(f.rows.size());
    for (const auto& r : f.rows) {
      const bool has = r.d.pairs > 0 && !r.d.is_failed();
      line({f.kind, f.measure, r.point, r.reference, r.at, r.recipe, std::to_string(r.d.pairs),
            has ? exact(r.d.diff.mean) : "", has ? num(r.d.diff.ci_low) : "", has ? num(r.d.diff.ci_high) : "",
            has ? num(r.d.diff.mde80) : "", num(r.p), num(r.holm_p), family_size, verdict_text(r.d),
            r.verdict_after_holm(), std::to_string(r.d.failed)});
    }
  }
  return out;
}

namespace {

// Every grid point against the control point, paired by seed (report_paired.h), then the
// two-axis points one axis at a time.
std::vector<Section> paired_sections(const RunTree& tree) {
  std::vector<Section> out;
  const std::vector<PairedFamily> families = paired_families(tree);
  if (families.empty()) return out;
  int most_pairs = 0;
  for (const auto& f : families) {
    for (const auto& r : f.rows) most_pairs = std::max(most_pairs, r.d.pairs);
    Section s;
    s.level = 3;
    if (f.kind == "vs_control") {
      s.title = "Point − control: % degradation of " + f.what;
    } else {
      s.title = "One axis at a time: % degradation of " + f.what;
      s.text =
          "Points that differ from the control in two axes, against the point that differs from them in one "
          "axis only (which takes the control's value there), paired by seed as above: the change in `change` "
          "with every other axis held at `at`.";
    }
    s.table = paired_table(f);
    out.push_back(std::move(s));
  }
  Section head;
  head.title = "Differences from the control, paired by seed";
  head.text = kPairedHeadText;
  if (most_pairs < 2)
    head.text +=
        " Every point has one seed here, so there is no interval: train more seeds (`seed: [...]` as an axis, see "
        "experiments/seeds.yaml) to test the differences.";
  out.insert(out.begin(), head);
  return out;
}

std::vector<Section> table5_sections(const RunTree& tree) {
  std::vector<Section> out;
  Section head;
  head.title = "Outlier dimensions (Table 5 layout)";
  head.text =
      "Feature dimensions of the linear-layer inputs that the rule flags, at the last analysed checkpoint; "
      "% sequences and % layers affected as reported by nurture analyze.";
  out.push_back(head);
  for (const auto& rule : kOutlierRules) {
    Section s;
    s.level = 3;
    s.title = "Rule " + rule;
    for (const auto& v : tree.variants)
      if (const AnalysisResult* a = v.final_analysis())
        if (auto it = a->outliers.find(rule); it != a->outliers.end() && !it->second.rule.empty()) {
          s.title += ": " + it->second.rule;
          break;
        }
    s.table.header = {"variant", "step", "#outliers", "% seq affected", "% layers affected"};
    s.table.numeric = {false, true, true, true, true};
    for (const auto& v : tree.variants) {
      const AnalysisResult* a = v.final_analysis();
      auto it = a ? a->outliers.find(rule) : std::map<std::string, OutlierStats>::const_iterator();
      if (!a || it == a->outliers.end()) {
        s.table.rows.push_back({v.name, a ? std::to_string(a->step) : kMissing, kMissing, kMissing, kMissing});
        continue;
      }
      s.table.rows.push_back({v.name, std::to_string(a->step), std::to_string(it->second.count),
                              fmt(it->second.pct_sequences, 1), fmt(it->second.pct_layers, 1)});
    }
    out.push_back(s);
  }
  return out;
}

// The paper's Figure 5 quantities (attn-kqv-proj input and weight, ln_1 gains), then the
// all-site averages under their own title.
std::vector<Section> analysis_sections(const RunTree& tree) {
  auto section = [&](const std::string& title, const std::string& text, const std::vector<std::string>& header,
                     const std::vector<std::string>& keys) {
    Section s;
    s.title = title;
    s.text = text;
    s.table.header = {"variant", "step"};
    s.table.header.insert(s.table.header.end(), header.begin(), header.end());
    s.table.numeric.assign(s.table.header.size(), true);
    s.table.numeric[0] = false;
    for (const auto& v : tree.variants) {
      const AnalysisResult* a = v.final_analysis();
      std::vector<std::string> row = {v.name, a ? std::to_string(a->step) : "(" + v.state() + ")"};
      for (const auto& k : keys) {
        auto it = a ? a->summary.find(k) : std::map<std::string, double>::const_iterator();
        row.push_back(a && it != a->summary.end() ? fmt(it->second) : kMissing);
      }
      s.table.rows.push_back(row);
    }
    return s;
  };
  std::vector<std::string> formats;
  for (const auto& v : tree.variants)
    if (const AnalysisResult* a = v.final_analysis(); a && !a->precision.empty()) push_unique(formats, a->precision);
  std::string precision;
  for (const auto& f : formats) precision += (precision.empty() ? "" : ", ") + f;
  return {
      section(
          "Weight and activation statistics (Figure 5 in table form)",
          "The paper's Figure 5 quantities, averaged over blocks at the last analysed checkpoint: the input "
          "of attn-kqv-proj (the attention QKV projection, attn.c_attn): RMSE between X and its per-token "
          "int8 quantization, and token STD; the STD of the ln_1 gains; the spectral norm of the c_attn "
          "weight. Forward precision of the analysis: " +
              (precision.empty() ? std::string("fp32 (not recorded: analysis.json before --precision)") : precision) +
              ". Per-block values: plots/fig5_block_statistics.",
          {"attn-kqv-proj RMSE(X, X^) int8", "attn-kqv-proj token STD", "ln_1 gain STD", "c_attn spectral norm"},
          {"qkv_rmse_int8_mean", "qkv_token_std_mean", "ln_1_gain_std_mean", "qkv_spectral_norm_mean"}),
      section(
          "All-site averages (not the paper's Figure 5)",
          "Means over all four block linears (qkv, attn_proj, fc and the post-GELU mlp_proj input) and over "
          "every LayerNorm (ln_1, ln_2, ln_f); max |x| over all linear inputs.",
          {"all linears RMSE int8", "all linears token STD", "max |x|", "all LN gain STD", "all linears spectral norm"},
          {"rmse_int8_mean", "token_std_mean", "max_abs", "ln_gain_std_mean", "spectral_norm_mean"})};
}

}  // namespace

std::vector<std::string> csv_columns(const RunTree& tree) {
  std::vector<std::string> c = {"variant", "status"};
  c.insert(c.end(), tree.axes.begin(), tree.axes.end());
  for (const char* k : {"step", "recipe", "task", "metric", "higher_is_better", "pre", "post", "abs_change",
                        "rel_change_pct", "degradation_pct"})
    c.push_back(k);
  for (const auto& [column, key] : kAnalysisColumns) c.push_back(column);
  c.insert(c.end(), kRecipeColumns.begin(), kRecipeColumns.end());
  return c;
}

std::string summary_csv(const RunTree& tree) {
  std::string out;
  auto line = [&out](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + csv_field(fields[i]);
    out += "\n";
  };
  auto num = [](const std::optional<double>& x) { return x ? exact(*x) : std::string(); };
  line(csv_columns(tree));
  // The paired comparison of each variant's point with the control (final checkpoints only).
  const std::vector<Point> points = grid_points(tree);
  const bool paired = points.size() >= 2 && points.front().control;
  auto point_of = [&](const Variant& v) -> const Point* {
    for (const auto& p : points)
      if (std::find(p.variants.begin(), p.variants.end(), &v) != p.variants.end()) return &p;
    return nullptr;
  };
  for (const auto& v : tree.variants) {
    std::vector<std::string> head = {v.name, v.state()};
    for (const auto& a : tree.axes) head.push_back(axis_cell(v, a));
    if (v.evals.empty()) {
      // The variant still gets a row, so a failed or unfinished one is visible in the CSV too.
      std::vector<std::string> row = head;
      row.resize(csv_columns(tree).size());
      line(row);
      continue;
    }
    const Point* point = point_of(v);
    for (const auto& e : v.evals) {
      const PtqRecipe* pre = e.recipe("pre");
      const AnalysisResult* a = analysis_at(v, e.step);
      const bool final = &e == v.final_eval();
      for (const auto& r : e.recipes) {
        if (r.name == "pre") continue;
        // Paired columns: n_seeds, the difference and its interval, MDE80, verdict, for the held-out
        // measure, then the task mean. The control point's own rows give only n_seeds.
        std::vector<std::string> cmp(10);
        if (final && paired && point) {
          cmp[0] = std::to_string(point->variants.size());
          if (!point->control) {
            auto fill = [&](Measure m, size_t at, bool mde) {
              const ControlDifference d = difference_from_control(tree, *point, points.front(), r.name, m);
              if (d.pairs == 0) return;
              cmp[0] = std::to_string(d.pairs);
              if (d.is_failed()) {
                cmp[at + (mde ? 4 : 3)] = "failed";
                return;
              }
              cmp[at] = exact(d.diff.mean);
              cmp[at + 1] = num(d.diff.ci_low);
              cmp[at + 2] = num(d.diff.ci_high);
              if (mde) cmp[at + 3] = num(d.diff.mde80);
              cmp[at + (mde ? 4 : 3)] = d.diff.verdict();
            };
            fill(heldout_degradation, 1, true);
            fill(task_mean_degradation, 6, false);
          }
        }
        const Value held = heldout_degradation(e, r.name);
        for (const auto& t : e.tasks) {
          std::vector<std::string> row = head;
          row.insert(row.end(),
                     {std::to_string(e.step), r.name, t.name, t.metric, t.higher_is_better ? "true" : "false"});
          auto p = pre ? pre->scores.find(t.name) : std::map<std::string, double>::const_iterator();
          auto q = r.scores.find(t.name);
          auto ch = r.change.find(t.name);
          row.push_back(pre && p != pre->scores.end() ? exact(p->second) : "");
          row.push_back(q != r.scores.end() ? exact(q->second) : "");
          if (ch != r.change.end())
            row.insert(row.end(), {num(ch->second.abs), num(ch->second.rel_pct), num(ch->second.degradation_pct)});
          else
            row.insert(row.end(), {"", "", ""});
          for (const auto& [column, k] : kAnalysisColumns) {
            auto it = a ? a->summary.find(k) : std::map<std::string, double>::const_iterator();
            row.push_back(a && it != a->summary.end() ? exact(it->second) : "");
          }
          const bool task_failed = ch != r.change.end() && ch->second.failed;
          row.insert(
              row.end(),
              {task_failed ? "true" : "false", r.failed ? "true" : "false", std::to_string(r.failed_tasks.size()),
               r.weight_bits ? std::to_string(*r.weight_bits) : "", r.act_bits ? std::to_string(*r.act_bits) : "",
               num(held.x), num(held.se), num(r.mean_degradation_pct), num(r.mean_degradation_se_pct)});
          row.insert(row.end(), cmp.begin(), cmp.end());
          line(row);
        }
      }
    }
  }
  return out;
}

namespace {

// What the grid cost, from each variant's status.json: the figure users plan the next grid with.
std::optional<Section> cost_section(const RunTree& tree) {
  const std::vector<std::string> stages = {"train", "ptq", "analyze"};
  Section s;
  s.title = "Cost (CPU-seconds per stage)";
  s.text =
      "From each variant's status.json: CPU time (user + system) of each stage, the child processes "
      "included, then the variant's total and its wall time (the last row sums them: variants that ran side "
      "by side with `--jobs` overlap, so that is not the sweep's wall time). CPU time depends little on what "
      "else ran on the machine; wall time does. The machine is not recorded here: see the grid's notes.";
  s.table.header = {"variant", "train", "ptq", "analyze", "total CPU-s", "wall s"};
  s.table.numeric = {false, true, true, true, true, true};
  std::map<std::string, double> sum;
  double sum_wall = 0;
  int counted = 0;
  for (const auto& v : tree.variants) {
    if (v.stage_cpu_seconds.empty()) continue;
    ++counted;
    std::vector<std::string> row = {v.name};
    double total = 0, wall = 0;
    for (const auto& st : stages) {
      auto it = v.stage_cpu_seconds.find(st);
      row.push_back(it == v.stage_cpu_seconds.end() ? kMissing : fmt(it->second, 0));
      if (it != v.stage_cpu_seconds.end()) total += it->second, sum[st] += it->second;
    }
    for (const auto& [st, x] : v.stage_seconds) wall += x;
    sum_wall += wall;
    row.push_back(fmt(total, 0));
    row.push_back(fmt(wall, 0));
    s.table.rows.push_back(row);
  }
  if (counted == 0) return std::nullopt;
  std::vector<std::string> row = {"all " + std::to_string(counted) + " variants"};
  double total = 0;
  for (const auto& st : stages) row.push_back(fmt(sum[st], 0)), total += sum[st];
  row.push_back(fmt(total, 0));
  row.push_back(fmt(sum_wall, 0));
  s.table.rows.push_back(row);
  return s;
}

}  // namespace

std::vector<Section> summary_sections(const RunTree& tree) {
  std::vector<Section> out = {variants_section(tree)};
  if (auto m = mechanisms_section(tree)) out.push_back(std::move(*m));
  if (has_heldout(tree, final_recipes(tree))) out.push_back(recipes_section(tree, true));
  out.push_back(recipes_section(tree, false));
  for (auto& s : paired_sections(tree)) out.push_back(std::move(s));
  for (auto& s : axis_sections(tree)) out.push_back(std::move(s));
  for (auto& s : ladder_sections(tree)) out.push_back(std::move(s));
  out.push_back(table4_section(tree));
  for (auto& s : table5_sections(tree)) out.push_back(std::move(s));
  for (auto& s : analysis_sections(tree)) out.push_back(std::move(s));
  if (auto s = cost_section(tree)) out.push_back(std::move(*s));
  std::vector<std::string> problems = tree.problems;
  for (const auto& v : tree.variants)
    for (const auto& p : v.problems) problems.push_back(v.name + ": " + p);
  if (!problems.empty()) {
    Section p;
    p.title = "Problems";
    for (const auto& x : problems) p.text += "- " + x + "\n";
    p.text.pop_back();
    out.push_back(p);
  }
  return out;
}

std::string summary_markdown(const RunTree& tree, const std::string& command) {
  std::string s = "# Report: " + tree.grid + "\n\n";
  s += "Made by `" + command + "` from `" + tree.root.string() + "`";
  if (!tree.grid_file.empty()) s += " (grid file `" + tree.grid_file + "`)";
  s += ". Plots: plots/*.png (data and gnuplot scripts beside them); all of it on one page: index.html.\n\n";
  return s + to_markdown(summary_sections(tree));
}

}  // namespace nurture::report
