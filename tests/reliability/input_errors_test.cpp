// The error contract for users' input, end to end through `nurture train`: a config, override
// or data mistake exits 1 with one line that says where (file:line), which key, and what is
// accepted or how to fix it. Also the regression tests for what fuzz/ found.
#include <gtest/gtest.h>

#include <algorithm>

#include "config/config.h"
#include "config/config_error.h"
#include "eval/error.h"
#include "eval/suite.h"
#include "eval/task_files.h"
#include "reliability_support.h"

namespace nurture::test {
namespace {

std::string last_line(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

struct Outcome {
  int status;
  std::string error;  // the last line of the output
};

Outcome train(const fs::path& root, const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> a = {"train"};
  a.insert(a.end(), args.begin(), args.end());
  const fs::path log = root / (name + ".log");
  const int status = run_to_end(a, log);
  return {status, last_line(read_text(log))};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(InputErrors, ConfigMistakesNameFileLineKeyAndWhatIsAccepted) {
  const TempDir root("config");
  struct Case {
    std::string yaml;
    std::vector<std::string> parts;  // what the one line must contain
  };
  const std::vector<Case> cases = {
      {"model:\n  d_mdoel: 64\n", {"c.yaml:2: ", "'model.d_mdoel'", "did you mean 'model.d_model'", "accepted keys"}},
      {"precision:\n  dtype: fp8\n", {"c.yaml:2: ", "'precision.dtype'", "is not one of fp32, bf16, fp16"}},
      {"train:\n  steps: many\n", {"c.yaml:2: ", "'train.steps'", "is not an integer"}},
      {"optim:\n  lr: 0.1\n  lr: 0.2\n", {"c.yaml:", "lr"}},
      {"model:\n  dropout: 1.5\n", {"c.yaml:2: ", "'model.dropout'", "out of range [0, 1)"}},
      {"model: [1, 2]\n", {"c.yaml:1: ", "model"}},
      {"model:\n  d_model: 64\n    n_head: 4\n", {"c.yaml:", "YAML syntax error"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    write_text(root / "c.yaml", cases[i].yaml);
    const Outcome o = train(root, "config" + std::to_string(i), {(root / "c.yaml").string()});
    EXPECT_EQ(o.status, 1) << cases[i].yaml;
    EXPECT_EQ(o.error.rfind("nurture train: error: " + (root / "c.yaml").string() + ":", 0), 0u) << o.error;
    for (const auto& part : cases[i].parts) EXPECT_TRUE(contains(o.error, part)) << o.error << "\nmissing: " << part;
  }
  const Outcome o = train(root, "override", {NURTURE_SOURCE_DIR "/configs/tiny.yaml", "optim.schedule=cosin"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.error,
            "nurture train: error: command line: 'optim.schedule=cosin': 'optim.schedule' = 'cosin' is not one of "
            "cosine, constant, linear, wsd");
}

// Each data problem stops `nurture train` before training with one line naming the file or the
// setting and the fix.
TEST(InputErrors, DataProblemsAreOneClearLine) {
  const TempDir root("data");
  for (const char* d : {"empty", "tiny", "latin1", "short"}) fs::create_directories(root / d);
  write_text(root / "empty/a.txt", "");
  write_text(root / "tiny/a.txt", "tiny text\n");
  write_text(root / "latin1/a.txt",
             "hello\nwor\xff"
             "ld\n");
  write_text(root / "short/a.txt", read_text(NURTURE_SOURCE_DIR "/datasets/tinyshakespeare/input.txt").substr(0, 3000));
  const std::string tiny = NURTURE_SOURCE_DIR "/configs/tiny.yaml";
  auto run = [&](const std::string& corpus, std::vector<std::string> extra) {
    std::vector<std::string> a = {tiny, "data.corpus=" + (root / corpus).string(),
                                  "output.dir=" + (root / ("run-" + corpus)).string(),
                                  "data.cache_dir=" + (root / "cache").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return train(root, corpus, a);
  };
  Outcome o = run("empty", {});
  EXPECT_EQ(o.status, 1);
  EXPECT_TRUE(contains(o.error, "corpus is empty: " + (root / "empty/a.txt").string())) << o.error;

  o = run("latin1", {});
  EXPECT_EQ(o.status, 1);
  EXPECT_TRUE(contains(o.error, "'" + (root / "latin1/a.txt").string() + "' is not valid UTF-8: bad byte 0xFF"))
      << o.error;
  EXPECT_TRUE(contains(o.error, "(line 2)")) << o.error;

  o = run("tiny", {});  // 10 bytes cannot support a 512-piece vocabulary
  EXPECT_EQ(o.status, 1);
  EXPECT_TRUE(contains(o.error, "vocab_size 512 is too large for this corpus")) << o.error;
  EXPECT_TRUE(contains(o.error, "set vocab_size <= ")) << o.error;

  o = run("short", {"model.vocab_size=320", "model.seq_len=2048"});  // ~2600 tokens, 10% validation
  EXPECT_EQ(o.status, 1);
  EXPECT_TRUE(contains(o.error, "corpus smaller than one sequence")) << o.error;
  EXPECT_TRUE(contains(o.error, "val_fraction 0.1)")) << o.error;
  EXPECT_TRUE(contains(o.error, "lower seq_len")) << o.error;
}

TEST(InputErrors, TaskFileMistakesNameFileLineAndField) {
  const TempDir root("tasks");
  write_text(root / "suite.yaml",
             "name: s\ntasks:\n  - {name: mc, kind: multiple_choice, format: jsonl, file: mc.jsonl}\n");
  const eval::Suite suite = eval::load_suite((root / "suite.yaml").string());
  const std::string file = (root / "mc.jsonl").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"context": "a", "choices": ["x", "y"], "label": 0})"
       "\n{\"context\": \"b\"",
       file + ":2: invalid JSON"},
      {R"({"context": "a", "choices": ["x", "y"], "label": 2})",
       file + ":1: field 'label': label 2 is out of range for 2 choices"},
      {R"({"context": "a", "choices": "x or y", "label": 0})",
       file + ":1: field 'choices': expected a list of strings, got string"},
      {R"({"context": "a", "choices": ["x", "y"]})", file + ":1: field 'label': missing"},
      // fuzz/fuzz_task_files.cpp found it: a number beyond double's range is nlohmann's
      // out_of_range, not a parse_error, and escaped the loader.
      {R"({"context": "a", "choices": ["x", "y"], "label": 666E6666666000938})", file + ":1: invalid JSON"},
  };
  for (const auto& [text, expected] : cases) {
    write_text(root / "mc.jsonl", text + "\n");
    try {
      eval::load_task_file(suite.tasks.at(0));
      ADD_FAILURE() << "accepted: " << text;
    } catch (const eval::EvalError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(expected, 0), 0u) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  write_text(root / "bad-suite.yaml", "name: s\ntasks:\n  - {name: mc, kind: multiple_choise, file: mc.jsonl}\n");
  try {
    eval::load_suite((root / "bad-suite.yaml").string());
    ADD_FAILURE() << "bad kind accepted";
  } catch (const std::exception& e) {
    EXPECT_EQ(std::string(e.what()).rfind((root / "bad-suite.yaml").string() + ":3: ", 0), 0u) << e.what();
    EXPECT_TRUE(contains(e.what(), "likelihood")) << e.what();  // lists what is accepted
  }
}

// fuzz/fuzz_config.cpp found both: a quoted value or a YAML syntax message holding a line break
// or another control character split the "one line" error in two.
TEST(FuzzRegressions, ConfigErrorsQuotingControlCharactersStayOneLine) {
  const std::vector<std::string> inputs = {
      "model:\n  gelu: \"tan\\nh\"\n",                      // a value with an escaped newline
      "model: \"\\\x01\"\n",                                // yaml-cpp: unknown escape character: <0x01>
      "mo\n!%\n\n  d_.1\ndaNULLorpus=[a/tty\xffpe=fp16\n",  // the first crash input, verbatim
  };
  for (const auto& yaml : inputs) {
    try {
      config::parse_config(yaml, {}, "fuzz.yaml");
      ADD_FAILURE() << "accepted: " << yaml;
    } catch (const config::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind("fuzz.yaml:", 0), 0u) << what;
      EXPECT_TRUE(std::none_of(what.begin(), what.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 && c != '\t';
      })) << what;
    }
  }
}

}  // namespace
}  // namespace nurture::test
