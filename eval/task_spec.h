// What a suite says about each task: kind, where its items come from, how to read them, limits.
// Parsed from suite YAML (eval/suite.h); documented in eval/README.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nurture::eval {

enum class TaskKind { likelihood, last_word, multiple_choice };
const char* name(TaskKind k);

enum class TaskSource {
  file,       // a task file (any format below)
  heldout,    // likelihood: the checkpoint's held-out split of its training corpus
  generated,  // last_word / multiple_choice: built once from the held-out split and cached
};
const char* name(TaskSource s);

// How a JSONL multiple-choice file maps to (context, choices, label). The defaults read the
// generic format {"context": ..., "choices": [...], "label": k}; presets (piqa, hellaswag,
// winogrande) are just other values of these fields.
struct ChoiceFormat {
  std::string context = "{context}";          // template: {field}, {field|filter|...}, {{ and }} for braces
  std::string choices_field = "choices";      // a field holding a list of strings ...
  std::vector<std::string> choice_templates;  // ... or one template per choice (wins when non-empty)
  std::string label_field = "label";          // integer (or digit string) index of the correct choice
  std::map<std::string, int> label_map;       // optional: label value (as text) → index, e.g. {"1": 0, "2": 1}
  int label_base = 0;                         // subtracted from numeric labels (1 for 1-based files)
  std::string target_delimiter = " ";         // between context and each choice (lm-eval default)
  std::string blank;                          // non-empty: partial scoring (WinoGrande) on this blank marker
  std::string preprocess;                     // "" or "hellaswag" (lm-eval hellaswag/utils.py preprocess)
};

// Settings of the generated in-domain tasks (eval/generate_tasks.h). Part of the cache key.
struct GeneratorSpec {
  uint64_t seed = 1234;
  int64_t items = 400;          // at most this many items (fewer if the held-out text is short)
  int words = 48;               // last_word: words per passage, target included
  int min_target_chars = 3;     // last_word: shortest target word
  int context_sentences = 4;    // multiple_choice: whole sentences of context before the ending
  int choices = 4;              // multiple_choice: true ending + (choices - 1) distractors
  std::string style = "story";  // multiple_choice: "story" (next sentence) or "completion" (rest of a sentence)
};

struct TaskSpec {
  std::string name;
  TaskKind kind = TaskKind::likelihood;
  TaskSource source = TaskSource::file;
  std::string format;               // likelihood: text|jsonl; last_word: lambada|jsonl; multiple_choice:
                                    // jsonl|piqa|copa|hellaswag|winogrande
  std::filesystem::path file;       // resolved against the suite file's directory
  std::filesystem::path labels;     // piqa: one label per line, lined up with `file`
  std::string text_field = "text";  // jsonl likelihood/last_word: the field holding the text
  std::string documents = "file";   // text likelihood: file | lines | paragraphs
  ChoiceFormat mc;
  int64_t offset = 0;      // skip this many items first
  int64_t limit = 0;       // then keep at most this many (0: all); likelihood counts windows
  int64_t max_tokens = 0;  // likelihood: score at most this many tokens of each source (0: all)
  GeneratorSpec generator;
  // multiple_choice: also score each choice after an empty context and report lm-eval's
  // acc_mutual_info = [argmax (ll(choice | context) − ll(choice)) = gold]. Costs ~2× the tokens.
  bool mutual_info = false;
  // The metric PTQ and reports compare before and after quantization ("" = headline_metric's
  // default for the kind).
  std::string headline;
  std::string where;  // "suite.yaml:12", for messages
};

// The metric a task is judged by: spec.headline, else acc (multiple_choice, last_word) or
// bits_per_byte (likelihood).
std::string headline_metric(const TaskSpec& spec);
// The metrics a task of this spec reports, in output order.
std::vector<std::string> metric_names(const TaskSpec& spec);

}  // namespace nurture::eval
