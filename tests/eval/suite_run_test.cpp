// The evaluation pipeline on a real (tiny, briefly trained) checkpoint: lm-eval request
// encoding with the run's tokenizer, generated tasks (deterministic, cached), reported skips,
// and a whole suite run that is bit-identical when repeated.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/file_io.h"
#include "eval/generate_tasks.h"
#include "eval/report.h"
#include "eval/runner.h"
#include "tests/e2e/e2e_support.h"
#include "train/load_model.h"

using namespace nurture;
namespace fs = std::filesystem;

namespace {

// One tiny run shared by every test here: configs/tiny.yaml on Tiny Shakespeare, 30 steps.
struct Run {
  test::TempDir dir{"eval-suite"};
  train::LoadedModel lm;
  eval::HeldOut heldout;
  double val_loss = 0;
};

Run& run() {
  static std::unique_ptr<Run> r = [] {
    auto x = std::make_unique<Run>();
    std::ostringstream log;
    train::Trainer t(test::tiny_config(x->dir / "run", {"train.steps=30", "train.eval_batches=64"}), log);
    t.setup(false);
    t.run();
    x->val_loss = t.validation_loss();
    x->lm = train::load_model(*train::Trainer::latest_checkpoint(x->dir / "run"));
    x->heldout = eval::load_heldout(x->lm.config, *x->lm.tokenizer);
    return x;
  }();
  return *r;
}

const data::Tokenizer& tok() { return *run().lm.tokenizer; }
const std::string kFixtures = std::string(NURTURE_SOURCE_DIR) + "/tests/eval/fixtures";

}  // namespace

TEST(EncodePair, FollowsLmEval) {
  // Trailing whitespace of the context moves to the continuation.
  const eval::Request a = eval::encode_pair(tok(), "The king is ", "dead");
  EXPECT_EQ(a.context, tok().encode("The king is"));
  EXPECT_EQ(tok().decode(a.continuation), " dead");
  // cont_enc = enc(ctx + cont)[len(enc(ctx)):]
  const eval::Request b = eval::encode_pair(tok(), "ROMEO:\nWhat light", " through yonder window breaks?");
  std::vector<int32_t> whole = tok().encode("ROMEO:\nWhat light through yonder window breaks?");
  EXPECT_EQ(b.context, tok().encode("ROMEO:\nWhat light"));
  EXPECT_EQ(b.continuation, std::vector<int32_t>(whole.begin() + b.context.size(), whole.end()));
  // A newline at the end of the context moves too.
  const eval::Request c = eval::encode_pair(tok(), "JULIET:\n", "Ay me!");
  EXPECT_EQ(tok().decode(c.continuation), "\nAy me!");
  // An empty context conditions on the prefix (document-separator) token.
  const eval::Request d = eval::encode_pair(tok(), "", " Hello");
  EXPECT_EQ(d.context, std::vector<int32_t>{tok().newline_id()});
  EXPECT_EQ(d.continuation, tok().encode(" Hello"));
}

TEST(RollingWindows, PredictEveryTokenOnceWithinTheContextLength) {
  std::vector<int32_t> t(250);
  for (size_t i = 0; i < t.size(); ++i) t[i] = int32_t(i + 1000);
  const auto w = eval::rolling_windows(t, 7, 64);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].context, std::vector<int32_t>{7});
  std::vector<int32_t> predicted;
  for (const auto& r : w) {
    EXPECT_LE(r.context.size() + r.continuation.size(), 65u);  // model input ≤ L tokens
    EXPECT_EQ(r.context.back() + 1 == r.continuation.front() || r.context.back() == 7, true);
    predicted.insert(predicted.end(), r.continuation.begin(), r.continuation.end());
  }
  EXPECT_EQ(predicted, t);
  EXPECT_EQ(w[3].continuation.size(), 250u - 192u);
  EXPECT_EQ(w[3].context.size() + w[3].continuation.size(), 65u);  // the last window looks back a full L
}

