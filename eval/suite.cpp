#include "eval/suite.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

#include "config/yaml_reader.h"
#include "config/yaml_source.h"
#include "eval/error.h"
#include "eval/template.h"

#ifndef NURTURE_EVAL_SUITES_DIR
#define NURTURE_EVAL_SUITES_DIR "eval/suites"
#endif

namespace nurture::eval {

namespace fs = std::filesystem;

const char* name(TaskKind k) {
  switch (k) {
    case TaskKind::likelihood: return "likelihood";
    case TaskKind::last_word: return "last_word";
    case TaskKind::multiple_choice: return "multiple_choice";
  }
  return "?";
}

const char* name(TaskSource s) {
  switch (s) {
    case TaskSource::file: return "file";
    case TaskSource::heldout: return "heldout";
    case TaskSource::generated: return "generated";
  }
  return "?";
}

bool Suite::needs_heldout() const {
  return std::any_of(tasks.begin(), tasks.end(), [](const TaskSpec& t) { return t.source != TaskSource::file; });
}

std::vector<std::string> metric_names(const TaskSpec& spec) {
  switch (spec.kind) {
    case TaskKind::likelihood: return {"token_loss", "perplexity", "bits_per_byte"};
    case TaskKind::last_word: return {"acc", "perplexity"};
    case TaskKind::multiple_choice:
      if (!spec.mc.blank.empty()) return {"acc"};
      if (spec.mutual_info) return {"acc", "acc_norm", "acc_bytes", "acc_mutual_info"};
      return {"acc", "acc_norm", "acc_bytes"};
  }
  return {};
}

std::string headline_metric(const TaskSpec& spec) {
  if (!spec.headline.empty()) return spec.headline;
  return spec.kind == TaskKind::likelihood ? "bits_per_byte" : "acc";
}

fs::path shipped_suites_dir() { return fs::path(NURTURE_EVAL_SUITES_DIR); }

namespace {

using config::joined;

// Suite mistakes are EvalErrors, like every other problem with an evaluation's inputs.
config::YamlReader suite_reader(const std::string& source) {
  return config::YamlReader(source, [](const std::string& message) { throw EvalError(message); });
}

const config::MapKeys kSuiteKeys{{"name", "description", "tasks"}, "key", " in the suite"};
const config::MapKeys kTaskKeys{
    {"name",    "kind",    "source",     "format",    "file",        "labels",           "text",  "documents",
     "context", "choices", "label",      "label_map", "label_base",  "target_delimiter", "blank", "preprocess",
     "offset",  "limit",   "max_tokens", "generator", "mutual_info", "headline"},
    "key",
    " in a task"};
const config::MapKeys kGeneratorKeys{
    {"seed", "items", "words", "min_target_chars", "context_sentences", "choices", "style"}, "key", " in generator"};

// Formats that are presets of the generic JSONL multiple-choice reader.
void apply_preset(const std::string& format, ChoiceFormat& mc) {
  if (format == "piqa") {  // lm-eval piqa.yaml: "Question: {{goal}}\nAnswer:", choices [sol1, sol2]
    mc.context = "Question: {goal}\nAnswer:";
    mc.choice_templates = {"{sol1}", "{sol2}"};
  } else if (format == "hellaswag") {  // lm-eval hellaswag/utils.py process_docs
    mc.context = "{activity_label}: {ctx_a} {ctx_b|capitalize}";
    mc.choices_field = "endings";
    mc.preprocess = "hellaswag";
  } else if (format == "winogrande") {  // lm-eval winogrande/preprocess_winogrande.py
    mc.context = "{sentence}";
    mc.choice_templates = {"{option1}", "{option2}"};
    mc.label_field = "answer";
    mc.label_map = {{"1", 0}, {"2", 1}};
    mc.blank = "_";
  }
}

TaskSpec parse_task(const config::YamlReader& R, const YAML::Node& n, const fs::path& base) {
  if (!n.IsMap()) R.fail(n, "each entry of 'tasks' must be a map with at least 'name' and 'kind'");
  R.check_keys(n, kTaskKeys);
  TaskSpec t;
  t.where = R.at(n);
  if (!n["name"]) R.fail(n, "task without 'name'");
  t.name = R.text(n["name"], "name");
  const std::string who = "task '" + t.name + "': ";
  if (t.name.empty() || t.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                            std::string::npos)
    R.fail(n["name"], "task name '" + t.name + "' must be non-empty and use only letters, digits, '_', '.', '-'");
  if (!n["kind"]) R.fail(n, who + "missing 'kind' (likelihood, last_word or multiple_choice)");
  const std::string kind = R.text(n["kind"], "kind");
  if (kind == "likelihood")
    t.kind = TaskKind::likelihood;
  else if (kind == "last_word")
    t.kind = TaskKind::last_word;
  else if (kind == "multiple_choice")
    t.kind = TaskKind::multiple_choice;
  else
    R.fail(n["kind"], who + "unknown kind '" + kind + "' (likelihood, last_word, multiple_choice)");

  // Source: explicit, or a file when 'file' is given.
  if (n["source"]) {
    const std::string s = R.text(n["source"], "source");
    if (s == "file")
      t.source = TaskSource::file;
    else if (s == "heldout")
      t.source = TaskSource::heldout;
    else if (s == "generated")
      t.source = TaskSource::generated;
    else
      R.fail(n["source"], who + "unknown source '" + s + "' (file, heldout, generated)");
  }
  if (t.source == TaskSource::heldout && t.kind != TaskKind::likelihood)
    R.fail(n["source"],
           who + "source 'heldout' is for likelihood tasks; last_word and multiple_choice use 'generated'");
  if (t.source == TaskSource::generated && t.kind == TaskKind::likelihood)
    R.fail(n["source"], who + "likelihood tasks read 'heldout' or a file, not 'generated'");
  if (t.source == TaskSource::file) {
    if (!n["file"]) R.fail(n, who + "missing 'file' (or set source: heldout / generated)");
    t.file = (base / R.text(n["file"], "file")).lexically_normal();
  } else if (n["file"]) {
    R.fail(n["file"], who + "'file' is only read with source: file");
  }

  if (t.source != TaskSource::file)
    for (const char* k : {"format", "labels", "text", "documents", "context", "choices", "label", "label_map",
                          "label_base", "target_delimiter", "blank", "preprocess"})
      if (n[k])
        R.fail(n[k], who + "'" + k + "' describes a task file; source '" + name(t.source) + "' has a fixed format");

  // Format, checked against the kind; presets first so explicit keys override them.
  const std::vector<std::string> formats =
      t.kind == TaskKind::likelihood  ? std::vector<std::string>{"text", "jsonl"}
      : t.kind == TaskKind::last_word ? std::vector<std::string>{"lambada", "jsonl"}
                                      : std::vector<std::string>{"jsonl", "piqa", "copa", "hellaswag", "winogrande"};
  t.format = formats.front();
  if (n["format"]) {
    t.format = R.text(n["format"], "format");
    if (std::find(formats.begin(), formats.end(), t.format) == formats.end())
      R.fail(n["format"], who + "format '" + t.format + "' does not fit kind " + kind + " (" + joined(formats) + ")");
  }
  if (t.source == TaskSource::generated) t.format = t.kind == TaskKind::last_word ? "lambada" : "jsonl";
  apply_preset(t.format, t.mc);
  // Generated cloze contexts keep their own trailing separator (eval/generate_tasks.h).
  if (t.source == TaskSource::generated && t.kind == TaskKind::multiple_choice) t.mc.target_delimiter = "";

  if (n["labels"]) {
    if (t.format != "piqa" && t.format != "jsonl")
      R.fail(n["labels"], who + "'labels' (a labels file) is read by the piqa and jsonl multiple-choice formats");
    t.labels = (base / R.text(n["labels"], "labels")).lexically_normal();
  }
  if (t.format == "piqa" && t.source == TaskSource::file && t.labels.empty() && !n["label"])
    R.fail(n, who + "format piqa needs 'labels' (e.g. valid-labels.lst) or a 'label' field name");
  if (n["text"]) t.text_field = R.text(n["text"], "text");
  if (n["documents"]) {
    t.documents = R.text(n["documents"], "documents");
    if (t.documents != "file" && t.documents != "lines" && t.documents != "paragraphs")
      R.fail(n["documents"], who + "'documents' must be file, lines or paragraphs");
  }
  if (n["context"]) t.mc.context = R.text(n["context"], "context");
  if (n["choices"]) {
    if (n["choices"].IsSequence()) {
      t.mc.choice_templates = R.texts(n["choices"], "choices");
      if (t.mc.choice_templates.size() < 2) R.fail(n["choices"], who + "'choices' needs at least 2 templates");
    } else {
      t.mc.choices_field = R.text(n["choices"], "choices");
      t.mc.choice_templates.clear();
    }
  }
  if (n["label"]) t.mc.label_field = R.text(n["label"], "label");
  if (n["label_map"]) {
    if (!n["label_map"].IsMap()) R.fail(n["label_map"], who + "'label_map' must map label values to choice indices");
    t.mc.label_map.clear();
    for (const auto& kv : n["label_map"])
      t.mc.label_map[R.key(kv.first)] = static_cast<int>(R.integer(kv.second, "label_map", 0));
  }
  if (n["label_base"]) t.mc.label_base = static_cast<int>(R.integer(n["label_base"], "label_base", 0));
  if (n["target_delimiter"]) t.mc.target_delimiter = R.text(n["target_delimiter"], "target_delimiter");
  if (n["blank"]) t.mc.blank = R.text(n["blank"], "blank");
  if (n["preprocess"]) {
    t.mc.preprocess = R.text(n["preprocess"], "preprocess");
    if (!t.mc.preprocess.empty() && t.mc.preprocess != "hellaswag")
      R.fail(n["preprocess"], who + "'preprocess' must be hellaswag (or empty)");
  }
  for (const std::string* tmpl : {&t.mc.context}) {
    const std::string err = check_template(*tmpl);
    if (!err.empty()) R.fail(n["context"] ? n["context"] : n, who + "context template: " + err);
  }
  for (const auto& tmpl : t.mc.choice_templates) {
    const std::string err = check_template(tmpl);
    if (!err.empty()) R.fail(n["choices"] ? n["choices"] : n, who + "choice template '" + tmpl + "': " + err);
  }
  if (n["offset"]) t.offset = R.integer(n["offset"], "offset", 0);
  if (n["limit"]) t.limit = R.integer(n["limit"], "limit", 0);
  if (n["max_tokens"]) {
    if (t.kind != TaskKind::likelihood) R.fail(n["max_tokens"], who + "'max_tokens' is for likelihood tasks");
    t.max_tokens = R.integer(n["max_tokens"], "max_tokens", 0);
  }
  if (n["mutual_info"]) {
    if (t.kind != TaskKind::multiple_choice)
      R.fail(n["mutual_info"], who + "'mutual_info' is for multiple_choice tasks");
    t.mutual_info = R.boolean(n["mutual_info"], "mutual_info");
    if (t.mutual_info && !t.mc.blank.empty())
      R.fail(n["mutual_info"], who + "'mutual_info' does not apply to partial scoring (blank)");
  }
  if (n["headline"]) {
    t.headline = R.text(n["headline"], "headline");
    const std::vector<std::string> known = metric_names(t);
    if (std::find(known.begin(), known.end(), t.headline) == known.end())
      R.fail(n["headline"],
             who + "headline metric '" + t.headline + "' is not reported by this task (" + joined(known) +
                 (t.kind == TaskKind::multiple_choice && !t.mutual_info ? "; acc_mutual_info needs mutual_info: true)"
                                                                        : ")"));
  }
  if (n["generator"]) {
    const YAML::Node g = n["generator"];
    if (t.source != TaskSource::generated) R.fail(g, who + "'generator' settings need source: generated");
    if (!g.IsMap()) R.fail(g, who + "'generator' must be a map");
    R.check_keys(g, kGeneratorKeys);
    GeneratorSpec& G = t.generator;
    if (g["seed"]) G.seed = static_cast<uint64_t>(R.integer(g["seed"], "seed", 0));
    if (g["items"]) G.items = R.integer(g["items"], "items", 1);
    if (g["words"]) G.words = static_cast<int>(R.integer(g["words"], "words", 4));
    if (g["min_target_chars"])
      G.min_target_chars = static_cast<int>(R.integer(g["min_target_chars"], "min_target_chars", 1));
    if (g["context_sentences"])
      G.context_sentences = static_cast<int>(R.integer(g["context_sentences"], "context_sentences", 1));
    if (g["choices"]) G.choices = static_cast<int>(R.integer(g["choices"], "choices", 2));
    if (g["style"]) {
      G.style = R.text(g["style"], "style");
      if (G.style != "story" && G.style != "completion")
        R.fail(g["style"], who + "generator 'style' must be story or completion");
      if (t.kind != TaskKind::multiple_choice) R.fail(g["style"], who + "generator 'style' is for multiple_choice");
    }
    // Story-cloze contexts keep their own trailing separator; completions continue after a space.
    if (t.kind == TaskKind::multiple_choice) t.mc.target_delimiter = G.style == "story" ? "" : " ";
  }
  return t;
}

}  // namespace

Suite parse_suite(const std::string& yaml, const std::string& source, const fs::path& base_dir) {
  const YAML::Node root = config::load_yaml_string(yaml, source);
  const config::YamlReader R = suite_reader(source);
  if (!root.IsMap()) R.fail(source, "a suite is a map with a 'tasks' list");
  R.check_keys(root, kSuiteKeys);
  Suite s;
  s.path = source;
  s.name = root["name"] ? R.text(root["name"], "name") : fs::path(source).stem().string();
  if (root["description"]) s.description = R.text(root["description"], "description");
  if (!root["tasks"] || !root["tasks"].IsSequence() || root["tasks"].size() == 0)
    R.fail(root["tasks"] ? root["tasks"] : root, "'tasks' must be a non-empty list");
  std::set<std::string> names;
  for (const auto& n : root["tasks"]) {
    TaskSpec t = parse_task(R, n, base_dir);
    if (!names.insert(t.name).second) R.fail(n, "duplicate task name '" + t.name + "'");
    s.tasks.push_back(std::move(t));
  }
  return s;
}

Suite load_suite(const std::string& name_or_path) {
  fs::path path = name_or_path;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    const bool bare = name_or_path.find('/') == std::string::npos && fs::path(name_or_path).extension().empty();
    const fs::path local = fs::path("eval/suites") / (name_or_path + ".yaml");
    const fs::path shipped = shipped_suites_dir() / (name_or_path + ".yaml");
    if (bare && fs::is_regular_file(local, ec))
      path = local;
    else if (bare && fs::is_regular_file(shipped, ec))
      path = shipped;
    else
      throw EvalError(name_or_path + ": no such suite file (give a YAML path, or a shipped suite name such as " +
                      "'default' or 'paper' from " + shipped_suites_dir().string() + ")");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EvalError(path.string() + ": cannot open the suite file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_suite(text, path.string(), path.parent_path());
}

}  // namespace nurture::eval
