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
  r = box.run("nurture ptq runs/a/checkpoints/step_0000004.h5 --recipes w8a8,w4 --limit 5 -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("mean degradation %"), std::string::npos) << r.out;
  const fs::path dir = box.root() / "runs/a/eval/step_0000004";
  const auto j = nlohmann::json::parse(read_text(dir / "ptq.json"));
  EXPECT_EQ(j["format"], "nurture-ptq-v1");
  EXPECT_EQ(j["checkpoint"], "runs/a/checkpoints/step_0000004.h5");
  EXPECT_EQ(j["step"], 4);
  EXPECT_EQ(j["baseline"], "fp16");
  EXPECT_EQ(j["limit"], 5);
  ASSERT_EQ(j["recipes"].size(), 3u);
  EXPECT_EQ(j["recipes"][0]["name"], "pre");
  EXPECT_EQ(j["recipes"][1]["name"], "w8a8");
  EXPECT_EQ(j["recipes"][2]["name"], "w4");
  EXPECT_TRUE(j["recipes"][2].contains("mean_degradation_pct"));
  EXPECT_NE(read_text(dir / "ptq.md").find("| task | metric | pre | w8a8 | w4 |"), std::string::npos);

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
            "smoothquant, smoothquant-tensor, all)\n");
  const RunResult b = box.run("nurture ptq configs/tiny.yaml --baseline fp8");
  EXPECT_EQ(b.status, 2);
  EXPECT_EQ(std::count(b.err.begin(), b.err.end(), '\n'), 1) << b.err;
}

}  // namespace
}  // namespace nurture::test
