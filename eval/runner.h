// Running a suite: tasks are loaded, generated and tokenized once (prepare_suite), then scored
// (run_suite) as often as needed, e.g. once per PTQ recipe. Items, their order and the batching
// are fixed by the prepared suite, so two runs differ only by what the model computes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "eval/heldout.h"
#include "eval/metrics.h"
#include "eval/request.h"
#include "eval/scorer.h"
#include "eval/suite.h"
#include "model/gpt.h"

namespace nurture::eval {

using Log = std::function<void(const std::string&)>;

struct EvalOptions {
  ScoreOptions score;                // precision policy, ForwardObserver, tokens per forward
  int64_t limit = 0;                 // cap on items per task (0: the suite's own limits)
  const HeldOut* heldout = nullptr;  // needed by source: heldout / generated tasks
  Log log;                           // progress lines (may be empty)
};

// One scored document: its requests (one per choice; one for last-word items and likelihood
// windows) and what the metrics need.
struct PreparedItem {
  std::vector<Request> requests;
  std::vector<Request> unconditional;  // mutual_info: each choice after the prefix token alone
  int label = 0;              // multiple choice: the correct request
  std::vector<double> chars;  // multiple choice: choice lengths in characters (acc_norm)
  std::vector<double> bytes;  // multiple choice: choice lengths in UTF-8 bytes (acc_bytes)
  uint64_t target_bytes = 0;  // likelihood: bytes of the tokens this window predicts
};

struct PreparedTask {
  TaskSpec spec;
  std::string source;  // the file read, or the held-out split
  std::vector<PreparedItem> items;
  bool shared_context = false;        // every item's requests share one context (scored with score_shared)
  int64_t skipped = 0;                // items reported as unscorable
  std::vector<std::string> warnings;  // the first few reasons, "file:line: why"
};

struct PreparedSuite {
  std::string name;
  std::string path;
  int seq_len = 0;  // items were checked against this context length
  std::vector<PreparedTask> tasks;
};

// Loads every task (all file errors surface here, before any scoring), generates the in-domain
// task files on first use, applies offset/limit, tokenizes, and sets aside unscorable items.
PreparedSuite prepare_suite(const Suite& suite, const data::Tokenizer& tok, int seq_len, const EvalOptions& opt);

struct TaskResult {
  std::string name;
  TaskKind kind = TaskKind::likelihood;
  std::string source;
  int64_t items = 0;      // scored items (windows for likelihood)
  int64_t skipped = 0;    // unscorable items, reported in `warnings`
  int64_t truncated = 0;  // items whose context was left-truncated to seq_len
  std::vector<std::string> warnings;
  std::vector<Metric> metrics;
  std::vector<double> per_item;  // acc tasks: 1/0 correct (acc); likelihood: window log-likelihood
  // The scores behind the metrics, per item (task.items order): one Score per request (choice;
  // one for likelihood windows and last-word items), and for mutual_info the unconditional ones.
  // They let a caller recompute any metric on a resample (weighted_metric) and pair two runs
  // item by item (quant/ptq_compare.h), and are what --log-samples writes.
  std::vector<std::vector<Score>> item_scores, item_unconditional;
  // Items with a non-finite log-likelihood (an overflowed forward). Any such item makes every
  // metric of the task NaN: an argmax over NaN scores would otherwise give a plausible accuracy.
  int64_t nonfinite = 0;
  int64_t tokens = 0;            // tokens run through the model
  double seconds = 0;
  const Metric* metric(const std::string& name) const;
};

struct SuiteResult {
  std::string suite;
  std::vector<TaskResult> tasks;
  int64_t tokens = 0;
  double seconds = 0;
  double tokens_per_s() const { return seconds > 0 ? double(tokens) / seconds : 0.0; }
  const TaskResult* task(const std::string& name) const;
};

SuiteResult run_suite(model::GPT& gpt, const PreparedSuite& suite, const EvalOptions& opt = {});
// prepare_suite + run_suite.
SuiteResult run_suite(model::GPT& gpt, const data::Tokenizer& tok, const Suite& suite, const EvalOptions& opt = {});

// Scores one prepared task (with a fresh Scorer, or reusing one and its activation memory).
TaskResult run_task(model::GPT& gpt, const PreparedTask& task, const EvalOptions& opt = {});
TaskResult run_task(Scorer& scorer, const PreparedTask& task);

// The metrics, from the scores (exposed for tests and for re-aggregation):
// - likelihood (lm-eval loglikelihood_rolling): token_loss = -Σll/Σtokens, perplexity =
//   exp(token_loss), bits_per_byte = -Σll/Σbytes/ln 2; bootstrap standard errors over windows.
// - last_word (lm-eval lambada_openai): acc = is_greedy (every token of the word is the argmax),
//   perplexity = exp(-mean per-item ll); binomial / bootstrap standard errors.
// - multiple_choice (lm-eval api/task.py process_results): acc = [argmax ll == gold], acc_norm
//   divides each ll by its choice's length in characters, acc_bytes by its UTF-8 bytes; the first
//   maximum wins ties (numpy argmax). Partial scoring (one shared continuation) reports acc only.
//   With unconditional scores, acc_mutual_info = [argmax (ll − ll_unconditional) == gold]
//   (lm-eval api/task.py: the unconditional request is ("", choice)).
// One multiple-choice item's outcome under each accuracy rule (the first maximum wins ties).
struct ChoiceOutcome {
  bool acc = false, acc_norm = false, acc_bytes = false, acc_mutual_info = false;
};
ChoiceOutcome choice_outcome(const PreparedItem& item, const std::vector<Score>& scores,
                             const std::vector<Score>* unconditional = nullptr);

// The value of `metric` with item i counted w[i] times (a bootstrap resample; all ones gives the
// reported value). NaN for a metric the task does not report.
double weighted_metric(const PreparedTask& task, const TaskResult& result, const std::string& metric,
                       std::span<const uint32_t> w);
// Per-item values of a proportion metric (acc, acc_norm, acc_bytes, acc_mutual_info; those
// with stderr_method "binomial"): 1 or 0 per item. Empty for other metrics.
std::vector<double> item_outcomes(const PreparedTask& task, const TaskResult& result, const std::string& metric);

std::vector<Metric> likelihood_metrics(const std::vector<PreparedItem>& items, const std::vector<Score>& scores);
std::vector<Metric> last_word_metrics(const std::vector<Score>& scores);
std::vector<Metric> choice_metrics(const std::vector<PreparedItem>& items,
                                   const std::vector<std::vector<Score>>& scores, bool partial,
                                   std::vector<double>* correct = nullptr,
                                   const std::vector<std::vector<Score>>* unconditional = nullptr);

}  // namespace nurture::eval
