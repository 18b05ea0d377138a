// User errors leave `nurture` as one line on stderr and a non-zero exit status (docs/ARCHITECTURE.md
// "Errors"): nothing on stdout, no stack of messages, enough in the line to fix the input.
#include <gtest/gtest.h>

#include "tests/cli/cli_support.h"

namespace nurture::test {
namespace {

bool one_line(const std::string& s) { return !s.empty() && s.back() == '\n' && s.find('\n') == s.size() - 1; }

#define EXPECT_ONE_LINE_ERROR(r)                                              \
  do {                                                                        \
    EXPECT_NE((r).status, 0);                                                 \
    EXPECT_TRUE(one_line((r).err)) << "stderr is not one line:\n" << (r).err; \
    EXPECT_EQ((r).out, "") << "nothing on stdout on error";                   \
  } while (0)

class CliErrorTest : public ::testing::Test {
 protected:
  Sandbox box{::testing::UnitTest::GetInstance()->current_test_info()->name()};
};

TEST_F(CliErrorTest, UnknownConfigKeyNamesFileLineAndSuggests) {
  write_text(box.root() / "bad.yaml", "model:\n  d_model: 64\noptim:\n  lrr: 3e-4\n");
  const RunResult r = box.run("nurture train bad.yaml");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("nurture train: error: bad.yaml:4: key 'optim.lrr' is unknown; did you mean 'optim.lr'?", 0),
            0u)
      << r.err;
}

TEST_F(CliErrorTest, UnknownOverrideKeySuggests) {
  const RunResult r = box.run("nurture train configs/tiny.yaml optim.lrr=3e-4");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.err.rfind("nurture train: error: command line: 'optim.lrr=3e-4': key 'optim.lrr' is unknown; did you "
                        "mean 'optim.lr'?",
                        0),
            0u)
      << r.err;
}

TEST_F(CliErrorTest, BadValueInFileAndOnCommandLine) {
  write_text(box.root() / "bad.yaml", "precision:\n  dtype: fp8\n");
  RunResult r = box.run("nurture train bad.yaml");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.err, "nurture train: error: bad.yaml:2: 'precision.dtype' = 'fp8' is not one of fp32, bf16, fp16\n");

  r = box.run("nurture train configs/tiny.yaml optim.lr=-1");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.err, "nurture train: error: command line: 'optim.lr=-1': 'optim.lr' = -1 is out of range (0, inf)\n");

  r = box.run("nurture train configs/tiny.yaml train.steps=ten");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.err, "nurture train: error: command line: 'train.steps=ten': 'train.steps' = 'ten' is not an integer\n");
}

TEST_F(CliErrorTest, BadOverrideSyntax) {
  const RunResult r = box.run("nurture train configs/tiny.yaml optim.lr");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.err, "nurture train: error: command line: 'optim.lr': expected section.key=value, e.g. optim.lr=3e-4\n");
}

// Errors CLI11 finds while parsing (cli/main.cpp) exit with status 2, not 1.
TEST_F(CliErrorTest, MissingConfigFile) {
  const RunResult r = box.run("nurture train missing.yaml");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "nurture train: error: config: File does not exist: missing.yaml (see nurture train --help)\n");
}

TEST_F(CliErrorTest, SampleMissingCheckpoint) {
  const RunResult r = box.run("nurture sample missing.h5");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err,
            "nurture sample: error: checkpoint: File does not exist: missing.h5 (see nurture sample --help)\n");
}

TEST_F(CliErrorTest, SampleNotAnHdf5File) {
  write_text(box.root() / "notes.txt", "not a checkpoint\n");
  const RunResult r = box.run("nurture sample notes.txt");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "nurture sample: error: cannot read checkpoint 'notes.txt': not an HDF5 file (or the file is corrupt)\n");
}

TEST_F(CliErrorTest, SampleBadOptionValue) {
  write_text(box.root() / "notes.txt", "not a checkpoint\n");
  const RunResult r = box.run("nurture sample notes.txt --tokens 0");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "nurture sample: error: --tokens: Value 0 not in range 1 to 1048576 (see nurture sample --help)\n");
}

TEST_F(CliErrorTest, UnknownSubcommand) {
  const RunResult r = box.run("nurture evaluate runs/x");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err,
            "nurture: error: unknown command 'evaluate'; commands: train, sample, eval, ptq, analyze, report, sweep, "
            "import, cast (see nurture --help)\n");
}

TEST_F(CliErrorTest, CastBadValue) {
  const RunResult r = box.run("nurture cast abc");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(
      r.err,
      "nurture cast: bad value 'abc' (accepted: decimal like -1.5e-3, hex float like 0x1.8p-3, inf, -inf, nan)\n");
}

TEST_F(CliErrorTest, CastUnknownOption) {
  const RunResult r = box.run("nurture cast --hex 1");
  EXPECT_ONE_LINE_ERROR(r);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown option '--hex'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nurture::test
