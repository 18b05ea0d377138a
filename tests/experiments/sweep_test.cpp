// The sweep runner on a tiny model with a few steps: real `nurture train` children, a
// stand-in for ptq/analyze (a shell command that writes the expected output file and counts
// its calls), failures that stay contained, and resuming after an interruption.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/config_error.h"
#include "experiments/grid.h"
#include "experiments/slurm.h"
#include "experiments/sweep.h"
#include "experiments/sweep_progress.h"
#include "experiments/sweep_status.h"
#include "tests/support/support.h"

namespace nurture::experiments {
namespace {

namespace fs = std::filesystem;
const std::string kSrc = NURTURE_SOURCE_DIR;

using test::read_text;

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

class SweepTest : public ::testing::Test {
 protected:
  // A grid on configs/tiny.yaml shrunk to a few seconds per variant.
  Grid grid(const std::string& variants, int steps = 6, const std::string& extra = "every: 3\n") {
    const std::string yaml = "name: t\nbase: " + kSrc + "/configs/tiny.yaml\nout: " + (root_ / "runs").string() +
                             "\nset:\n  data.corpus: " + kSrc +
                             "/datasets/tinyshakespeare\n  train.steps: " + std::to_string(steps) +
                             "\n  train.batch_size: 4\n  train.eval_every: 0\n  train.eval_batches: 1\n"
                             "  train.log_every: 1\nvariants:\n" +
                             variants + extra;
    const fs::path file = root_ / "grid.yaml";
    std::ofstream(file) << yaml;
    return load_grid(file.string());
  }

  // ptq / analyze stand-in: writes the output file; fails for variants whose path holds "ptqfail".
  SweepOptions options() {
    SweepOptions o;
    o.exe = NURTURE_BIN;
    o.jobs = 1;
    o.threads_per_job = 1;
    const std::string counter = (root_ / "calls").string();
    o.post_command = [counter](const std::string& stage, const std::string& ckpt, const std::string& out, int) {
      const std::string file = stage == "ptq" ? "ptq.json" : "analysis.json";
      return std::vector<std::string>{
          "/bin/sh",
          "-c",
          "case \"$2\" in *ptqfail*) echo 'stand-in ptq failed' >&2; exit 3;; esac; mkdir -p \"$2\" && "
          "echo '{}' > \"$2/$3\" && echo \"$0 $1\" >> \"$4\"",
          stage,
          ckpt,
          out,
          file,
          counter};
    };
    return o;
  }

  std::string calls() { return read_text(root_ / "calls"); }

