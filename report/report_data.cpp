#include "report/report_data.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

namespace nurture::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot be read");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json parse_json_file(const fs::path& file) {
  try {
    return json::parse(read_text(file));
  } catch (const json::exception& e) {
    throw std::runtime_error(file.string() + ": not valid JSON (" + e.what() + ")");
  }
}

// Numbers in the contracts may be null (a metric that could not be computed): treat as absent.
std::optional<double> opt_num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// A list of numbers (per-block telemetry); empty when absent or not all numbers.
std::vector<double> num_list(const json& j, const char* key) {
  std::vector<double> out;
  if (!j.contains(key) || !j[key].is_array()) return out;
  for (const auto& x : j[key]) {
    if (!x.is_number()) return {};
    out.push_back(x.get<double>());
  }
  return out;
}

double num(const json& j, const char* key, const fs::path& file) {
  auto v = opt_num(j, key);
  if (!v) throw std::runtime_error(file.string() + ": missing number '" + key + "'");
  return *v;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A JSON scalar as the text a user wrote in the grid ("0.01", "fp16", "true").
std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

void check_format(const json& j, const char* expected, const fs::path& file) {
  const std::string f = str(j, "format");
  if (!f.empty() && f != expected)
    throw std::runtime_error(file.string() + ": format is '" + f + "', expected '" + expected + "'");
}

// The files of one kind under <variant>/<sub>/*/<name>, e.g. eval/step_0000600/ptq.json.
std::vector<fs::path> result_files(const fs::path& dir, const char* sub, const char* name) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir / sub, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir / sub, ec))
    if (e.is_directory() && fs::is_regular_file(e.path() / name)) out.push_back(e.path() / name);
  std::sort(out.begin(), out.end());
  return out;
}

bool looks_like_run(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "metrics.jsonl", ec) || fs::is_directory(dir / "eval", ec) ||
         fs::is_directory(dir / "analysis", ec) || fs::is_regular_file(dir / "status.json", ec);
}

void load_variant_files(Variant& v) {
  auto note = [&v](const std::exception& e) { v.problems.push_back(e.what()); };
  if (fs::is_regular_file(v.dir / "metrics.jsonl")) {
    try {
      v.metrics = read_metrics(v.dir / "metrics.jsonl");
    } catch (const std::exception& e) {
      note(e);
    }
  }
  for (const auto& f : result_files(v.dir, "eval", "ptq.json")) {
    try {
      v.evals.push_back(read_ptq(f));
    } catch (const std::exception& e) {
      note(e);
    }
  }
  for (const auto& f : result_files(v.dir, "analysis", "analysis.json")) {
    try {
      v.analyses.push_back(read_analysis(f));
    } catch (const std::exception& e) {
      note(e);
    }
  }
  std::stable_sort(v.evals.begin(), v.evals.end(), [](auto& a, auto& b) { return a.step < b.step; });
  std::stable_sort(v.analyses.begin(), v.analyses.end(), [](auto& a, auto& b) { return a.step < b.step; });
  // status.json fills in what an interrupted or hand-run sweep did not record in sweep.json.
  if (fs::is_regular_file(v.dir / "status.json")) {
    try {
      const json s = parse_json_file(v.dir / "status.json");
      if (v.error.empty()) v.error = str(s, "error");
      for (const auto& [key, into] :
           {std::pair<const char*, std::map<std::string, double>*>{"seconds", &v.stage_seconds},
            {"cpu_seconds", &v.stage_cpu_seconds}})
        if (s.contains(key) && s[key].is_object())
          for (const auto& [stage, x] : s[key].items())
            if (x.is_number()) (*into)[stage] = x.get<double>();
      if (v.status.empty() && s.contains("stages") && s["stages"].is_object())
        for (const auto& [stage, state] : s["stages"].items())
          if (state == "failed") v.status = "failed";
    } catch (const std::exception& e) {
      note(e);
    }
  }
}

}  // namespace

const PtqRecipe* PtqResult::recipe(const std::string& name) const {
  for (const auto& r : recipes)
    if (r.name == name) return &r;
  return nullptr;
}

std::string Variant::state() const {
  if (!status.empty() && status != "done") return status;
  if (evals.empty() && analyses.empty() && metrics.empty()) return status.empty() ? "no results" : status;
  if (evals.empty()) return "no ptq";
  if (analyses.empty()) return "no analysis";
  return "done";
}

