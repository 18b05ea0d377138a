// Reading task files into text items (the formats are documented in eval/README.md).
//
// Every structural problem in a file (invalid JSON, a missing field, a field of the wrong type,
// a label out of range, a labels file that does not line up) throws EvalError naming the file,
// the line and the field. Items that are well formed but cannot be scored (an empty passage,
// an empty choice) are kept with a `skip` reason so the run reports them instead of failing.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "eval/task_spec.h"

namespace nurture::eval {

// One lm-eval document: the (context, continuation) requests to score, in choice order.
struct TextItem {
  std::vector<std::pair<std::string, std::string>> requests;
  std::vector<std::string> choices;  // multiple choice: the choice strings acc_norm divides by
  int label = 0;                     // multiple choice: index of the correct choice
  std::string where;                 // "file:line"
  std::string skip;                  // non-empty: why this item is not scored
};

// A likelihood document.
struct TextDocument {
  std::string text;
  std::string where;
};

struct LoadedTask {
  std::vector<TextItem> items;          // last_word, multiple_choice
  std::vector<TextDocument> documents;  // likelihood
};

// Reads spec.file (and spec.labels) in spec.format for spec.kind.
LoadedTask load_task_file(const TaskSpec& spec);

// The lambada_openai split: context = text up to its last ' ', continuation = ' ' + last word.
TextItem lambada_item(const std::string& text, const std::string& where);

}  // namespace nurture::eval
