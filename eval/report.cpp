#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nurture::eval {

namespace {
std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// Four significant digits for small values, two decimals for large ones (perplexities).
std::string number(double v) {
  if (!std::isfinite(v)) return "nan";
  const double a = std::fabs(v);
  if (a >= 1e6) return fmt("%.3g", v);
  if (a >= 1000) return fmt("%.1f", v);
  if (a >= 10) return fmt("%.2f", v);
  return fmt("%.4f", v);
}

std::string pad(std::string s, size_t w, bool right = false) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

nlohmann::ordered_json num(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); }
}  // namespace

std::string format_table(const SuiteResult& r) {
  size_t wn = 4;
  for (const TaskResult& t : r.tasks) wn = std::max(wn, t.name.size());
  std::string out = pad("task", wn) + "  " + pad("kind", 15) + "  " + pad("items", 6, true) + "  " + pad("metric", 15) +
                    "  " + pad("value", 9, true) + "  " + pad("stderr", 9, true) + "\n";
  for (const TaskResult& t : r.tasks) {
    bool first = true;
    for (const Metric& m : t.metrics) {
      out += pad(first ? t.name : "", wn) + "  " + pad(first ? name(t.kind) : "", 15) + "  " +
             pad(first ? std::to_string(t.items) : "", 6, true) + "  " + pad(m.name, 15) + "  " +
             pad(number(m.value), 9, true) + "  " + pad(number(m.stderr_), 9, true) + "\n";
      first = false;
    }
    if (t.metrics.empty()) out += pad(t.name, wn) + "  " + pad(name(t.kind), 15) + "  " + pad("0", 6, true) + "\n";
  }
  for (const TaskResult& t : r.tasks) {
    if (t.skipped)
      out += "note: " + t.name + ": " + std::to_string(t.skipped) + " item(s) skipped, e.g. " +
             (t.warnings.empty() ? std::string("?") : t.warnings[0]) + "\n";
    if (t.nonfinite)
      out += "note: " + t.name + ": " + std::to_string(t.nonfinite) +
             " item(s) had a non-finite log-likelihood (an overflowed forward); the task's metrics are nan\n";
    if (t.truncated)
      out += "note: " + t.name + ": " + std::to_string(t.truncated) +
             " item(s) had their context left-truncated to the model's seq_len\n";
  }
  out += "evaluated " + std::to_string(r.tokens) + " tokens in " + fmt("%.2f", r.seconds) + " s (" +
         fmt("%.0f", r.tokens_per_s()) + " tokens/s)\n";
  return out;
}

nlohmann::ordered_json to_json(const SuiteResult& r) {
  nlohmann::ordered_json j;
  j["format"] = "nurture-eval-v1";
  j["suite"] = r.suite;
  j["tasks"] = nlohmann::ordered_json::array();
  for (const TaskResult& t : r.tasks) {
    nlohmann::ordered_json x;
    x["name"] = t.name;
    x["kind"] = name(t.kind);
    x["source"] = t.source;
    x["items"] = t.items;
    x["skipped"] = t.skipped;
    x["truncated"] = t.truncated;
    x["nonfinite"] = t.nonfinite;
    x["warnings"] = t.warnings;
    x["metrics"] = nlohmann::ordered_json::object();
    for (const Metric& m : t.metrics)
      x["metrics"][m.name] = {{"value", num(m.value)},
                              {"stderr", num(m.stderr_)},
                              {"stderr_method", m.stderr_method},
                              {"higher_is_better", m.higher_is_better}};
    x["tokens"] = t.tokens;
    x["seconds"] = t.seconds;
    j["tasks"].push_back(std::move(x));
  }
  j["tokens"] = r.tokens;
  j["seconds"] = r.seconds;
  j["tokens_per_s"] = r.tokens_per_s();
  return j;
}

std::string samples_jsonl(const PreparedSuite& suite, const SuiteResult& r, const std::string& recipe) {
  std::string out;
  auto lls = [](const std::vector<Score>& v) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const Score& x : v) a.push_back(num(x.logprob));
    return a;
  };
  for (const PreparedTask& task : suite.tasks) {
    const TaskResult* t = r.task(task.spec.name);
    if (!t) continue;
    for (size_t i = 0; i < t->item_scores.size() && i < task.items.size(); ++i) {
      const PreparedItem& it = task.items[i];
      const std::vector<Score>& sc = t->item_scores[i];
      nlohmann::ordered_json x;
      x["recipe"] = recipe.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(recipe);
      x["task"] = task.spec.name;
      x["item"] = i;
      x["kind"] = name(task.spec.kind);
      x["loglikelihoods"] = lls(sc);
      nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
      for (const Score& s : sc) tokens.push_back(s.tokens);
      x["tokens"] = tokens;
      if (task.spec.kind == TaskKind::multiple_choice) {
        const std::vector<Score>* un = i < t->item_unconditional.size() ? &t->item_unconditional[i] : nullptr;
        if (un) x["unconditional_loglikelihoods"] = lls(*un);
        x["label"] = it.label;
        x["bytes"] = it.bytes;
        x["chars"] = it.chars;
        const ChoiceOutcome o = choice_outcome(it, sc, un);
        x["correct"] = o.acc;
        x["acc_norm"] = o.acc_norm;
        x["acc_bytes"] = o.acc_bytes;
        if (un) x["acc_mutual_info"] = o.acc_mutual_info;
      } else if (task.spec.kind == TaskKind::last_word) {
        x["correct"] = sc[0].greedy;
      } else {
        x["bytes"] = it.target_bytes;
      }
      x["truncated"] = std::any_of(sc.begin(), sc.end(), [](const Score& s) { return s.truncated; });
      out += x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
  }
  return out;
}

}  // namespace nurture::eval
