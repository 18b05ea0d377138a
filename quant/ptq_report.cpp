#include "quant/ptq_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace nurture::quant {

namespace {

std::string fmt(const char* f, double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string score_str(const PtqTask&, double v) { return fmt("%.4f", v); }

// A JSON number, or null for NaN/inf (JSON has no NaN; a failed change is null, never a number).
nlohmann::ordered_json num(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); }

// "FAILED (2/5 tasks)" for a recipe with failed tasks.
std::string failed_str(const RecipeResult& rr, size_t tasks) {
  return "FAILED (" + std::to_string(rr.failed_tasks.size()) + "/" + std::to_string(tasks) + " tasks)";
}

// Two decimals, or two significant digits below 0.1 (a change of 0.004% is not "+0.00").
std::string pct(double v, bool sign) {
  if (!std::isfinite(v)) return "n/a";
  if (v == 0 || std::fabs(v) >= 0.1) return fmt(sign ? "%+.2f" : "%.2f", v);
  return fmt(sign ? "%+.2g" : "%.2g", v);
}

// "+1.23 ± 0.45" (a degradation and its paired standard error), or "FAILED".
std::string change_str(const Change& c, const char* unit) {
  if (c.failed) return "FAILED";
  std::string out = pct(c.degradation_pct, true) + (std::isfinite(c.degradation_pct) ? unit : "");
  if (std::isfinite(c.degradation_pct) && std::isfinite(c.degradation_se_pct))
    out += " ± " + pct(c.degradation_se_pct, false);
  return out;
}

std::string mean_str(const RecipeResult& rr, size_t tasks) {
  if (rr.changes.empty()) return rr.failed ? failed_str(rr, tasks) : "-";
  if (rr.failed) return failed_str(rr, tasks);
  std::string out = pct(rr.mean_degradation_pct, true);
  if (std::isfinite(rr.mean_degradation_pct) && std::isfinite(rr.mean_degradation_se_pct))
    out += " ± " + pct(rr.mean_degradation_se_pct, false);
  return out;
}

// A literal '|' (as in "|x|") would split a Markdown table cell.
std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

nlohmann::ordered_json to_json(const PtqResult& r, const PtqMeta& meta) {
  nlohmann::ordered_json j;
  j["format"] = "nurture-ptq-v2";
  j["checkpoint"] = meta.checkpoint;
  j["step"] = meta.step;
  j["suite"] = r.suite;
  j["baseline"] = precision::name(r.baseline);
  j["limit"] = meta.limit;
  j["quantize_head"] = r.quantize_head;
  j["calibration_tokens"] = r.calibration_tokens;
  j["paired_se"] = {
      {"accuracy",
       "per-item paired differences: sd(post_i - pre_i)/sqrt(n); relative change by the delta method"},
      {"likelihood", "paired bootstrap over items (windows), B=" + std::to_string(kPairedBootstrapResamples) +
                         ", seed=" + std::to_string(kPairedBootstrapSeed) +
                         ": sd of post(w) - pre(w) and of the relative change over the same resamples"},
      {"mean", "sqrt(sum of task se^2)/n over the tasks in the mean (tasks independent)"}};
  j["activation_calibration"] = {
      {"used", r.static_act_scales},
      {"scope", "per-tensor activation recipes: one static scale per linear input"},
      {"rule", "absmax"},
      {"scale", "max|x| over the calibration tokens / (2^(bits-1) - 1)"},
      {"source", "held-out split, windows of seq_len from its end (the heldout task scores its beginning)"},
      {"sequences", r.static_act_scales ? r.calibration_sequences : 0},
      {"tokens", r.static_act_scales ? r.calibration_tokens : 0}};
  j["tasks"] = nlohmann::ordered_json::array();
  for (const PtqTask& t : r.tasks)
    j["tasks"].push_back(
        {{"name", t.name}, {"kind", t.kind}, {"metric", t.metric}, {"higher_is_better", t.higher_is_better}});
  j["recipes"] = nlohmann::ordered_json::array();
  for (const RecipeResult& rr : r.recipes) {
    nlohmann::ordered_json o;
    o["name"] = rr.name;
    o["description"] = rr.description;
    o["kernels"] = rr.kernels;
    o["weight_bits"] = rr.weight_bits;
    o["act_bits"] = rr.act_bits;
    o["weight_granularity"] = rr.weight_granularity;
    o["act_granularity"] = rr.act_granularity;
    o["failed"] = rr.failed;
    o["failed_tasks"] = rr.failed_tasks;
    o["weight_bytes"] = rr.weight_bytes;
    o["seconds"] = rr.seconds;
    nlohmann::ordered_json scores = nlohmann::ordered_json::object(), se = nlohmann::ordered_json::object();
    for (size_t i = 0; i < r.tasks.size(); ++i) {
      scores[r.tasks[i].name] = num(rr.scores[i]);
      se[r.tasks[i].name] = num(rr.stderrs[i]);
    }
    o["scores"] = scores;
    o["stderr"] = se;
    if (!rr.changes.empty()) {
      nlohmann::ordered_json ch = nlohmann::ordered_json::object();
      for (size_t i = 0; i < r.tasks.size(); ++i)
        ch[r.tasks[i].name] = {{"abs", num(rr.changes[i].abs)},
                               {"abs_se", num(rr.changes[i].abs_se)},
                               {"rel_pct", num(rr.changes[i].rel_pct)},
                               {"degradation_pct", num(rr.changes[i].degradation_pct)},
                               {"degradation_se_pct", num(rr.changes[i].degradation_se_pct)},
                               {"failed", rr.changes[i].failed}};
      o["change"] = ch;
      o["mean_degradation_pct"] = num(rr.mean_degradation_pct);
      o["mean_degradation_se_pct"] = num(rr.mean_degradation_se_pct);
    }
    if (rr.llm_int8_calls >= 0)
      o["llm_int8"] = {{"linear_calls", rr.llm_int8_calls}, {"outlier_columns", rr.llm_int8_outlier_columns}};
    j["recipes"].push_back(o);
  }
  return j;
}

std::string format_table(const PtqResult& r) {
  // Column 0: task and metric; then one column per recipe.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head{"task / metric"};
  for (const RecipeResult& rr : r.recipes) head.push_back(rr.name);
  rows.push_back(head);
  for (size_t i = 0; i < r.tasks.size(); ++i) {
    const PtqTask& t = r.tasks[i];
    std::vector<std::string> row{t.name + " " + t.metric + (t.higher_is_better ? " ^" : " v")};
    for (const RecipeResult& rr : r.recipes) {
      std::string cell = score_str(t, rr.scores[i]);
      if (!rr.changes.empty()) cell += " (" + change_str(rr.changes[i], "%") + ")";
      row.push_back(cell);
    }
    rows.push_back(row);
  }
  std::vector<std::string> mean{"mean degradation %"}, bytes{"weight bytes"}, secs{"seconds"};
  for (const RecipeResult& rr : r.recipes) {
    mean.push_back(mean_str(rr, r.tasks.size()));
    bytes.push_back(std::to_string(rr.weight_bytes));
    secs.push_back(fmt("%.1f", rr.seconds));
  }
  rows.push_back(mean);
  rows.push_back(bytes);
  rows.push_back(secs);
  std::vector<size_t> width(head.size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::ostringstream os;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c == 0) {
        os << row[c] << std::string(width[c] - row[c].size(), ' ');
      } else {
        os << "  " << std::string(width[c] - row[c].size(), ' ') << row[c];
      }
    }
    os << "\n";
  }
  os << "(^ higher is better, v lower is better; in parentheses: relative degradation vs pre, positive = worse,\n"
        " ± the standard error of the paired difference; FAILED: a non-finite score before or after)\n";
  for (const RecipeResult& rr : r.recipes)
    if (rr.failed) {
      std::string names;
      for (const std::string& t : rr.failed_tasks) names += (names.empty() ? "" : ", ") + t;
      os << rr.name << ": failed tasks: " << names << "\n";
    }
  return os.str();
}

