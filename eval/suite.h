// Task suites: a YAML file listing tasks (eval/README.md "Suite files").
//
//   name: default
//   tasks:
//     - {name: heldout, kind: likelihood, source: heldout, max_tokens: 32768}
//     - {name: piqa, kind: multiple_choice, format: piqa, file: ../../datasets/piqa/valid.jsonl,
//        labels: ../../datasets/piqa/valid-labels.lst, limit: 500}
//
// Relative file paths are resolved against the suite file's directory. Every mistake (unknown
// key, bad value, duplicate name) is a one-line error that starts with "suite.yaml:LINE".
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "eval/task_spec.h"

namespace nurture::eval {

struct Suite {
  std::string name;         // `name:` or the file stem
  std::string description;  // optional
  std::filesystem::path path;
  std::vector<TaskSpec> tasks;
  bool needs_heldout() const;  // a task reads the checkpoint's held-out split
};

// `name_or_path` is a YAML file, or the name of a shipped suite ("default", "paper") looked up as
// eval/suites/<name>.yaml under the current directory, then under the source tree nurture was
// built from. Throws EvalError (or config::ConfigError for YAML syntax) with file:line.
Suite load_suite(const std::string& name_or_path);
Suite parse_suite(const std::string& yaml, const std::string& source, const std::filesystem::path& base_dir);

// Where the shipped suites live in the source tree nurture was built from.
std::filesystem::path shipped_suites_dir();

}  // namespace nurture::eval