  test::TempDir root_{std::string("sweep-test-") + ::testing::UnitTest::GetInstance()->current_test_info()->name()};
};

TEST_F(SweepTest, RunsEveryStageAndWritesTheContractFiles) {
  const Grid g = grid("  a: {}\n  b: {optim.weight_decay: 0.01}\n");
  std::ostringstream out;
  ASSERT_EQ(run_sweep(g, options(), out), 0) << out.str();
  for (const char* v : {"a", "b"}) {
    const fs::path dir = root_ / "runs" / v;
    EXPECT_TRUE(fs::exists(dir / "checkpoints/step_0000003.h5"));
    EXPECT_TRUE(fs::exists(dir / "checkpoints/step_0000006.h5"));
    EXPECT_TRUE(fs::exists(dir / "eval/step_0000003/ptq.json"));
    EXPECT_TRUE(fs::exists(dir / "analysis/step_0000006/analysis.json"));
    const auto st = nlohmann::json::parse(read_text(dir / "status.json"));
    EXPECT_EQ(st["stages"]["train"], "done");
    EXPECT_EQ(st["stages"]["ptq"], "done");
    EXPECT_EQ(st["stages"]["analyze"], "done");
    EXPECT_GT(st["cpu_seconds"]["train"].get<double>(), 0.0);
  }
  EXPECT_EQ(count_of(calls(), "\n"), 8);  // 2 variants x 2 checkpoints x (ptq, analyze)
  const auto sweep = nlohmann::json::parse(read_text(root_ / "runs/sweep.json"));
  EXPECT_EQ(sweep["format"], "nurture-sweep-v1");
  EXPECT_EQ(sweep["grid"], "t");
  EXPECT_EQ(sweep["variants"][1]["name"], "b");
  EXPECT_EQ(sweep["variants"][1]["status"], "done");
  EXPECT_EQ(sweep["variants"][1]["axis_values"]["optim.weight_decay"], "0.01");
  EXPECT_EQ(sweep["variants"][0]["axis_values"]["optim.weight_decay"], "0.1");
}

TEST_F(SweepTest, AFailingVariantDoesNotStopTheOthers) {
  const Grid g =
      grid("  broken: {data.corpus: " + (root_ / "missing").string() + "}\n  ptqfail: {}\n  good: {optim.lr: 0.002}\n");
  SweepOptions opt = options();
  opt.jobs = 2;
  std::ostringstream out;
  EXPECT_EQ(run_sweep(g, opt, out), 1);
  EXPECT_NE(out.str().find("2 variant(s) failed: broken, ptqfail"), std::string::npos) << out.str();
  const auto broken = read_status(root_ / "runs/broken");
  EXPECT_EQ(broken.stages.at("train"), "failed");
  EXPECT_NE(broken.error.find("does not exist"), std::string::npos) << broken.error;  // the log tail
  const auto ptqfail = read_status(root_ / "runs/ptqfail");
  EXPECT_EQ(ptqfail.stages.at("train"), "done");
  EXPECT_EQ(ptqfail.stages.at("ptq"), "failed");
  EXPECT_EQ(ptqfail.stage("analyze"), "pending");
  EXPECT_NE(ptqfail.error.find("stand-in ptq failed"), std::string::npos) << ptqfail.error;
  EXPECT_EQ(read_status(root_ / "runs/good").overall(grid_stages(g)), "done");
  const auto sweep = nlohmann::json::parse(read_text(root_ / "runs/sweep.json"));
  EXPECT_EQ(sweep["variants"][0]["status"], "failed");
  EXPECT_EQ(sweep["variants"][2]["status"], "done");
}

TEST_F(SweepTest, ReRunningSkipsFinishedStagesAndResumesInterruptedTraining) {
  const Grid g = grid("  a: {}\n");
  std::ostringstream out;
  ASSERT_EQ(run_sweep(g, options(), out), 0) << out.str();
  ASSERT_EQ(count_of(calls(), "\n"), 4);

  // What a sweep killed during the second half of training leaves behind: the mid-run
  // checkpoint, no final one, and a status that says train was running.
  const fs::path dir = root_ / "runs/a";
  fs::remove(dir / "checkpoints/step_0000006.h5");
  fs::remove_all(dir / "eval/step_0000006");
  fs::remove_all(dir / "analysis/step_0000006");
  VariantStatus st = read_status(dir);
  st.stages["train"] = "running";
  write_status(dir, st);

  std::ostringstream again;
  ASSERT_EQ(run_sweep(g, options(), again), 0) << again.str();
  const std::string log = read_text(dir / "log");
  EXPECT_NE(log.find("resumed from"), std::string::npos) << log;
  EXPECT_NE(log.find("at step 3"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(dir / "checkpoints/step_0000006.h5"));
  // Only the missing outputs were produced again.
  EXPECT_EQ(count_of(calls(), "\n"), 6);
  EXPECT_EQ(count_of(calls(), "step_0000003"), 2);

  // A finished sweep does nothing the third time.
  std::ostringstream third;
  ASSERT_EQ(run_sweep(g, options(), third), 0);
  EXPECT_EQ(count_of(calls(), "\n"), 6);
  EXPECT_EQ(count_of(read_text(dir / "log"), "== nurture sweep: train"), 2);
  EXPECT_NE(third.str().find("nothing left to do"), std::string::npos) << third.str();
}

TEST_F(SweepTest, AKilledSweepResumesFromTheLastCheckpoint) {
  // Real interruption: the `nurture sweep` process is killed mid-training (its trainer child
  // gets SIGTERM with it); the next sweep continues from the newest checkpoint.
  const Grid g = grid("  a: {}\n", 400, "every: 5\nptq: false\nanalyze: false\n");
  const fs::path dir = root_ / "runs/a";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execl(NURTURE_BIN, NURTURE_BIN, "sweep", (root_ / "grid.yaml").c_str(), "--threads-per-job", "1",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(dir / "checkpoints/step_0000010.h5") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(fs::exists(dir / "checkpoints/step_0000010.h5"));
  // Give the orphaned trainer a moment to receive its SIGTERM and exit.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(read_status(dir).stage("train"), "running");
  ASSERT_FALSE(fs::exists(dir / "checkpoints/step_0000400.h5")) << "training finished before the kill";

  std::ostringstream out;
  ASSERT_EQ(run_sweep(g, options(), out), 0) << out.str();
  EXPECT_NE(read_text(dir / "log").find("resumed from"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "checkpoints/step_0000400.h5"));
  EXPECT_EQ(read_status(dir).stage("train"), "done");
}

TEST_F(SweepTest, SelectionThreadsAndSlurm) {
  const Grid g = grid("  wd=0.01: {wd: 0.01}\n  wd=0.1: {wd: 0.1}\n  fp16: {dtype: fp16}\n");
  EXPECT_EQ(select_variants(g, "wd=*").size(), 2u);
  EXPECT_EQ(select_variants(g, "fp16").size(), 1u);
  EXPECT_THROW(select_variants(g, "nope"), config::ConfigError);
  EXPECT_EQ(resolve_threads(2, 0, 8), 4);
  EXPECT_EQ(resolve_threads(1, 0, 2), 2);
  EXPECT_THROW(resolve_threads(2, 2, 2), config::ConfigError);
  EXPECT_THROW(resolve_threads(3, 0, 2), config::ConfigError);

  SlurmOptions so{"/opt/nurture", "/work/g.yaml", "/work", 4};
  const std::string script = slurm_script(g, select_variants(g, ""), so);
  EXPECT_NE(script.find("#SBATCH --array=0-2\n"), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --cpus-per-task=4\n"), std::string::npos);
  EXPECT_NE(script.find("  wd=0.01\n"), std::string::npos);
  EXPECT_NE(script.find("/opt/nurture sweep /work/g.yaml --only \"${VARIANTS[$SLURM_ARRAY_TASK_ID]}\""),
            std::string::npos);

  std::ostringstream plan;
  SweepOptions opt = options();
  opt.only = "fp16";
  opt.threads_per_job = 0;
  print_plan(g, opt, plan);
  EXPECT_NE(plan.str().find("precision.dtype=fp16"), std::string::npos) << plan.str();
  EXPECT_EQ(plan.str().find("\nwd=0.01"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "runs")) << "--dry-run must not write";
}

TEST(SweepProgressTest, PlainLinesForLogs) {
  std::ostringstream out;
  SweepProgress p(out, /*tty=*/false, /*status_interval_s=*/0, /*variants=*/2, /*jobs=*/1);
  p.begin("a", 0.0);
  p.stage("a", "train", 0.0);
  p.tick();
  p.end("a", "done (train 1s)");
  p.finish();
  const std::string text = out.str();
  EXPECT_NE(text.find("sweep: a: train started\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sweep: 0/2 variants finished, 1 running"), std::string::npos) << text;
  EXPECT_NE(text.find("sweep: [1/2] a: done (train 1s)\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('\033'), std::string::npos) << "no terminal escapes in plain mode";
  EXPECT_EQ(short_duration(42), "42s");
  EXPECT_EQ(short_duration(185), "3m05s");
  EXPECT_EQ(short_duration(3720), "1h02m");
}

}  // namespace
}  // namespace nurture::experiments
