// libFuzzer target: the eval task-file loaders (eval::load_task_file) for every format.
//
// Input: byte 0 picks one of the task specs below (built once through parse_suite, so presets
// are applied exactly as for a user's suite); the rest is the task file. For the formats with a
// labels file, the part after the first NUL byte is the labels file. Any input must load or
// throw a one-line EvalError that starts with the file's path.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config_error.h"
#include "eval/error.h"
#include "eval/suite.h"
#include "eval/task_files.h"
#include "fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;

const fs::path& work_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("nurture-fuzz-tasks-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

const nurture::eval::Suite& suite() {
  static const nurture::eval::Suite s = nurture::eval::parse_suite(R"(name: fuzz
tasks:
  - {name: doc_file, kind: likelihood, format: text, file: task.txt, documents: file}
  - {name: doc_lines, kind: likelihood, format: text, file: task.txt, documents: lines}
  - {name: doc_paragraphs, kind: likelihood, format: text, file: task.txt, documents: paragraphs}
  - {name: doc_jsonl, kind: likelihood, format: jsonl, file: task.txt}
  - {name: lambada, kind: last_word, format: lambada, file: task.txt}
  - {name: lastword_jsonl, kind: last_word, format: jsonl, file: task.txt, text: passage}
  - {name: mc, kind: multiple_choice, format: jsonl, file: task.txt}
  - {name: mc_templates, kind: multiple_choice, format: jsonl, file: task.txt, context: "Q: {question|strip}",
     choices: ["{a}", "{b|lower}"], label: answer, label_map: {"A": 0, "B": 1}}
  - {name: mc_labels, kind: multiple_choice, format: jsonl, file: task.txt, labels: labels.lst, label_base: 1}
  - {name: piqa, kind: multiple_choice, format: piqa, file: task.txt, labels: labels.lst}
  - {name: copa, kind: multiple_choice, format: copa, file: task.txt}
  - {name: hellaswag, kind: multiple_choice, format: hellaswag, file: task.txt}
  - {name: winogrande, kind: multiple_choice, format: winogrande, file: task.txt}
)",
                                                                   "fuzz-suite.yaml", work_dir());
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nurture;
  if (size == 0) return 0;
  const auto& tasks = suite().tasks;
  const eval::TaskSpec& spec = tasks[data[0] % tasks.size()];
  std::string task(reinterpret_cast<const char*>(data + 1), size - 1), labels;
  if (!spec.labels.empty()) {
    if (const size_t nul = task.find('\0'); nul != std::string::npos) {
      labels = task.substr(nul + 1);
      task.resize(nul);
    }
    std::ofstream(spec.labels, std::ios::binary | std::ios::trunc) << labels;
  }
  std::ofstream(spec.file, std::ios::binary | std::ios::trunc) << task;
  try {
    (void)eval::load_task_file(spec);
  } catch (const eval::EvalError& e) {
    const std::string what = e.what();
    const bool labels_error = what.rfind(spec.labels.string(), 0) == 0 && !spec.labels.empty();
    fuzz::check_error_line(what, labels_error ? spec.labels.string() : spec.file.string());
  } catch (const std::exception& e) {
    fuzz::unexpected(e.what());
  }
  return 0;
}
