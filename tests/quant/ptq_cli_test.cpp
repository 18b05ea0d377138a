// `nurture ptq` through the built binary: a few-step tiny run, its ptq.json/ptq.md in the run
// layout, and the one-line errors for a bad recipe name.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_support.h"

namespace nurture::test {
namespace {

TEST(PtqCli, WritesJsonAndMarkdownBesideTheRun) {
  Sandbox box("ptq");
  RunResult r = box.run("nurture train configs/tiny.yaml train.steps=4 train.eval_every=0 output.dir=runs/a");
  ASSERT_EQ(r.status, 0) << r.err;
  r = box.run(
      "nurture ptq runs/a/checkpoints/step_0000004.h5 --recipes w8a8,w4,w8a4-tensor --limit 5 -q "
      "--log-samples samples.jsonl");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("mean degradation %"), std::string::npos) << r.out;
  const fs::path dir = box.root() / "runs/a/eval/step_0000004";
  const auto j = nlohmann::json::parse(read_text(dir / "ptq.json"));
  EXPECT_EQ(j["format"], "nurture-ptq-v2");
  EXPECT_EQ(j["checkpoint"], "runs/a/checkpoints/step_0000004.h5");
  EXPECT_EQ(j["step"], 4);
  EXPECT_EQ(j["baseline"], "fp16");
  EXPECT_EQ(j["limit"], 5);
  ASSERT_EQ(j["recipes"].size(), 4u);
  EXPECT_EQ(j["recipes"][0]["name"], "pre");
  EXPECT_EQ(j["recipes"][1]["name"], "w8a8");
  EXPECT_EQ(j["recipes"][2]["name"], "w4");
  EXPECT_EQ(j["recipes"][3]["name"], "w8a4-tensor");
  EXPECT_EQ(j["recipes"][3]["weight_bits"], 8);
  EXPECT_EQ(j["recipes"][3]["act_bits"], 4);
  EXPECT_EQ(j["recipes"][3]["act_granularity"], "per-tensor");
  EXPECT_EQ(j["recipes"][2]["act_bits"], 0);
  EXPECT_TRUE(j["recipes"][2].contains("mean_degradation_pct"));
  EXPECT_TRUE(j["recipes"][2].contains("mean_degradation_se_pct"));
  EXPECT_EQ(j["activation_calibration"]["used"], true);
  EXPECT_GT(j["activation_calibration"]["tokens"].get<int>(), 0);
  EXPECT_NE(read_text(dir / "ptq.md").find("| task | metric | pre | w8a8 | w4 | w8a4-tensor |"), std::string::npos);
  // --log-samples: one line per item of every task, for each of the 4 recipes.
  const std::string samples = read_text(box.root() / "samples.jsonl");
  EXPECT_NE(r.out.find("wrote samples.jsonl"), std::string::npos) << r.out;
  size_t lines = 0, items = 0;
  for (size_t a = 0, b; (b = samples.find('\n', a)) != std::string::npos; a = b + 1) {
    const auto x = nlohmann::json::parse(samples.substr(a, b - a));
    ++lines;
    for (const char* key : {"recipe", "task", "item", "kind", "loglikelihoods", "tokens"})
      EXPECT_TRUE(x.contains(key)) << key;
    if (x["kind"] == "multiple_choice") {
      for (const char* key : {"label", "correct", "acc_norm", "bytes"}) EXPECT_TRUE(x.contains(key)) << key;
    }
    if (x["recipe"] == "pre") ++items;
  }
  EXPECT_EQ(lines, 4 * items);
  EXPECT_GT(items, 4u);

  r = box.run(
      "nurture ptq runs/a/checkpoints/step_0000004.h5 --recipes w4 --baseline bf16 --limit 2 --out elsewhere -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(box.root() / "elsewhere/ptq.json"))["baseline"], "bf16");
  EXPECT_TRUE(fs::exists(box.root() / "elsewhere/ptq.md"));
}

TEST(PtqCli, BadRecipeIsOneLineListingTheAcceptedNames) {
  Sandbox box("ptq-bad");
  // The recipe list is checked before the checkpoint is read.
  const RunResult r = box.run("nurture ptq configs/tiny.yaml --recipes w8a8,int3");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err,
            "nurture ptq: error: unknown recipe 'int3' (accepted: pre, w8a8, w8a8-tensor, w4, w4-g128, llm-int8, "
            "smoothquant, smoothquant-tensor, all, or w<bits>[a<bits>][-tensor|-g<size>] with bits 2..8, e.g. w8a6, "
            "w8a4-tensor, w3)\n");
  const RunResult w = box.run("nurture ptq configs/tiny.yaml --recipes w8a8,w9a8");
  EXPECT_EQ(w.status, 1);
  EXPECT_EQ(std::count(w.err.begin(), w.err.end(), '\n'), 1) << w.err;
  EXPECT_EQ(w.err.rfind("nurture ptq: error: recipe 'w9a8': weight bits must be 2..8, got 9 (accepted: ", 0), 0u)
      << w.err;
  const RunResult b = box.run("nurture ptq configs/tiny.yaml --baseline fp8");
  EXPECT_EQ(b.status, 2);
  EXPECT_EQ(std::count(b.err.begin(), b.err.end(), '\n'), 1) << b.err;
}

}  // namespace
}  // namespace nurture::test

namespace nurture::test {
namespace {

TEST(EvalCli, LogSamplesWritesOneLinePerItem) {
  Sandbox box("eval-samples");
  RunResult r = box.run("nurture train configs/tiny.yaml train.steps=2 train.eval_every=0 output.dir=runs/a");
  ASSERT_EQ(r.status, 0) << r.err;
  r = box.run("nurture eval runs/a/checkpoints/step_0000002.h5 --limit 3 --no-json -q --log-samples s.jsonl");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string samples = read_text(box.root() / "s.jsonl");
  EXPECT_EQ(std::count(samples.begin(), samples.end(), '\n'), 4 * 3);  // 4 tasks x 3 items
  const auto first = nlohmann::json::parse(samples.substr(0, samples.find('\n')));
  EXPECT_TRUE(first["recipe"].is_null());
  EXPECT_EQ(first["task"], "heldout");
  EXPECT_EQ(first["item"], 0);
  EXPECT_TRUE(first.contains("bytes"));
}

}  // namespace
}  // namespace nurture::test