TEST(GeneratedTasks, IdenticalAcrossRunsWithTheSameSeed) {
  const std::string text = tok().decode(run().heldout.tokens);
  eval::GeneratorSpec g;
  g.items = 50;
  const std::string lw1 = eval::generate_last_word_jsonl(text, g), lw2 = eval::generate_last_word_jsonl(text, g);
  const std::string cz1 = eval::generate_cloze_jsonl(text, g), cz2 = eval::generate_cloze_jsonl(text, g);
  EXPECT_EQ(lw1, lw2);
  EXPECT_EQ(cz1, cz2);
  eval::GeneratorSpec other = g;
  other.seed = 99;
  EXPECT_NE(eval::generate_cloze_jsonl(text, other), cz1);

  // Properties: the last word occurs earlier in the passage; the label points at one of 4 distinct choices.
  std::istringstream lw(lw1), cz(cz1);
  std::string line;
  int n = 0;
  while (std::getline(lw, line)) {
    const std::string p = nlohmann::json::parse(line)["text"];
    const std::string word = p.substr(p.rfind(' ') + 1);
    EXPECT_GE(word.size(), 3u);
    EXPECT_NE(p.substr(0, p.rfind(' ')).find(word), std::string::npos) << p;
    ++n;
  }
  EXPECT_EQ(n, 50);
  n = 0;
  while (std::getline(cz, line)) {
    const auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j["choices"].size(), 4u);
    const int label = j["label"];
    EXPECT_TRUE(label >= 0 && label < 4);
    std::set<std::string> distinct(j["choices"].begin(), j["choices"].end());
    EXPECT_EQ(distinct.size(), 4u);
    // The true ending really follows the context in the held-out text.
    EXPECT_NE(text.find(j["context"].get<std::string>() + j["choices"][label].get<std::string>()), std::string::npos);
    ++n;
  }
  EXPECT_EQ(n, 50);

  // Completion (HellaSwag-like): the true choice is the rest of the sentence the context breaks off.
  const std::string co1 = eval::generate_completion_jsonl(text, g);
  EXPECT_EQ(co1, eval::generate_completion_jsonl(text, g));
  auto collapse = [](const std::string& s) {
    std::string o;
    for (char c : s)
      if (!std::isspace(static_cast<unsigned char>(c)) || (!o.empty() && o.back() != ' '))
        o += std::isspace(static_cast<unsigned char>(c)) ? ' ' : c;
    return o;
  };
  const std::string flat = collapse(text);
  std::istringstream co(co1);
  n = 0;
  while (std::getline(co, line)) {
    const auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j["choices"].size(), 4u);
    const std::string whole =
        j["context"].get<std::string>() + " " + j["choices"][j["label"].get<int>()].get<std::string>();
    EXPECT_NE(flat.find(collapse(whole)), std::string::npos) << whole;
    ++n;
  }
  EXPECT_EQ(n, 50);
}

TEST(GeneratedTasks, WrittenOnceThenReused) {
  const fs::path cache = run().dir / "task-cache";
  const std::string text = tok().decode(run().heldout.tokens);
  eval::GeneratorSpec g;
  bool created = false;
  const fs::path a = eval::generated_task_file(eval::TaskKind::last_word, g, text, cache, &created);
  EXPECT_TRUE(created);
  const std::string first = data::read_file(a);
  const fs::path b = eval::generated_task_file(eval::TaskKind::last_word, g, text, cache, &created);
  EXPECT_FALSE(created);
  EXPECT_EQ(a, b);
  EXPECT_EQ(data::read_file(b), first);
  g.seed += 1;  // other settings: another file
  EXPECT_NE(eval::generated_task_file(eval::TaskKind::last_word, g, text, cache), a);
  EXPECT_EQ(a.parent_path(), cache / "tasks");
}

