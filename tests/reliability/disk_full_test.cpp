// A full disk (simulated with RLIMIT_FSIZE: write(2) then fails with EFBIG, as it would with
// ENOSPC) or an unwritable output directory stops training with a clear one-line error, and the
// previous checkpoint and the metrics written so far stay intact.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <sstream>

#include "config/config.h"
#include "nlohmann/json.hpp"
#include "reliability_support.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace nurture::test {
namespace {

config::Config tiny(const fs::path& root) {
  const std::string src = NURTURE_SOURCE_DIR;
  return config::load_config(src + "/configs/tiny.yaml",
                             {"output.dir=" + (root / "run").string(), "data.cache_dir=" + (root / "cache").string(),
                              "data.corpus=" + src + "/datasets/tinyshakespeare", "train.eval_every=0", "train.steps=8",
                              "train.checkpoint_every=2"});
}

// Limits the size of any file this process writes to `bytes` for its lifetime.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &ignore, &old_action_);
    getrlimit(RLIMIT_FSIZE, &old_);
    rlimit small = old_;
    small.rlim_cur = bytes;
    ok_ = setrlimit(RLIMIT_FSIZE, &small) == 0;
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    sigaction(SIGXFSZ, &old_action_, nullptr);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  struct sigaction old_action_ {};
  bool ok_ = false;
};

std::vector<int64_t> metric_steps(const fs::path& file) {
  std::vector<int64_t> steps;
  std::istringstream in(read_text(file));
  for (std::string line; std::getline(in, line);) steps.push_back(nlohmann::json::parse(line).at("step"));
  return steps;
}

bool has_temp_files(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

std::string run_until_error(train::Trainer& t) {
  try {
    t.run();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(DiskFull, CheckpointWriteFailsCleanlyAndKeepsThePreviousOne) {
  const TempDir root("diskfull-ckpt");
  std::ostringstream log;
  train::Trainer t(tiny(root), log);
  t.setup(false);
  t.run(/*stop_at=*/2);
  const fs::path ck2 = root / "run/checkpoints/step_0000002.h5";
  const std::string before = read_text(ck2);
  std::string err;
  {
    // Room for the metrics lines, not for a 2 MB checkpoint.
    FileSizeLimit limit(256 * 1024);
    ASSERT_TRUE(limit.ok());
    err = run_until_error(t);
  }
  EXPECT_EQ(err.rfind("cannot write checkpoint '" + (root / "run/checkpoints/step_0000004.h5").string() + "': ", 0), 0u)
      << err;
  EXPECT_NE(err.find("File too large"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  EXPECT_EQ(read_text(ck2), before);
  EXPECT_NO_THROW(train::read_checkpoint(ck2.string()));
  EXPECT_FALSE(fs::exists(root / "run/checkpoints/step_0000004.h5"));
  EXPECT_FALSE(has_temp_files(root / "run"));
  EXPECT_EQ(metric_steps(root / "run/metrics.jsonl"), (std::vector<int64_t>{1, 2, 3, 4}));

  // Space again: --resume continues from step 2 and finishes.
  train::Trainer again(tiny(root), log);
  again.setup(/*resume=*/true);
  EXPECT_EQ(again.steps_done(), 2);
  again.run();
  EXPECT_EQ(metric_steps(root / "run/metrics.jsonl"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 8}));
}

TEST(DiskFull, MetricsWriteFailureStopsTheRunInsteadOfDroppingResults) {
  const TempDir root("diskfull-metrics");
  std::ostringstream log;
  train::Trainer t(tiny(root), log);
  t.setup(false);
  t.run(/*stop_at=*/2);
  const fs::path metrics = root / "run/metrics.jsonl";
  const auto size = fs::file_size(metrics);
  std::string err;
  {
    FileSizeLimit limit(size + 10);  // the next line does not fit
    ASSERT_TRUE(limit.ok());
    err = run_until_error(t);
  }
  EXPECT_EQ(err, metrics.string() + ": write failed (File too large); free disk space, then resume with --resume");
  EXPECT_NO_THROW(train::read_checkpoint((root / "run/checkpoints/step_0000002.h5").string()));
  // The lines written before the failure are intact; the cut one is dropped on resume.
  train::Trainer again(tiny(root), log);
  again.setup(/*resume=*/true);
  EXPECT_EQ(metric_steps(metrics), (std::vector<int64_t>{1, 2}));
}

TEST(UnwritableOutput, OutputDirThatCannotBeCreatedIsOneClearLine) {
  const TempDir root("unwritable");
  write_text(root / "a-file", "x");  // a directory cannot be created below a regular file, even by root
  const auto args = tiny_train_args(root / "a-file/run", root / "cache", {"train.steps=2"});
  EXPECT_EQ(run_to_end(args, root / "out.log"), 1);
  const std::string out = read_text(root / "out.log");
  EXPECT_EQ(out, "nurture train: error: cannot create output directory '" + (root / "a-file/run/checkpoints").string() +
                     "': Not a directory; set output.dir to a writable directory\n");
}

TEST(UnwritableOutput, ReadOnlyRunDirectoryKeepsThePreviousCheckpoint) {
  if (::geteuid() == 0)
    GTEST_SKIP() << "root ignores directory permissions; the RLIMIT_FSIZE tests cover write failures";
  const TempDir root("readonly");
  std::ostringstream log;
  train::Trainer t(tiny(root), log);
  t.setup(false);
  t.run(/*stop_at=*/2);
  const fs::path ckdir = root / "run/checkpoints";
  fs::permissions(ckdir, fs::perms::owner_read | fs::perms::owner_exec);
  const std::string err = run_until_error(t);
  fs::permissions(ckdir, fs::perms::owner_all);
  EXPECT_NE(err.find("Permission denied"), std::string::npos) << err;
  EXPECT_NO_THROW(train::read_checkpoint((ckdir / "step_0000002.h5").string()));
}

}  // namespace
}  // namespace nurture::test
