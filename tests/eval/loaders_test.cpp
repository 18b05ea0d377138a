// Task-file loaders and suite parsing on small fixture files, including broken ones: every
// malformed line is a one-line error naming file:line and the field; empty items are reported.
#include <gtest/gtest.h>

#include <string>

#include "config/config_error.h"
#include "eval/error.h"
#include "eval/suite.h"
#include "eval/task_files.h"
#include "eval/template.h"
#include "tests/support/support.h"

using namespace nurture;
using eval::EvalError;

namespace {

const std::string kFixtures = std::string(NURTURE_SOURCE_DIR) + "/tests/eval/fixtures";

// Parses a one-task suite whose paths are relative to the fixtures directory.
eval::TaskSpec task(const std::string& yaml_entry) {
  const eval::Suite s = eval::parse_suite("tasks:\n  - " + yaml_entry + "\n", "test.yaml", kFixtures);
  return s.tasks.at(0);
}

eval::LoadedTask load(const std::string& yaml_entry) { return eval::load_task_file(task(yaml_entry)); }

// The error message of `f`, which must throw EvalError.
template <class F>
std::string error_of(F f) {
  const std::string e = test::error_of<EvalError>(f);
  if (e.empty()) ADD_FAILURE() << "no EvalError thrown";
  return e;
}

bool one_line(const std::string& s) { return s.find('\n') == std::string::npos; }

}  // namespace

TEST(Loaders, LambadaSplitsOffTheLastWord) {
  const auto t = load("{name: l, kind: last_word, file: lambada_small.jsonl}");
  ASSERT_EQ(t.items.size(), 5u);  // the blank line is not an item
  EXPECT_EQ(t.items[0].requests[0].first, "The cat sat on the mat. Then the");
  EXPECT_EQ(t.items[0].requests[0].second, " cat");
  EXPECT_TRUE(t.items[0].skip.empty());
  EXPECT_EQ(t.items[1].requests[0].first, "She opened the door\n\nand saw her");
  EXPECT_EQ(t.items[1].where, kFixtures + "/lambada_small.jsonl:2");
  // Empty text and a trailing space are reported (skip reason with file:line), not fatal.
  EXPECT_EQ(t.items[2].skip, kFixtures + "/lambada_small.jsonl:4: empty text");
  EXPECT_TRUE(t.items[3].skip.empty());  // one word: empty context, scored after the prefix token
  EXPECT_EQ(t.items[3].requests[0].first, "");
  EXPECT_NE(t.items[4].skip.find("lambada_small.jsonl:6: text ends with a space"), std::string::npos);
}

TEST(Loaders, BrokenJsonLineNamesFileAndLine) {
  const std::string e = error_of([] { load("{name: l, kind: last_word, file: lambada_broken.jsonl}"); });
  EXPECT_NE(e.find("lambada_broken.jsonl:2: invalid JSON"), std::string::npos) << e;
  EXPECT_TRUE(one_line(e));
  const std::string w = error_of(
      [] { load("{name: l, kind: last_word, format: jsonl, text: passage, file: lambada_wrong_type.jsonl}"); });
  EXPECT_NE(w.find("lambada_wrong_type.jsonl:2: field 'passage': expected a string, got number"), std::string::npos)
      << w;
}

TEST(Loaders, PiqaWithLabelsFile) {
  const auto t =
      load("{name: p, kind: multiple_choice, format: piqa, file: piqa_small.jsonl, labels: piqa_labels.lst}");
  ASSERT_EQ(t.items.size(), 3u);
  // lm-eval piqa: "Question: {goal}\nAnswer:" and " " + solution.
  EXPECT_EQ(t.items[0].requests[0].first, "Question: How do I dry wet shoes?\nAnswer:");
  EXPECT_EQ(t.items[0].requests[0].second, " Stuff them with newspaper.");
  EXPECT_EQ(t.items[1].requests[1].second, " use a serrated knife");
  EXPECT_EQ(t.items[1].choices[1], "use a serrated knife");
  EXPECT_EQ(t.items[0].label, 0);
  EXPECT_EQ(t.items[1].label, 1);
  EXPECT_EQ(t.items[2].label, 0);

  const std::string shortl = error_of([] {
    load("{name: p, kind: multiple_choice, format: piqa, file: piqa_small.jsonl, labels: piqa_labels_short.lst}");
  });
  EXPECT_NE(shortl.find("piqa_labels_short.lst: 2 labels for 3 records"), std::string::npos) << shortl;
  const std::string bad = error_of([] {
    load("{name: p, kind: multiple_choice, format: piqa, file: piqa_small.jsonl, labels: piqa_labels_bad.lst}");
  });
  EXPECT_NE(bad.find("piqa_labels_bad.lst:2: field 'label': label 'yes' is not an integer"), std::string::npos) << bad;
}

