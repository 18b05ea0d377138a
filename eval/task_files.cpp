#include "eval/task_files.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eval/error.h"
#include "eval/template.h"

namespace nurture::eval {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_all(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EvalError(path.string() + ": cannot open " + what + " (check the path in the suite)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct JsonLine {
  json value;
  std::string where;
};

// Calls fn(line_number, line) for every line of text (1-based numbers, a trailing \r dropped).
template <class Fn>
void for_each_line(const std::string& text, Fn&& fn) {
  size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string s = text.substr(pos, end - pos);
    pos = end + 1;
    if (!s.empty() && s.back() == '\r') s.pop_back();
    fn(++line, s);
  }
}

// Non-blank lines of a JSONL file, each a JSON object.
std::vector<JsonLine> read_jsonl(const fs::path& path) {
  const std::string text = read_all(path, "task file");
  std::vector<JsonLine> out;
  for_each_line(text, [&](int line, const std::string& s) {
    if (s.find_first_not_of(" \t") == std::string::npos) return;
    const std::string where = path.string() + ":" + std::to_string(line);
    json v;
    try {
      v = json::parse(s);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers beyond double
      std::string msg = e.what();
      const size_t colon = msg.rfind(": ");
      throw EvalError(where + ": invalid JSON (" + (colon == std::string::npos ? msg : msg.substr(colon + 2)) + ")");
    }
    if (!v.is_object()) throw EvalError(where + ": expected a JSON object, got " + std::string(v.type_name()));
    out.push_back({std::move(v), where});
  });
  return out;
}

const json& field(const JsonLine& l, const std::string& name) {
  auto it = l.value.find(name);
  if (it == l.value.end()) throw EvalError(l.where + ": field '" + name + "': missing");
  return *it;
}

std::string string_field(const JsonLine& l, const std::string& name) {
  const json& v = field(l, name);
  if (!v.is_string()) throw EvalError(l.where + ": field '" + name + "': expected a string, got " + v.type_name());
  return v.get<std::string>();
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// A label value as text: strings as they are, integers printed.
std::string label_text(const json& v, const std::string& where, const std::string& name) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  throw EvalError(where + ": field '" + name + "': expected an integer or a string label, got " + v.type_name());
}

int resolve_label(const std::string& text, const ChoiceFormat& f, size_t n_choices, const std::string& where,
                  const std::string& name) {
  int idx = -1;
  if (!f.label_map.empty()) {
    auto it = f.label_map.find(text);
    if (it == f.label_map.end())
      throw EvalError(where + ": field '" + name + "': label '" + text + "' is not in label_map");
    idx = it->second;
  } else {
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      throw EvalError(where + ": field '" + name + "': label '" + text +
                      "' is not an integer (set label_map for text labels)");
    idx = static_cast<int>(v) - f.label_base;
  }
  if (idx < 0 || idx >= static_cast<int>(n_choices))
    throw EvalError(where + ": field '" + name + "': label " + text + " is out of range for " +
                    std::to_string(n_choices) + " choices" +
                    (f.label_base ? " (label_base " + std::to_string(f.label_base) + ")" : ""));
  return idx;
}

// A labels file (PIQA's valid-labels.lst): one label per line, lined up with the JSONL records.
std::vector<std::pair<std::string, std::string>> read_labels(const fs::path& path) {
  const std::string text = read_all(path, "labels file");
  std::vector<std::pair<std::string, std::string>> out;  // (label, where)
  std::istringstream in(text);
  std::string s;
  int line = 0;
  while (std::getline(in, s)) {
    ++line;
    if (!s.empty() && s.back() == '\r') s.pop_back();
    const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    if (b == std::string::npos) {
      if (in.peek() == EOF) break;  // trailing empty line
      throw EvalError(path.string() + ":" + std::to_string(line) + ": empty label line");
    }
    out.emplace_back(s.substr(b, e - b + 1), path.string() + ":" + std::to_string(line));
  }
  return out;
}

LoadedTask load_multiple_choice(const TaskSpec& spec) {
  const ChoiceFormat& f = spec.mc;
  const std::vector<JsonLine> lines = read_jsonl(spec.file);
  std::vector<std::pair<std::string, std::string>> labels;
  if (!spec.labels.empty()) {
    labels = read_labels(spec.labels);
    if (labels.size() != lines.size())
      throw EvalError(spec.labels.string() + ": " + std::to_string(labels.size()) + " labels for " +
                      std::to_string(lines.size()) + " records in " + spec.file.string() +
                      " (the files must line up one to one)");
  }
  LoadedTask out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const JsonLine& l = lines[i];
    TextItem it;
    it.where = l.where;
    std::string ctx = render_template(f.context, l.value, l.where);
    std::vector<std::string> choices;
    if (!f.choice_templates.empty()) {
      for (const auto& t : f.choice_templates) choices.push_back(render_template(t, l.value, l.where));
    } else {
      const json& v = field(l, f.choices_field);
      if (!v.is_array())
        throw EvalError(l.where + ": field '" + f.choices_field + "': expected a list of strings, got " +
                        v.type_name());
      for (size_t k = 0; k < v.size(); ++k) {
        if (!v[k].is_string())
          throw EvalError(l.where + ": field '" + f.choices_field + "': choice " + std::to_string(k) +
                          " is not a string (" + v[k].type_name() + ")");
        choices.push_back(v[k].get<std::string>());
      }
      if (choices.size() < 2)
        throw EvalError(l.where + ": field '" + f.choices_field + "': needs at least 2 choices, got " +
                        std::to_string(choices.size()));
    }
    if (f.preprocess == "hellaswag") {
      ctx = hellaswag_preprocess(ctx);
      for (auto& c : choices) c = hellaswag_preprocess(c);
    }
    if (!labels.empty())
      it.label = resolve_label(labels[i].first, f, choices.size(), labels[i].second, "label");
    else
      it.label = resolve_label(label_text(field(l, f.label_field), l.where, f.label_field), f, choices.size(), l.where,
                               f.label_field);
    for (size_t k = 0; k < choices.size(); ++k)
      if (blank(choices[k]) && it.skip.empty()) it.skip = l.where + ": choice " + std::to_string(k) + " is empty";
    if (!f.blank.empty()) {
      // lm-eval multiple-input mode (winogrande): each choice fills the blank inside the context,
      // and the shared suffix after the blank is the scored continuation.
      const size_t idx = ctx.find(f.blank);
      if (idx == std::string::npos)
        throw EvalError(l.where + ": context has no blank '" + f.blank + "' for the choices to fill: \"" + ctx + "\"");
      std::string suffix = ctx.substr(idx + f.blank.size());
      const size_t b = suffix.find_first_not_of(" \t\r\n"), e = suffix.find_last_not_of(" \t\r\n");
      suffix = b == std::string::npos ? "" : suffix.substr(b, e - b + 1);
      if (suffix.empty() && it.skip.empty()) it.skip = l.where + ": nothing after the blank to score";
      for (const auto& c : choices) it.requests.emplace_back(ctx.substr(0, idx) + c, f.target_delimiter + suffix);
    } else {
      for (const auto& c : choices) it.requests.emplace_back(ctx, f.target_delimiter + c);
    }
    it.choices = std::move(choices);
    out.items.push_back(std::move(it));
  }
  return out;
}

