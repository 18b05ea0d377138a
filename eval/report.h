// Human- and machine-readable views of a SuiteResult (schema in eval/README.md "Output").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/runner.h"

namespace nurture::eval {

// A fixed-width table: one row per metric, task name/kind/items on the task's first row, then
// skipped-item warnings and the throughput line.
std::string format_table(const SuiteResult& r);

// {"format": "nurture-eval-v1", "suite": ..., "tasks": [{"name", "kind", "source", "items",
//  "skipped", "truncated", "nonfinite", "warnings", "metrics": {"acc": {"value", "stderr", "stderr_method",
//  "higher_is_better"}, ...}, "tokens", "seconds"}], "tokens", "seconds", "tokens_per_s"}
nlohmann::ordered_json to_json(const SuiteResult& r);

// --log-samples: one JSON line per scored item (like lm-eval's --log_samples), in suite order:
//   {"recipe": RECIPE or null, "task", "item" (index among the task's scored items), "kind",
//    "loglikelihoods": [per request: one per choice, one for a window or last word],
//    "tokens": [continuation tokens per request],
//    multiple choice: "unconditional_loglikelihoods" (mutual_info), "label", "bytes", "chars"
//      (per choice), "correct" (acc), "acc_norm", "acc_bytes", "acc_mutual_info";
//    last word: "correct" (is_greedy); likelihood: "bytes" (of the predicted tokens);
//    "truncated"}
// Non-finite log-likelihoods are written as null. `recipe` empty: null (nurture eval).
std::string samples_jsonl(const PreparedSuite& suite, const SuiteResult& r, const std::string& recipe);

}  // namespace nurture::eval
