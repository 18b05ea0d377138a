#include "experiments/report_tables.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "experiments/report_axes.h"

namespace nurture::experiments {

namespace {

const std::vector<std::string> kAnalysisColumns = {"rmse_int8_mean",   "token_std_mean",     "max_abs",
                                                   "ln_gain_std_mean", "spectral_norm_mean", "outliers_llm_int8",
                                                   "outliers_fixed",   "outliers_adaptive"};
const std::vector<std::string> kOutlierRules = {"llm_int8", "fixed", "adaptive"};

std::string opt(const std::optional<double>& v, int decimals = -1) { return v ? fmt(*v, decimals) : kMissing; }

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
  s.table.header = {"variant"};
  for (const auto& a : tree.axes) s.table.header.push_back(short_axis(a));
  for (const char* h : {"status", "steps", "train loss", "val loss", "evaluated steps", "note"})
    s.table.header.push_back(h);
  s.table.numeric.assign(s.table.header.size(), false);
  s.table.numeric[1 + tree.axes.size() + 1] = s.table.numeric[1 + tree.axes.size() + 2] =
      s.table.numeric[1 + tree.axes.size() + 3] = true;
  for (const auto& v : tree.variants) {
    std::vector<std::string> row = {v.name + (v.control ? " (control)" : "")};
    for (const auto& a : tree.axes) row.push_back(axis_cell(v, a));
    std::optional<double> loss, val;
    int64_t steps = 0;
    for (const auto& m : v.metrics) {
      if (m.loss) loss = m.loss, steps = std::max(steps, m.step);
      if (m.val_loss) val = m.val_loss;
    }
    std::string evaluated;
    for (const auto& e : v.evals) evaluated += (evaluated.empty() ? "" : ", ") + std::to_string(e.step);
    std::string note = v.error;
    for (const auto& p : v.problems) note += (note.empty() ? "" : "; ") + p;
    row.insert(row.end(), {v.state(), steps ? std::to_string(steps) : kMissing, opt(loss, 4), opt(val, 4),
                           evaluated.empty() ? kMissing : evaluated, note});
    s.table.rows.push_back(row);
  }
  return s;
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
      "\"mean degr. %\" is the mean over all tasks of the relative degradation (positive = worse than pre).";
  s.table.header = {"variant", "step", "recipe"};
  for (const auto& t : tasks) s.table.header.push_back(t.name + " (" + t.metric + (t.higher_is_better ? " ↑)" : " ↓)"));
  if (any_up) s.table.header.push_back("avg ↑");
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
      for (const auto& t : tasks) {
        auto it = r ? r->scores.find(t.name) : std::map<std::string, double>::const_iterator();
        if (!r || it == r->scores.end()) {
          row.push_back(kMissing);
          continue;
        }
        row.push_back(fmt(it->second, 4));
        if (t.higher_is_better) up_sum += it->second, ++up_n;
      }
      if (any_up) row.push_back(up_n ? fmt(up_sum / up_n, 4) : kMissing);
      row.push_back(name == "pre" ? "" : opt(r ? r->mean_degradation_pct : std::nullopt, 2));
      s.table.rows.push_back(row);
    }
  }
  return s;
}

