// `nurture analyze` end to end through the built binary: a few-step tiny run, its analysis in
// the run layout, and the one-line error for a checkpoint that is not there.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_support.h"

namespace nurture::test {
namespace {

TEST(AnalyzeCli, WritesJsonAndMarkdownBesideTheRun) {
  Sandbox box("analyze");
  RunResult r = box.run("nurture train configs/tiny.yaml train.steps=4 train.eval_every=0 output.dir=runs/a");
  ASSERT_EQ(r.status, 0) << r.err;
  r = box.run("nurture analyze runs/a/checkpoints/step_0000004.h5 --sequences 3 -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const fs::path dir = box.root() / "runs/a/analysis/step_0000004";
  const auto j = nlohmann::json::parse(read_text(dir / "analysis.json"));
  EXPECT_EQ(j["format"], "nurture-analysis-v1");
  EXPECT_EQ(j["step"], 4);
  EXPECT_EQ(j["checkpoint"], "runs/a/checkpoints/step_0000004.h5");
  EXPECT_EQ(j["calibration"]["sequences"], 3);
  EXPECT_EQ(j["calibration"]["seq_len"], 64);  // configs/tiny.yaml
  EXPECT_EQ(j["calibration"]["tokens"], 192);
  EXPECT_EQ(j["linears"].size(), 8u);  // 2 blocks x 4 sites
  EXPECT_EQ(j["precision"], "fp16");   // nurture ptq's default baseline
  EXPECT_NE(read_text(dir / "analysis.md").find("## Outlier dimensions"), std::string::npos);

  r = box.run("nurture analyze runs/a/checkpoints/step_0000004.h5 --sequences 1 --out elsewhere -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(box.root() / "elsewhere/analysis.json"));
  EXPECT_TRUE(fs::exists(box.root() / "elsewhere/analysis.md"));

  r = box.run("nurture analyze runs/a/checkpoints/step_0000004.h5 --sequences 1 --precision fp32 --out f32 -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(box.root() / "f32/analysis.json"))["precision"], "fp32");
  r = box.run("nurture analyze runs/a/checkpoints/step_0000004.h5 --precision fp8");
  EXPECT_NE(r.status, 0);  // CLI11 rejects the value before any work
}

TEST(AnalyzeCli, MissingCheckpointIsOneLine) {
  Sandbox box("analyze-missing");
  const RunResult r = box.run("nurture analyze runs/none/checkpoints/step_0000001.h5");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("nurture analyze: error: runs/none/checkpoints/step_0000001.h5: ", 0), 0u) << r.err;
  // A file that is not a checkpoint: HDF5 refuses it, still on one line.
  const RunResult bad = box.run("echo hello > junk.h5 && nurture analyze junk.h5");
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
}

}  // namespace
}  // namespace nurture::test
