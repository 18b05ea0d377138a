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

// A literal '|' (as in "|x|") would split a Markdown table cell.
std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

nlohmann::ordered_json to_json(const PtqResult& r, const PtqMeta& meta) {
  nlohmann::ordered_json j;
  j["format"] = "nurture-ptq-v1";
  j["checkpoint"] = meta.checkpoint;
  j["step"] = meta.step;
  j["suite"] = r.suite;
  j["baseline"] = precision::name(r.baseline);
  j["limit"] = meta.limit;
  j["quantize_head"] = r.quantize_head;
  j["calibration_tokens"] = r.calibration_tokens;
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
    o["weight_bytes"] = rr.weight_bytes;
    o["seconds"] = rr.seconds;
    nlohmann::ordered_json scores = nlohmann::ordered_json::object(), se = nlohmann::ordered_json::object();
    for (size_t i = 0; i < r.tasks.size(); ++i) {
      scores[r.tasks[i].name] = rr.scores[i];
      se[r.tasks[i].name] = rr.stderrs[i];
    }
    o["scores"] = scores;
    o["stderr"] = se;
    if (!rr.changes.empty()) {
      nlohmann::ordered_json ch = nlohmann::ordered_json::object();
      for (size_t i = 0; i < r.tasks.size(); ++i)
        ch[r.tasks[i].name] = {{"abs", rr.changes[i].abs},
                               {"rel_pct", rr.changes[i].rel_pct},
                               {"degradation_pct", rr.changes[i].degradation_pct}};
      o["change"] = ch;
      o["mean_degradation_pct"] = rr.mean_degradation_pct;
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
      if (!rr.changes.empty()) cell += " (" + fmt("%+.2f%%", rr.changes[i].degradation_pct) + ")";
      row.push_back(cell);
    }
    rows.push_back(row);
  }
  std::vector<std::string> mean{"mean degradation %"}, bytes{"weight bytes"}, secs{"seconds"};
  for (const RecipeResult& rr : r.recipes) {
    mean.push_back(rr.changes.empty() ? "-" : fmt("%+.2f", rr.mean_degradation_pct));
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
  os << "(^ higher is better, v lower is better; in parentheses: relative degradation vs pre, positive = worse)\n";
  return os.str();
}

std::string format_markdown(const PtqResult& r, const PtqMeta& meta) {
  std::ostringstream os;
  os << "# PTQ: " << meta.checkpoint << "\n\n";
  os << "Step " << meta.step << ", suite `" << r.suite << "`, baseline " << precision::name(r.baseline)
     << (meta.limit > 0 ? ", at most " + std::to_string(meta.limit) + " items per task" : std::string())
     << (r.quantize_head ? ", lm_head quantized too" : ", lm_head in the baseline precision") << ".\n\n";
  os << "Cells: score (relative degradation vs pre in %, positive = worse).\n\n";
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
      if (!rr.changes.empty()) os << " (" << fmt("%+.2f", rr.changes[i].degradation_pct) << ")";
      os << " |";
    }
    os << "\n";
  }
  os << "| **mean degradation %** | |";
  for (const RecipeResult& rr : r.recipes)
    os << " " << (rr.changes.empty() ? "–" : "**" + fmt("%+.2f", rr.mean_degradation_pct) + "**") << " |";
  os << "\n| weight bytes | |";
  for (const RecipeResult& rr : r.recipes) os << " " << rr.weight_bytes << " |";
  os << "\n\n## Recipes\n\n| recipe | description | kernels | seconds |\n|---|---|---|---:|\n";
  for (const RecipeResult& rr : r.recipes)
    os << "| " << rr.name << " | " << md_cell(rr.description) << " | " << rr.kernels << " | " << fmt("%.1f", rr.seconds)
       << " |\n";
  if (r.calibration_tokens > 0)
    os << "\nSmoothQuant calibration: " << r.calibration_tokens << " tokens from the end of the held-out split.\n";
  return os.str();
}

}  // namespace nurture::quant