std::vector<MetricsRecord> read_metrics(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot be read");
  std::vector<MetricsRecord> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception&) {
      // A run killed mid-write leaves a torn last line; anything else is a real problem.
      if (in.peek() == EOF) break;
      throw std::runtime_error(file.string() + ":" + std::to_string(n) + ": not a JSON object");
    }
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number())
      throw std::runtime_error(file.string() + ":" + std::to_string(n) + ": no numeric 'step'");
    MetricsRecord r;
    r.step = j["step"].get<int64_t>();
    r.loss = opt_num(j, "loss");
    r.val_loss = opt_num(j, "val_loss");
    r.loss_scale = opt_num(j, "loss_scale");
    r.weight_grad_underflow = opt_num(j, "weight_grad_underflow");
    r.act_grad_underflow = opt_num(j, "act_grad_underflow");
    if (j.contains("skipped") && j["skipped"].is_boolean()) r.skipped = j["skipped"].get<bool>();
    r.weight_norm_matrix = opt_num(j, "weight_norm_matrix");
    r.decay_factor = opt_num(j, "decay_factor");
    r.clipped_fraction = opt_num(j, "clipped_fraction");
    r.loss_scale_growths = opt_num(j, "loss_scale_growths");
    r.loss_scale_backoffs = opt_num(j, "loss_scale_backoffs");
    r.ln1_gain_std = num_list(j, "ln1_gain_std");
    r.val_residual_max = num_list(j, "val_residual_max");
    r.val_residual_kurtosis = num_list(j, "val_residual_kurtosis");
    out.push_back(r);
  }
  return out;
}