Section recipes_section(const RunTree& tree) {
  Section s;
  s.title = "Mean % degradation of every recipe";
  s.text =
      "Mean over tasks of the relative degradation against `pre` at the last evaluated checkpoint "
      "(positive = worse).";
  std::vector<std::string> recipes;
  for (const auto& v : tree.variants)
    if (const PtqResult* e = v.final_eval())
      for (const auto& r : e->recipes)
        if (r.name != "pre") push_unique(recipes, r.name);
  s.table.header = {"variant", "step"};
  s.table.header.insert(s.table.header.end(), recipes.begin(), recipes.end());
  s.table.numeric.assign(s.table.header.size(), true);
  s.table.numeric[0] = false;
  for (const auto& v : tree.variants) {
    const PtqResult* e = v.final_eval();
    std::vector<std::string> row = {v.name, e ? std::to_string(e->step) : kMissing};
    for (const auto& name : recipes) {
      const PtqRecipe* r = e ? e->recipe(name) : nullptr;
      row.push_back(opt(r ? r->mean_degradation_pct : std::nullopt, 2));
    }
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
  // A cell holding several seeds of one point (see compare_axes) gives their mean ± standard
  // deviation, so a difference between cells can be read against the run-to-run spread.
  auto value = [&](const std::vector<const Variant*>& vs, const std::string& r, bool with_spread) {
    const auto sd = with_spread ? spread(vs, r, measure) : std::nullopt;
    return opt(measure(vs, r), digits) + (sd ? " ± " + fmt(*sd, digits) : "");
  };
  auto cell = [&](const std::vector<const Variant*>& vs, bool with_spread) {
    std::string c;
    for (const auto& r : recipes) c += (c.empty() ? "" : " / ") + value(vs, r, with_spread);
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
  Section head;
  head.title = "Mean % degradation per axis value (Figure 2 as a table)";
  head.text = comparisons.empty()
                  ? "No grid axis takes two or more values among these variants."
                  : "Each row holds the other axes fixed, so a row shows the effect of this axis alone. Cells: mean "
                    "% degradation under " +
                        which +
                        " at the last evaluated checkpoint (positive = worse); where a point was trained with several "
                        "seeds (`train.seed`), their mean ± standard deviation.";
  out.push_back(head);
  for (auto& s : axis_tables(comparisons, recipes, mean_degradation, 2, "")) out.push_back(std::move(s));

  // The same comparison on the held-out likelihood alone, when the suite has one.
  bool any = false;
  for (const auto& v : tree.variants)
    for (const auto& r : recipes) any = any || likelihood_degradation({&v}, r).has_value();
  if (comparisons.empty() || !any) return out;
  Section lik;
  lik.title = "Held-out likelihood: % degradation per axis value";
  lik.text =
      "As above, but only the suite's likelihood task (held-out bits per byte): one number from thousands of "
      "tokens, the least noisy measure at small scale, where one item of a few hundred moves a task's accuracy "
      "by a few tenths of a percent. Cells: relative change under " +
      which + " (positive = worse).";
  out.push_back(lik);
  for (auto& s : axis_tables(comparisons, recipes, likelihood_degradation, 3, " (held-out)"))
    out.push_back(std::move(s));
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

Section analysis_section(const RunTree& tree) {
  Section s;
  s.title = "Weight and activation statistics (Figure 5 in table form)";
  s.text =
      "Means over every block linear (RMSE of per-token int8 activations, token STD of the inputs, spectral "
      "norm of the weights) and every LayerNorm (gain STD), at the last analysed checkpoint.";
  s.table.header = {"variant", "step", "RMSE(X, X^) int8", "token STD", "max |x|", "LN gain STD", "spectral norm"};
  s.table.numeric = {false, true, true, true, true, true, true};
  const std::vector<std::string> keys = {"rmse_int8_mean", "token_std_mean", "max_abs", "ln_gain_std_mean",
                                         "spectral_norm_mean"};
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
}

}  // namespace

std::vector<std::string> csv_columns(const RunTree& tree) {
  std::vector<std::string> c = {"variant", "status"};
  c.insert(c.end(), tree.axes.begin(), tree.axes.end());
  for (const char* k : {"step", "recipe", "task", "metric", "higher_is_better", "pre", "post", "abs_change",
                        "rel_change_pct", "degradation_pct"})
    c.push_back(k);
  c.insert(c.end(), kAnalysisColumns.begin(), kAnalysisColumns.end());
  return c;
}

std::string summary_csv(const RunTree& tree) {
  std::string out;
  auto line = [&out](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + csv_field(fields[i]);
    out += "\n";
  };
  line(csv_columns(tree));
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
    for (const auto& e : v.evals) {
      const PtqRecipe* pre = e.recipe("pre");
      const AnalysisResult* a = analysis_at(v, e.step);
      for (const auto& r : e.recipes) {
        if (r.name == "pre") continue;
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
            row.insert(row.end(), {exact(ch->second.abs), ch->second.rel_pct ? exact(*ch->second.rel_pct) : "",
                                   ch->second.degradation_pct ? exact(*ch->second.degradation_pct) : ""});
          else
            row.insert(row.end(), {"", "", ""});
          for (const auto& k : kAnalysisColumns) {
            auto it = a ? a->summary.find(k) : std::map<std::string, double>::const_iterator();
            row.push_back(a && it != a->summary.end() ? exact(it->second) : "");
          }
          line(row);
        }
      }
    }
  }
  return out;
}

std::vector<Section> summary_sections(const RunTree& tree) {
  std::vector<Section> out = {variants_section(tree), table4_section(tree), recipes_section(tree)};
  for (auto& s : axis_sections(tree)) out.push_back(std::move(s));
  for (auto& s : table5_sections(tree)) out.push_back(std::move(s));
  out.push_back(analysis_section(tree));
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

}  // namespace nurture::experiments