TEST(Loaders, CopaFollowsLmEvalWithOneSpace) {
  const auto t = load("{name: c, kind: multiple_choice, format: copa, file: copa_small.jsonl}");
  ASSERT_EQ(t.items.size(), 3u);
  EXPECT_EQ(t.items[0].requests[0].first, "My body cast a shadow over the grass because");
  EXPECT_EQ(t.items[0].requests[0].second, " the sun was rising.");
  EXPECT_EQ(t.items[0].choices[0], " the sun was rising.");  // acc_norm counts the leading space, as lm-eval
  EXPECT_EQ(t.items[0].label, 0);
  EXPECT_EQ(t.items[1].requests[1].first, "I emptied my pockets therefore");
  EXPECT_EQ(t.items[1].label, 1);
  // SuperGLUE field names work too.
  EXPECT_EQ(t.items[2].requests[1].second, " water flowed from the spout.");
  EXPECT_EQ(t.items[2].label, 1);
  const std::string e =
      error_of([] { load("{name: c, kind: multiple_choice, format: copa, file: copa_broken.jsonl}"); });
  EXPECT_NE(e.find("copa_broken.jsonl:2: field 'asks_for': expected \"cause\" or \"effect\", got \"why\""),
            std::string::npos)
      << e;
}

TEST(Loaders, GenericJsonlWithTemplatesAndLabelMap) {
  const auto t = load(
      "{name: g, kind: multiple_choice, file: mc_letters.jsonl, context: \"Q: {question}\\nA:\", choices: options, "
      "label: answer, label_map: {A: 0, B: 1, C: 2}}");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_EQ(t.items[0].requests[2].first, "Q: The capital of France is\nA:");
  EXPECT_EQ(t.items[0].requests[2].second, " Berlin");
  EXPECT_EQ(t.items[1].label, 1);

  const auto d = load("{name: g, kind: multiple_choice, file: mc_generic.jsonl}");  // the default field names
  EXPECT_EQ(d.items[0].requests[1].second, " made of cheese");
  EXPECT_EQ(d.items[1].label, 1);  // digit strings are labels too
  EXPECT_NE(d.items[1].skip.find("mc_generic.jsonl:2: choice 2 is empty"), std::string::npos);
}

TEST(Loaders, BrokenMultipleChoiceLinesNameTheField) {
  auto e = error_of([] { load("{name: g, kind: multiple_choice, file: mc_label_range.jsonl}"); });
  EXPECT_NE(e.find("mc_label_range.jsonl:3: field 'label': label 2 is out of range for 2 choices"), std::string::npos)
      << e;
  e = error_of([] { load("{name: g, kind: multiple_choice, file: mc_missing_field.jsonl}"); });
  EXPECT_NE(e.find("mc_missing_field.jsonl:2: field 'choices': missing"), std::string::npos) << e;
  e = error_of([] { load("{name: g, kind: multiple_choice, file: mc_wrong_type.jsonl}"); });
  EXPECT_NE(e.find("mc_wrong_type.jsonl:1: field 'choices': expected a list of strings, got string"), std::string::npos)
      << e;
  e = error_of([] { load("{name: g, kind: multiple_choice, file: mc_not_object.jsonl}"); });
  EXPECT_NE(e.find("mc_not_object.jsonl:2: expected a JSON object, got array"), std::string::npos) << e;
  e = error_of([] { load("{name: g, kind: multiple_choice, file: mc_letters.jsonl, context: '{question}'}"); });
  EXPECT_NE(e.find("mc_letters.jsonl:1: field 'choices': missing"), std::string::npos) << e;
  e = error_of([] {
    load(
        "{name: g, kind: multiple_choice, file: mc_letters.jsonl, context: '{question}', choices: options, "
        "label: answer}");
  });
  EXPECT_NE(e.find("mc_letters.jsonl:1: field 'answer': label 'A' is not an integer"), std::string::npos) << e;
  e = error_of([] { load("{name: g, kind: multiple_choice, file: no_such_file.jsonl}"); });
  EXPECT_NE(e.find("no_such_file.jsonl: cannot open task file"), std::string::npos) << e;
  EXPECT_TRUE(one_line(e));
}

TEST(Loaders, HellaswagPresetPreprocesses) {
  const auto t = load("{name: h, kind: multiple_choice, format: hellaswag, file: hellaswag_small.jsonl}");
  ASSERT_EQ(t.items.size(), 2u);
  // lm-eval: preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())
  EXPECT_EQ(t.items[0].requests[0].first,
            "Removing ice from car: Then, the man writes over the snow covering the window of a car, and a woman "
            "wearing winter clothes smiles. Then, the man continues removing the snow on his car.");
  EXPECT_EQ(t.items[0].label, 3);
  EXPECT_EQ(t.items[1].requests[0].first, "Home and Garden: How to clean a grill. Heat the grill. Scrape the grates");
  EXPECT_EQ(t.items[1].choices[0], " Use a wire brush.");  // strip runs before the brackets go, as in lm-eval
  EXPECT_EQ(eval::hellaswag_preprocess("  a [title] b [x] c  d [unclosed "), "a. b c d [unclosed");
}