PtqResult read_ptq(const fs::path& file) {
  const json j = parse_json_file(file);
  const std::string format = str(j, "format");
  if (!format.empty() && format != "nurture-ptq-v1" && format != "nurture-ptq-v2")
    throw std::runtime_error(file.string() + ": format is '" + format +
                             "', expected 'nurture-ptq-v1' or 'nurture-ptq-v2'");
  PtqResult r;
  r.file = file;
  r.step = static_cast<int64_t>(num(j, "step", file));
  r.suite = str(j, "suite");
  r.baseline = str(j, "baseline");
  if (!j.contains("tasks") || !j["tasks"].is_array() || !j.contains("recipes") || !j["recipes"].is_array())
    throw std::runtime_error(file.string() + ": needs 'tasks' and 'recipes' arrays (nurture-ptq-v1/v2)");
  for (const auto& t : j["tasks"]) {
    PtqTask task{str(t, "name"), str(t, "kind"), str(t, "metric"), true};
    if (t.contains("higher_is_better") && t["higher_is_better"].is_boolean())
      task.higher_is_better = t["higher_is_better"].get<bool>();
    r.tasks.push_back(task);
  }
  auto flag = [](const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_boolean() && it->get<bool>();
  };
  auto opt_int = [](const json& o, const char* key) -> std::optional<int> {
    auto it = o.find(key);
    if (it == o.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int>();
  };
  for (const auto& jr : j["recipes"]) {
    PtqRecipe rec;
    rec.name = str(jr, "name");
    rec.description = str(jr, "description");
    rec.weight_bytes = opt_num(jr, "weight_bytes");
    rec.mean_degradation_pct = opt_num(jr, "mean_degradation_pct");
    rec.mean_degradation_se_pct = opt_num(jr, "mean_degradation_se_pct");
    rec.weight_bits = opt_int(jr, "weight_bits");
    rec.act_bits = opt_int(jr, "act_bits");
    rec.failed = flag(jr, "failed");
    if (jr.contains("failed_tasks") && jr["failed_tasks"].is_array())
      for (const auto& t : jr["failed_tasks"])
        if (t.is_string()) rec.failed_tasks.push_back(t.get<std::string>());
    // opt_num keeps finite numbers only: NaN is written as null by nlohmann_json (v1), and v2
    // writes null on purpose, so a missing score of a listed task is a failure below.
    if (jr.contains("scores") && jr["scores"].is_object())
      for (const auto& [k, v] : jr["scores"].items())
        if (v.is_number() && std::isfinite(v.get<double>())) rec.scores[k] = v.get<double>();
    if (jr.contains("change") && jr["change"].is_object())
      for (const auto& [k, v] : jr["change"].items())
        if (v.is_object())
          rec.change[k] = {opt_num(v, "abs"), opt_num(v, "rel_pct"), opt_num(v, "degradation_pct"),
                           opt_num(v, "degradation_se_pct"), flag(v, "failed")};
    r.recipes.push_back(std::move(rec));
  }
  // Older or hand-made files may lack "change": derive it from the scores the same way
  // `nurture ptq` does, so every table has the same definition of degradation. A task without a
  // finite score here or in "pre" is failed, whatever the file's own flags say.
  const PtqRecipe* pre = r.recipe("pre");
  for (auto& rec : r.recipes) {
    auto fail = [&rec](const std::string& task) {
      if (std::find(rec.failed_tasks.begin(), rec.failed_tasks.end(), task) == rec.failed_tasks.end())
        rec.failed_tasks.push_back(task);
    };
    if (rec.name == "pre") {
      for (const auto& t : r.tasks)
        if (!rec.scores.count(t.name)) fail(t.name);
      rec.failed = rec.failed || !rec.failed_tasks.empty();
      continue;
    }
    double sum = 0;
    int n = 0;
    for (const auto& t : r.tasks) {
      auto a = pre ? pre->scores.find(t.name) : std::map<std::string, double>::const_iterator();
      auto b = rec.scores.find(t.name);
      TaskChange& c = rec.change[t.name];
      if (!pre || a == pre->scores.end() || b == rec.scores.end() || c.failed) {
        c = TaskChange{};
        c.failed = true;
        fail(t.name);
        continue;
      }
      if (!c.abs) {
        c.abs = b->second - a->second;
        if (a->second != 0) {
          c.rel_pct = 100.0 * *c.abs / a->second;
          c.degradation_pct = t.higher_is_better ? -*c.rel_pct : *c.rel_pct;
        }
      }
      if (const auto& d = c.degradation_pct) {
        sum += *d;
        ++n;
      }
    }
    // failed_tasks keeps the suite's order, whatever order the file listed them in.
    std::vector<std::string> ordered;
    for (const auto& t : r.tasks)
      if (std::find(rec.failed_tasks.begin(), rec.failed_tasks.end(), t.name) != rec.failed_tasks.end())
        ordered.push_back(t.name);
    for (const auto& f : rec.failed_tasks)
      if (std::find(ordered.begin(), ordered.end(), f) == ordered.end()) ordered.push_back(f);
    rec.failed_tasks = ordered;
    rec.failed = rec.failed || !rec.failed_tasks.empty();
    if (rec.failed) {
      rec.mean_degradation_pct.reset();
      rec.mean_degradation_se_pct.reset();
    } else if (!rec.mean_degradation_pct && n > 0) {
      rec.mean_degradation_pct = sum / n;
    }
  }
  return r;
}

AnalysisResult read_analysis(const fs::path& file) {
  const json j = parse_json_file(file);
  check_format(j, "nurture-analysis-v1", file);
  AnalysisResult a;
  a.file = file;
  a.step = static_cast<int64_t>(num(j, "step", file));
  if (j.contains("linears") && j["linears"].is_array())
    for (const auto& l : j["linears"]) {
      LinearStats s;
      s.block = l.value("block", 0);
      s.site = str(l, "site");
      if (l.contains("input")) {
        s.rmse_int8 = opt_num(l["input"], "rmse_int8").value_or(0);
        s.token_std = opt_num(l["input"], "token_std").value_or(0);
        s.input_max_abs = opt_num(l["input"], "max_abs").value_or(0);
      }
      if (l.contains("weight")) s.spectral_norm = opt_num(l["weight"], "spectral_norm").value_or(0);
      a.linears.push_back(s);
    }
  if (j.contains("layer_norms") && j["layer_norms"].is_array())
    for (const auto& n : j["layer_norms"])
      a.layer_norms.push_back({n.value("block", 0), str(n, "name"), opt_num(n, "gain_std").value_or(0)});
  if (j.contains("outliers") && j["outliers"].is_object())
    for (const auto& [rule, o] : j["outliers"].items()) {
      OutlierStats s;
      s.rule = str(o, "rule");
      s.count = static_cast<int64_t>(opt_num(o, "count").value_or(0));
      s.pct_sequences = opt_num(o, "pct_sequences").value_or(0);
      s.pct_layers = opt_num(o, "pct_layers").value_or(0);
      a.outliers[rule] = s;
    }
  if (j.contains("summary") && j["summary"].is_object())
    for (const auto& [k, v] : j["summary"].items())
      if (v.is_number()) a.summary[k] = v.get<double>();
  // Files written before the Figure 5 summary keys existed: the same means from the per-block
  // entries, so every report shows the paper's quantities, not the all-site averages.
  auto fill = [&a](const char* key, const std::vector<double>& xs) {
    if (a.summary.count(key) || xs.empty()) return;
    double sum = 0;
    for (double x : xs) sum += x;
    a.summary[key] = sum / double(xs.size());
  };
  std::vector<double> rmse, tstd, spec, ln1;
  for (const auto& l : a.linears)
    if (l.site == "qkv") rmse.push_back(l.rmse_int8), tstd.push_back(l.token_std), spec.push_back(l.spectral_norm);
  for (const auto& n : a.layer_norms)
    if (n.name == "ln_1") ln1.push_back(n.gain_std);
  fill("qkv_rmse_int8_mean", rmse);
  fill("qkv_token_std_mean", tstd);
  fill("qkv_spectral_norm_mean", spec);
  fill("ln_1_gain_std_mean", ln1);
  a.precision = str(j, "precision");
  if (j.contains("histograms") && j["histograms"].is_array())
    for (const auto& h : j["histograms"]) {
      HistogramData d;
      d.block = h.value("block", 0);
      d.name = str(h, "name");
      if (h.contains("edges") && h["edges"].is_array())
        for (const auto& x : h["edges"]) d.edges.push_back(x.is_number() ? x.get<double>() : 0.0);
      if (h.contains("counts") && h["counts"].is_array())
        for (const auto& x : h["counts"]) d.counts.push_back(x.is_number() ? x.get<double>() : 0.0);
      // A histogram whose edges do not bracket its counts cannot be drawn: leave it out.
      if (!d.counts.empty() && d.edges.size() == d.counts.size() + 1) a.histograms.push_back(std::move(d));
    }
  return a;
}

RunTree load_run_tree(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw std::runtime_error(root.string() +
                             ": no such directory (pass the runs/<grid> directory written by nurture sweep)");
  RunTree t;
  t.root = root;
  t.grid = fs::absolute(root).lexically_normal().filename().string();
  if (t.grid.empty()) t.grid = fs::absolute(root).lexically_normal().parent_path().filename().string();
  std::set<std::string> listed;
  const fs::path sweep = root / "sweep.json";
  if (fs::is_regular_file(sweep)) {
    try {
      const json j = parse_json_file(sweep);
      check_format(j, "nurture-sweep-v1", sweep);
      if (!str(j, "grid").empty()) t.grid = str(j, "grid");
      t.grid_file = str(j, "grid_file");
      if (j.contains("axes") && j["axes"].is_array())
        for (const auto& a : j["axes"]) t.axes.push_back(scalar_text(a));
      if (j.contains("variants") && j["variants"].is_array())
        for (const auto& jv : j["variants"]) {
          Variant v;
          v.name = str(jv, "name");
          if (v.name.empty()) continue;
          v.dir = root / (str(jv, "dir").empty() ? v.name : str(jv, "dir"));
          if (jv.contains("axis_values") && jv["axis_values"].is_object())
            for (const auto& [k, val] : jv["axis_values"].items()) v.axis_values[k] = scalar_text(val);
          if (jv.contains("derived") && jv["derived"].is_object())
            for (const auto& [k, d] : jv["derived"].items())
              if (d.is_object() && d.contains("value")) v.derived[k] = scalar_text(d["value"]);
          v.control = jv.value("control", false);
          v.status = str(jv, "status");
          v.error = str(jv, "error");
          listed.insert(v.dir.filename().string());
          t.variants.push_back(std::move(v));
        }
    } catch (const std::exception& e) {
      t.problems.push_back(e.what());
    }
  }
  if (t.variants.empty() && looks_like_run(root)) {
    // A single run directory (nurture train + ptq + analyze by hand) is a one-variant report.
    Variant v;
    v.name = t.grid;
    v.dir = root;
    t.variants.push_back(std::move(v));
  } else {
    std::vector<fs::path> extra;
    for (const auto& e : fs::directory_iterator(root, ec))
      if (e.is_directory() && !listed.count(e.path().filename().string()) && looks_like_run(e.path()))
        extra.push_back(e.path());
    std::sort(extra.begin(), extra.end());
    for (const auto& d : extra) {
      Variant v;
      v.name = d.filename().string();
      v.dir = d;
      t.variants.push_back(std::move(v));
    }
  }
  bool any = false;
  for (auto& v : t.variants) {
    load_variant_files(v);
    any = any || v.has_results() || v.status == "failed" || !v.problems.empty();
    for (const auto& [axis, value] : v.axis_values)
      if (std::find(t.axes.begin(), t.axes.end(), axis) == t.axes.end()) t.axes.push_back(axis);
  }
  if (!any) {
    std::string why = t.problems.empty() ? "" : " (" + t.problems.front() + ")";
    throw std::runtime_error(root.string() +
                             ": no results to report: no variant has metrics.jsonl, eval/*/ptq.json or "
                             "analysis/*/analysis.json" +
                             why + "; run nurture sweep GRID.yaml (or nurture ptq / nurture analyze) first");
  }
  return t;
}

}  // namespace nurture::report