// COPA (original XML-as-JSONL release, or SuperGLUE field names), as lm-eval super_glue/copa/utils.py:
// context = premise.strip()[:-1] + " because" / " therefore"; choices = " " + lower-first(choice).
// lm-eval also prepends target_delimiter " ", scoring a double space; we score the single space
// the choice already carries (eval/README.md "Deviations").
LoadedTask load_copa(const TaskSpec& spec) {
  LoadedTask out;
  for (const JsonLine& l : read_jsonl(spec.file)) {
    const bool glue = l.value.contains("choice1");
    const std::string premise = string_field(l, "premise");
    const std::string a1 = string_field(l, glue ? "choice1" : "alternative_1");
    const std::string a2 = string_field(l, glue ? "choice2" : "alternative_2");
    const std::string q_name = glue ? "question" : "asks_for";
    const std::string q = string_field(l, q_name);
    if (q != "cause" && q != "effect")
      throw EvalError(l.where + ": field '" + q_name + "': expected \"cause\" or \"effect\", got \"" + q + "\"");
    const std::string label_name = glue ? "label" : "more_plausible_alternative";
    ChoiceFormat f;
    if (!glue) f.label_base = 1;  // "1" / "2"
    TextItem it;
    it.where = l.where;
    it.label = resolve_label(label_text(field(l, label_name), l.where, label_name), f, 2, l.where, label_name);
    std::string p = premise;
    const size_t b = p.find_first_not_of(" \t\r\n"), e = p.find_last_not_of(" \t\r\n");
    p = b == std::string::npos ? "" : p.substr(b, e - b + 1);
    if (p.empty() || blank(a1) || blank(a2)) it.skip = l.where + ": empty premise or alternative";
    if (!p.empty()) p.pop_back();  // drop the final period
    const std::string ctx = p + (q == "cause" ? " because" : " therefore");
    for (const std::string& a : {a1, a2}) {
      std::string c = a;
      if (!c.empty()) c[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(c[0])));
      it.choices.push_back(" " + c);
      it.requests.emplace_back(ctx, " " + c);
    }
    out.items.push_back(std::move(it));
  }
  return out;
}

