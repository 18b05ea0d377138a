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
//  "skipped", "truncated", "warnings", "metrics": {"acc": {"value", "stderr", "stderr_method",
//  "higher_is_better"}, ...}, "tokens", "seconds"}], "tokens", "seconds", "tokens_per_s"}
nlohmann::ordered_json to_json(const SuiteResult& r);

}  // namespace nurture::eval