std::string format_markdown(const PtqResult& r, const PtqMeta& meta) {
  std::ostringstream os;
  os << "# PTQ: " << meta.checkpoint << "\n\n";
  os << "Step " << meta.step << ", suite `" << r.suite << "`, baseline " << precision::name(r.baseline)
     << (meta.limit > 0 ? ", at most " + std::to_string(meta.limit) + " items per task" : std::string())
     << (r.quantize_head ? ", lm_head quantized too" : ", lm_head in the baseline precision") << ".\n\n";
  os << "Cells: score (relative degradation vs pre in %, positive = worse, ± the standard error of the paired "
        "difference). FAILED: the score is not finite before or after quantization (an overflow); a recipe with a "
        "failed task has no mean degradation.\n\n";
  os << "| task | metric |";
  for (const RecipeResult& rr : r.recipes) os << " " << rr.name << " |";
  os << "\n|---|---|";
  for (size_t k = 0; k < r.recipes.size(); ++k) os << "---:|";
  os << "\n";
  for (size_t i = 0; i < r.tasks.size(); ++i) {
    const PtqTask& t = r.tasks[i];
    os << "| " << t.name << " | " << t.metric << (t.higher_is_better ? " ↑" : " ↓") << " |";
    for (const RecipeResult& rr : r.recipes) {
      os << " " << score_str(t, rr.scores[i]);
      if (!rr.changes.empty()) os << " (" << change_str(rr.changes[i], "") << ")";
      os << " |";
    }
    os << "\n";
  }
  os << "| **mean degradation %** | |";
  for (const RecipeResult& rr : r.recipes)
    os << " " << (rr.changes.empty() && !rr.failed ? "–" : "**" + mean_str(rr, r.tasks.size()) + "**") << " |";
  os << "\n| weight bytes | |";
  for (const RecipeResult& rr : r.recipes) os << " " << rr.weight_bytes << " |";
  os << "\n\n## Recipes\n\n| recipe | description | weight bits | act bits | kernels | seconds | failed tasks |\n"
        "|---|---|---:|---:|---|---:|---|\n";
  for (const RecipeResult& rr : r.recipes) {
    std::string names;
    for (const std::string& t : rr.failed_tasks) names += (names.empty() ? "" : ", ") + t;
    os << "| " << rr.name << " | " << md_cell(rr.description) << " | " << rr.weight_bits << " (" << rr.weight_granularity
       << ") | " << rr.act_bits << " (" << rr.act_granularity << ") | " << rr.kernels << " | " << fmt("%.1f", rr.seconds)
       << " | " << (names.empty() ? "–" : names) << " |\n";
  }
  if (r.calibration_tokens > 0)
    os << "\nCalibration (SmoothQuant, static per-tensor activation scales = max |x| per linear input): "
       << r.calibration_tokens << " tokens from the end of the held-out split.\n";
  os << "\nStandard errors are of the paired difference (the same items before and after): per-item differences "
        "for accuracies (delta method for the relative change), a paired bootstrap over items ("
     << kPairedBootstrapResamples << " resamples, seed " << kPairedBootstrapSeed
     << ") for likelihood metrics; the mean's is sqrt(sum se^2)/n.\n";
  return os.str();
}

}  // namespace nurture::quant