TEST(PrepareSuite, EmptyAndTooLongItemsAreReportedNotFatal) {
  const std::string long_choice(400, 'x');
  const fs::path f = run().dir / "long.jsonl";
  std::ofstream(f) << "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 0}\n"
                   << "{\"context\": \"a\", \"choices\": [\"b\", \"" << long_choice << "\"], \"label\": 1}\n"
                   << "{\"context\": \"\", \"choices\": [\"b\", \"\"], \"label\": 1}\n";
  const eval::Suite s = eval::parse_suite(
      "tasks:\n"
      "  - {name: mc, kind: multiple_choice, file: long.jsonl}\n"
      "  - {name: lw, kind: last_word, file: " +
          kFixtures + "/lambada_small.jsonl}\n",
      "t.yaml", run().dir);
  const auto p = eval::prepare_suite(s, tok(), run().lm.gpt->config().seq_len, {});
  EXPECT_EQ(p.tasks[0].items.size(), 1u);
  EXPECT_EQ(p.tasks[0].skipped, 2);
  EXPECT_NE(p.tasks[0].warnings[0].find("long.jsonl:2: continuation of"), std::string::npos) << p.tasks[0].warnings[0];
  EXPECT_NE(p.tasks[0].warnings[0].find("longer than the model's seq_len 64"), std::string::npos);
  EXPECT_NE(p.tasks[0].warnings[1].find("long.jsonl:3: choice 1 is empty"), std::string::npos);
  EXPECT_EQ(p.tasks[1].items.size(), 3u);
  EXPECT_EQ(p.tasks[1].skipped, 2);
  const auto r = eval::run_suite(*run().lm.gpt, p);
  EXPECT_EQ(r.tasks[0].items, 1);
  EXPECT_EQ(r.tasks[0].skipped, 2);
  EXPECT_NE(eval::format_table(r).find("2 item(s) skipped"), std::string::npos);
}

TEST(RunSuite, DefaultSuiteIsDeterministicAndSane) {
  eval::Suite s = eval::load_suite("default");
  eval::EvalOptions opt;
  opt.heldout = &run().heldout;
  opt.limit = 60;
  opt.score.batch_tokens = 1024;
  model::GPT& gpt = *run().lm.gpt;
  const auto prepared = eval::prepare_suite(s, tok(), gpt.config().seq_len, opt);
  const auto a = eval::run_suite(gpt, prepared, opt);
  const auto b = eval::run_suite(gpt, prepared, opt);
  ASSERT_EQ(a.tasks.size(), 4u);
  for (size_t t = 0; t < a.tasks.size(); ++t) {
    EXPECT_EQ(a.tasks[t].items + a.tasks[t].skipped, 60) << a.tasks[t].name;  // seq_len 64 skips long endings
    EXPECT_GT(a.tasks[t].items, 30);
    for (size_t m = 0; m < a.tasks[t].metrics.size(); ++m) {
      EXPECT_EQ(a.tasks[t].metrics[m].value, b.tasks[t].metrics[m].value);  // bit-identical
      EXPECT_TRUE(std::isfinite(a.tasks[t].metrics[m].value));
    }
  }
  // Held-out token loss agrees with the trainer's validation loss on (mostly) the same text.
  EXPECT_NEAR(a.task("heldout")->metric("token_loss")->value, run().val_loss, 0.15);
  const auto* acc = a.task("cloze")->metric("acc");
  EXPECT_TRUE(acc->value >= 0 && acc->value <= 1);
  EXPECT_GT(acc->stderr_, 0);
  // The whole-suite convenience overload gives the same numbers.
  const auto c = eval::run_suite(gpt, tok(), s, opt);
  EXPECT_EQ(c.task("lastword")->metric("perplexity")->value, a.task("lastword")->metric("perplexity")->value);
  // JSON has every task in order with value and stderr.
  const auto j = eval::to_json(a);
  EXPECT_EQ(j["tasks"][1]["name"], "lastword");
  EXPECT_TRUE(j["tasks"][2]["metrics"]["acc_norm"].contains("stderr"));
  // Every task reports its headline metric (what ptq compares).
  for (const auto& t : s.tasks) EXPECT_NE(a.task(t.name)->metric(eval::headline_metric(t)), nullptr) << t.name;
}