TEST(Loaders, WinograndePartialScoring) {
  const auto t = load("{name: w, kind: multiple_choice, format: winogrande, file: winogrande_small.jsonl}");
  ASSERT_EQ(t.items.size(), 2u);
  // Each option fills the blank in the context; the shared suffix is the continuation.
  EXPECT_EQ(t.items[0].requests[0].first, "Sarah was a much better surgeon than Maria so Sarah");
  EXPECT_EQ(t.items[0].requests[1].first, "Sarah was a much better surgeon than Maria so Maria");
  EXPECT_EQ(t.items[0].requests[0].second, " always got the harder cases.");
  EXPECT_EQ(t.items[0].requests[1].second, " always got the harder cases.");
  EXPECT_EQ(t.items[0].label, 0);
  const std::string e =
      error_of([] { load("{name: w, kind: multiple_choice, format: winogrande, file: winogrande_noblank.jsonl}"); });
  EXPECT_NE(e.find("winogrande_noblank.jsonl:1: context has no blank '_'"), std::string::npos) << e;
}

TEST(Loaders, TextDocuments) {
  EXPECT_EQ(load("{name: t, kind: likelihood, file: docs_small.txt}").documents.size(), 1u);
  const auto lines = load("{name: t, kind: likelihood, file: docs_small.txt, documents: lines}").documents;
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3].text, "spans two lines.");
  EXPECT_EQ(lines[3].where, kFixtures + "/docs_small.txt:5");
  const auto paras = load("{name: t, kind: likelihood, file: docs_small.txt, documents: paragraphs}").documents;
  ASSERT_EQ(paras.size(), 2u);
  EXPECT_EQ(paras[1].text, "A new paragraph\nspans two lines.");
}

TEST(Templates, FiltersAndErrors) {
  const nlohmann::json o = {{"a", "hello World"}, {"n", 3}, {"l", {1, 2}}};
  EXPECT_EQ(eval::render_template("{a|capitalize}! {{literal}} {n}", o, "f:1"), "Hello world! {literal} 3");
  EXPECT_EQ(eval::render_template("{a|upper|lcfirst}", o, "f:1"), "hELLO WORLD");
  EXPECT_EQ(eval::check_template("{a|shout}").rfind("unknown filter 'shout'", 0), 0u);
  EXPECT_FALSE(eval::check_template("{a").empty());
  EXPECT_FALSE(eval::check_template("a}").empty());
  EXPECT_EQ(error_of([&] { eval::render_template("{l}", o, "f:1"); }), "f:1: field 'l': expected a string, got array");
}

