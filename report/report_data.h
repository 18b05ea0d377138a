// What `nurture report` reads from a sweep's output tree: sweep.json, each variant's
// metrics.jsonl, eval/*/ptq.json and analysis/*/analysis.json (formats: docs/OUTPUT-FORMATS.md,
// quant/README.md "Output" and "Analysis").
// Loading never stops at a missing or broken file: the gap is recorded so the report can
// show it, because one failed variant must not hide the other results of a long sweep.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nurture::report {

// One line of metrics.jsonl. Absent fields stay empty (validation lines have no `loss`,
// fp32 runs have no telemetry).
struct MetricsRecord {
  int64_t step = 0;
  std::optional<double> loss, val_loss, loss_scale, weight_grad_underflow, act_grad_underflow;
  std::optional<bool> skipped;
  // Whether the knobs acted (docs/OUTPUT-FORMATS.md "metrics.jsonl"): on log-interval records.
  std::optional<double> weight_norm_matrix, decay_factor, clipped_fraction, loss_scale_growths, loss_scale_backoffs;
  std::vector<double> ln1_gain_std;  // per block
  // On validation records: the residual stream after each block.
  std::vector<double> val_residual_max, val_residual_kurtosis;
};

struct PtqTask {
  std::string name, kind, metric;
  bool higher_is_better = true;
};

// rel_pct and degradation_pct are null in ptq.json when the baseline score is 0. A task whose
// score is not a finite number (NaN after quantization: JSON null) is failed: it has no change,
// and no mean over tasks or seeds may include it.
struct TaskChange {
  std::optional<double> abs, rel_pct, degradation_pct;
  std::optional<double> degradation_se_pct;  // nurture-ptq-v2 only
  bool failed = false;
};

struct PtqRecipe {
  std::string name, description;
  std::map<std::string, double> scores;      // finite scores only
  std::map<std::string, TaskChange> change;  // empty for "pre"
  // Empty when the recipe failed (see failed_tasks): a failure is shown, never averaged.
  std::optional<double> mean_degradation_pct;
  std::optional<double> mean_degradation_se_pct;  // nurture-ptq-v2 only
  std::optional<double> weight_bytes;
  // v2's bit widths (0 = that operand is not quantized); absent in v1, where the report does
  // not guess them from the recipe name.
  std::optional<int> weight_bits, act_bits;
  bool failed = false;
  std::vector<std::string> failed_tasks;  // in the suite's order
};

// One ptq.json (nurture-ptq-v1 or -v2): the scores of one checkpoint under every recipe.
struct PtqResult {
  std::filesystem::path file;
  int64_t step = 0;
  std::string suite, baseline;
  std::vector<PtqTask> tasks;
  std::vector<PtqRecipe> recipes;

  const PtqRecipe* recipe(const std::string& name) const;
};

struct LinearStats {
  int block = 0;
  std::string site;
  double rmse_int8 = 0, token_std = 0, input_max_abs = 0, spectral_norm = 0;
};

struct LayerNormStats {
  int block = 0;
  std::string name;
  double gain_std = 0;
};

struct OutlierStats {
  std::string rule;
  int64_t count = 0;
  double pct_sequences = 0, pct_layers = 0;
};

// One analysis.json: the paper's weight/activation statistics of one checkpoint.
// One of Figure 4's histograms (a block's attn.c_attn.weight, ln_1.weight or ln_2.weight).
struct HistogramData {
  int block = 0;
  std::string name;
  std::vector<double> edges;  // counts.size() + 1
  std::vector<double> counts;
};

struct AnalysisResult {
  std::filesystem::path file;
  int64_t step = 0;
  std::string precision;  // the forward's number format; "" in files written before --precision
  std::vector<LinearStats> linears;
  std::vector<LayerNormStats> layer_norms;
  std::map<std::string, OutlierStats> outliers;  // llm_int8, fixed, adaptive
  std::map<std::string, double> summary;         // the "summary" object's numbers
  std::vector<HistogramData> histograms;
};

struct Variant {
  std::string name;
  std::filesystem::path dir;
  std::map<std::string, std::string> axis_values;
  // sweep.json "derived": a key the run computed from a relative key (optim.weight_decay from
  // optim.paper_weight_decay) -> the value it trained with.
  std::map<std::string, std::string> derived;
  bool control = false;
  std::string status;  // from sweep.json (done|failed|pending|running), else "" (unknown)
  std::string error;   // sweep.json's error, or status.json's
  std::vector<MetricsRecord> metrics;
  std::vector<PtqResult> evals;          // sorted by step
  std::vector<AnalysisResult> analyses;  // sorted by step
  std::vector<std::string> problems;     // files that exist but could not be read
  // status.json: each stage's wall and CPU (user + system, children included) seconds.
  std::map<std::string, double> stage_seconds, stage_cpu_seconds;

  bool has_results() const { return !metrics.empty() || !evals.empty() || !analyses.empty(); }
  const PtqResult* final_eval() const { return evals.empty() ? nullptr : &evals.back(); }
  const AnalysisResult* final_analysis() const { return analyses.empty() ? nullptr : &analyses.back(); }
  // A short state for tables: the sweep status, or what is present on disk.
  std::string state() const;
};

struct RunTree {
  std::filesystem::path root;
  std::string grid;               // sweep.json "grid", else the directory name
  std::string grid_file;          // sweep.json "grid_file", if any
  std::vector<std::string> axes;  // sweep.json order, then any extra axis seen in a variant
  std::vector<Variant> variants;  // sweep.json order, then unlisted variant directories by name
  std::vector<std::string> problems;
};

// Reads the tree under `root`. `root` is either a sweep directory (sweep.json and/or variant
// subdirectories) or a single run directory (metrics.jsonl or eval/ directly inside). Throws
// std::runtime_error (one line, with a hint) when `root` is missing or holds no results at all.
RunTree load_run_tree(const std::filesystem::path& root);

// Exposed for tests: each throws std::runtime_error naming the file (and line for JSONL).
std::vector<MetricsRecord> read_metrics(const std::filesystem::path& file);
PtqResult read_ptq(const std::filesystem::path& file);
AnalysisResult read_analysis(const std::filesystem::path& file);

}  // namespace nurture::report