LoadedTask load_last_word(const TaskSpec& spec) {
  LoadedTask out;
  for (const JsonLine& l : read_jsonl(spec.file))
    out.items.push_back(lambada_item(string_field(l, spec.text_field), l.where));
  return out;
}

LoadedTask load_likelihood(const TaskSpec& spec) {
  LoadedTask out;
  if (spec.format == "jsonl") {
    for (const JsonLine& l : read_jsonl(spec.file))
      out.documents.push_back({string_field(l, spec.text_field), l.where});
    return out;
  }
  const std::string text = read_all(spec.file, "text file");
  const std::string name = spec.file.string();
  if (spec.documents == "file") {
    out.documents.push_back({text, name + ":1"});
    return out;
  }
  // lines: every non-blank line; paragraphs: runs of non-blank lines separated by blank lines.
  const bool lines = spec.documents == "lines";
  std::string cur;
  int start = 0;
  auto flush = [&] {
    if (!cur.empty()) out.documents.push_back({cur, name + ":" + std::to_string(start)});
    cur.clear();
  };
  for_each_line(text, [&](int line, const std::string& s) {
    if (blank(s)) {
      flush();
      return;
    }
    if (cur.empty()) start = line;
    if (lines) {
      cur = s;
      flush();
    } else {
      cur += (cur.empty() ? "" : "\n") + s;
    }
  });
  flush();
  return out;
}

}  // namespace

TextItem lambada_item(const std::string& text, const std::string& where) {
  // lm-eval lambada_openai.yaml: doc_to_text = text.split(' ')[:-1] joined by ' ', doc_to_target
  // = ' ' + text.split(' ')[-1], target_delimiter "".
  TextItem it;
  it.where = where;
  const size_t sp = text.rfind(' ');
  const std::string ctx = sp == std::string::npos ? "" : text.substr(0, sp);
  const std::string word = sp == std::string::npos ? text : text.substr(sp + 1);
  if (blank(text))
    it.skip = where + ": empty text";
  else if (word.empty())
    it.skip = where + ": text ends with a space, so there is no last word";
  it.requests.emplace_back(ctx, " " + word);
  return it;
}

LoadedTask load_task_file(const TaskSpec& spec) {
  switch (spec.kind) {
    case TaskKind::likelihood: return load_likelihood(spec);
    case TaskKind::last_word: return load_last_word(spec);
    case TaskKind::multiple_choice: return spec.format == "copa" ? load_copa(spec) : load_multiple_choice(spec);
  }
  return {};
}

}  // namespace nurture::eval