TEST(Suites, ErrorsCarryFileAndLine) {
  auto parse = [](const std::string& y) { return eval::parse_suite(y, "s.yaml", kFixtures); };
  auto e =
      error_of([&] { parse("tasks:\n  - name: a\n    kind: likelihood\n    source: heldout\n    colour: red\n"); });
  EXPECT_EQ(e.rfind("s.yaml:5: unknown key 'colour' in a task", 0), 0u) << e;
  e = error_of([&] { parse("tasks:\n  - {name: a, kind: guessing, source: heldout}\n"); });
  EXPECT_EQ(e.rfind("s.yaml:2: task 'a': unknown kind 'guessing'", 0), 0u) << e;
  e = error_of([&] {
    parse(
        "tasks:\n  - {name: a, kind: likelihood, source: heldout}\n  - {name: a, kind: likelihood, source: heldout}\n");
  });
  EXPECT_EQ(e, "s.yaml:3: duplicate task name 'a'");
  e = error_of([&] { parse("tasks:\n  - {name: a, kind: last_word, format: piqa, file: x.jsonl}\n"); });
  EXPECT_NE(e.find("format 'piqa' does not fit kind last_word"), std::string::npos) << e;
  e = error_of([&] { parse("tasks:\n  - {name: a, kind: last_word, source: heldout}\n"); });
  EXPECT_NE(e.find("source 'heldout' is for likelihood tasks"), std::string::npos) << e;
  e = error_of([&] { parse("tasks:\n  - {name: a, kind: multiple_choice, file: x.jsonl, limit: -3}\n"); });
  EXPECT_EQ(e, "s.yaml:2: 'limit' must be ≥ 0, got -3");
  e = error_of([&] { parse("tasks:\n  - {name: a, kind: multiple_choice, file: x.jsonl, context: '{q'}\n"); });
  EXPECT_NE(e.find("context template: unclosed '{'"), std::string::npos) << e;
  e = error_of([&] { parse("tasks:\n  - {name: a, kind: multiple_choice, source: generated, context: x}\n"); });
  EXPECT_NE(e.find("'context' describes a task file"), std::string::npos) << e;
  e = error_of(
      [&] { parse("tasks:\n  - {name: a, kind: multiple_choice, source: generated, generator: {style: fancy}}\n"); });
  EXPECT_NE(e.find("generator 'style' must be story or completion"), std::string::npos) << e;
  e = error_of(
      [&] { parse("tasks:\n  - {name: a, kind: multiple_choice, source: generated, headline: acc_mutual_info}\n"); });
  EXPECT_NE(e.find("headline metric 'acc_mutual_info' is not reported by this task (acc, acc_norm, acc_bytes; "
                   "acc_mutual_info needs mutual_info: true)"),
            std::string::npos)
      << e;
  e = error_of([&] { parse("tasks:\n  - {name: a, kind: likelihood, source: heldout, mutual_info: true}\n"); });
  EXPECT_NE(e.find("'mutual_info' is for multiple_choice tasks"), std::string::npos) << e;
  e = error_of([&] { parse("tasks:\n  - {name: a, kind: multiple_choice, source: generated, mutual_info: maybe}\n"); });
  EXPECT_EQ(e, "s.yaml:2: 'mutual_info' must be true or false");
  {
    const eval::Suite ok = parse(
        "tasks:\n  - {name: a, kind: multiple_choice, source: generated, mutual_info: true, headline: "
        "acc_mutual_info}\n  - {name: b, kind: likelihood, source: heldout}\n");
    EXPECT_EQ(eval::headline_metric(ok.tasks[0]), "acc_mutual_info");
    EXPECT_EQ(eval::headline_metric(ok.tasks[1]), "bits_per_byte");
  }
  e = error_of([&] { parse("tasks: []\n"); });
  EXPECT_NE(e.find("'tasks' must be a non-empty list"), std::string::npos) << e;
  EXPECT_THROW(parse("tasks: [\n"), config::ConfigError);  // YAML syntax: config's one-line error
}

// Suites are read by config::YamlReader, like grids: the key a typo meant, keys given twice with
// the first line, and keys that are not words, all as EvalErrors.
TEST(Suites, KeysAreCheckedLikeTheConfigs) {
  auto parse = [](const std::string& y) { return eval::parse_suite(y, "s.yaml", kFixtures); };
  EXPECT_EQ(error_of([&] {
              parse("tasks:\n  - {name: a, kind: multiple_choice, file: x.jsonl, lable: y}\n");
            }).rfind("s.yaml:2: unknown key 'lable' in a task; did you mean 'label'? (accepted: name, kind, ", 0),
            0u);
  EXPECT_EQ(error_of([&] { parse("tasks:\n  - name: a\n    kind: likelihood\n    kind: last_word\n"); }),
            "s.yaml:4: key 'kind' is given twice in a task (first at line 3)");
  EXPECT_EQ(error_of([&] { parse("name: s\nname: t\ntasks: [{name: a, kind: likelihood, source: heldout}]\n"); }),
            "s.yaml:2: key 'name' is given twice in the suite (first at line 1)");
  EXPECT_EQ(error_of([&] {
              parse("tasks:\n  - {name: a, kind: last_word, source: generated, generator: {sed: 1}}\n");
            }).rfind("s.yaml:2: unknown key 'sed' in generator; did you mean 'seed'?", 0),
            0u);
  EXPECT_EQ(
      error_of([&] { parse("tasks:\n  - {name: a, kind: multiple_choice, file: x.jsonl, label_map: {[1]: 0}}\n"); }),
      "s.yaml:2: keys must be plain words, found a list");
}

TEST(Suites, ShippedSuitesParseAndPointAtExistingFiles) {
  for (const char* name : {"default", "paper"}) {
    const eval::Suite s = eval::load_suite(std::string(NURTURE_SOURCE_DIR) + "/eval/suites/" + name + ".yaml");
    EXPECT_EQ(s.name, name);
    EXPECT_FALSE(s.tasks.empty());
    for (const auto& t : s.tasks)
      if (t.source == eval::TaskSource::file) {
        EXPECT_TRUE(std::filesystem::exists(t.file)) << t.file;
        const auto loaded = eval::load_task_file(t);  // the real files load without errors
        EXPECT_GT(loaded.items.size() + loaded.documents.size(), 0u);
      }
  }
  EXPECT_TRUE(eval::load_suite("default").needs_heldout());  // by name: the shipped file
  EXPECT_FALSE(eval::load_suite("paper").needs_heldout());
  EXPECT_NE(error_of([] { eval::load_suite("no-such-suite"); }).find("no such suite file"), std::string::npos);
}
