// `mpirun -np 2 nurture train` against one process that computes the same batch slices.
//
// With N ranks and global batch B, rank r computes slice s = micro·N + r (B/N rows, its own
// dropout key) into a zeroed gradient buffer, and the ranks' gradients are added in rank order.
// One process with train.batch_size = B/N and train.grad_accum = N computes the same slices in
// the same order and adds them the same way, so the two runs must agree bit for bit: every
// metrics record (loss, grad norm, validation, fp16 telemetry) and every checkpoint array.
// Against one process with the whole batch B at once only the GEMMs' summation order differs
// (one reduction over B·T rows instead of two over B·T/2), hence the stated tolerance below.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_support.h"
#include "train/checkpoint.h"
#include "train/distributed.h"

namespace {

namespace fs = std::filesystem;
using nurture::test::RunResult;
using nurture::test::Sandbox;

bool have_mpi() { return nurture::train::dist::compiled_with_mpi() && std::string(NURTURE_MPIEXEC) != ""; }

#define REQUIRE_MPI() \
  if (!have_mpi()) GTEST_SKIP() << "nurture was built without MPI (NURTURE_MPI=OFF): data-parallel tests skipped"

// Six fp32 steps of configs/tiny.yaml with dropout (so the per-slice dropout keys matter),
// validation and a checkpoint at step 3 and at the end. The tokenizer cache is shared by the
// test processes (content-keyed, written atomically).
std::string train_args(const std::string& out, const std::string& extra) {
  return "train configs/tiny.yaml data.cache_dir=" + std::string(NURTURE_TEST_CACHE) +
         " train.steps=6 train.eval_every=3 train.checkpoint_every=3 model.dropout=0.1 output.dir=" + out + " " + extra;
}

// Rank placement is left to the OS (--bind-to none): the test machine is shared.
std::string mpirun(int np) {
  return std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") + NURTURE_MPIEXEC +
         " --oversubscribe --allow-run-as-root --bind-to none -np " + std::to_string(np) + " nurture ";
}

void must_succeed(const RunResult& r, const std::string& what) {
  ASSERT_EQ(r.status, 0) << what << " failed:\n" << r.both();
}

// metrics.jsonl without the timing fields (wall clock differs between any two runs).
std::vector<nlohmann::json> metrics(const fs::path& run) {
  std::vector<nlohmann::json> out;
  std::istringstream in(nurture::test::read_text(run / "metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    for (const char* k : {"tokens_per_s", "elapsed_s", "allreduce_s"}) j.erase(k);
    out.push_back(j);
  }
  return out;
}

nurture::train::Checkpoint checkpoint(const fs::path& run, int step) {
  char name[64];
  std::snprintf(name, sizeof name, "step_%07d.h5", step);
  return nurture::train::read_checkpoint((run / "checkpoints" / name).string());
}

// Number of arrays whose bytes differ (0 = bit-identical params, m and v).
int differing_arrays(const nurture::train::Checkpoint& a, const nurture::train::Checkpoint& b) {
  int bad = 0;
  auto cmp = [&](const std::vector<nurture::train::NamedArray>& x, const std::vector<nurture::train::NamedArray>& y) {
    if (x.size() != y.size()) return void(bad += 1000);
    for (size_t i = 0; i < x.size(); ++i)
      bad += x[i].name != y[i].name || x[i].data.size() != y[i].data.size() ||
             std::memcmp(x[i].data.data(), y[i].data.data(), x[i].data.size() * sizeof(float)) != 0;
  };
  cmp(a.params, b.params);
  cmp(a.m, b.m);
  cmp(a.v, b.v);
  return bad;
}

// Training records must match bit for bit. Validation runs on batches of train.batch_size rows,
// so the one-process run (batch B/2, twice the eval_batches) sees the same windows in half-size
// batches: only the forward GEMMs' shapes differ, hence a relative 1e-5 (fp32 forward noise is
// ~1e-7; validation loss is a mean over 1024 tokens).
void expect_same_records(const std::vector<nlohmann::json>& a, const std::vector<nlohmann::json>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].contains("val_loss")) {
      EXPECT_EQ(a[i]["step"], b[i]["step"]);
      const double x = a[i]["val_loss"], y = b[i]["val_loss"];
      EXPECT_NEAR(x, y, 1e-5 * std::abs(y)) << "validation record " << i;
    } else {
      EXPECT_EQ(a[i], b[i]) << "record " << i;
    }
  }
}

void expect_same_state(const nurture::train::Checkpoint& a, const nurture::train::Checkpoint& b) {
  EXPECT_EQ(a.state.ints.at("step"), b.state.ints.at("step"));
  EXPECT_EQ(a.state.ints.at("adam_step"), b.state.ints.at("adam_step"));
  EXPECT_EQ(a.state.uints.at("sampler_state"), b.state.uints.at("sampler_state"));
  EXPECT_EQ(a.state.reals.at("loss_scale"), b.state.reals.at("loss_scale"));
  EXPECT_EQ(a.state.ints.at("skipped_steps"), b.state.ints.at("skipped_steps"));
}

TEST(Distributed, SingleProcessIsRankZeroOfOne) {
  namespace dist = nurture::train::dist;
  EXPECT_EQ(dist::rank(), 0);
  EXPECT_EQ(dist::size(), 1);
  std::vector<float> g = {1.5f, -2.0f, 0.25f}, scratch;
  dist::sum_ordered(g.data(), 3, scratch);
  EXPECT_EQ(g, (std::vector<float>{1.5f, -2.0f, 0.25f}));
  EXPECT_EQ(dist::sum_ordered(0.75), 0.75);
  EXPECT_TRUE(dist::any(true));
  EXPECT_FALSE(dist::any(false));
}

// Restores an environment variable on scope exit.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_.c_str(), old_.c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

TEST(Distributed, LauncherIsDetectedFromItsEnvironment) {
  ScopedEnv a("OMPI_COMM_WORLD_RANK", nullptr), b("PMIX_RANK", nullptr), c("PMI_RANK", nullptr);
  EXPECT_FALSE(nurture::train::dist::launched_by_mpi());
  {
    ScopedEnv r("PMI_RANK", "1");
    EXPECT_TRUE(nurture::train::dist::launched_by_mpi());
  }
  if (nurture::train::dist::compiled_with_mpi()) return;  // a real Session would call MPI_Init
  // Without MPI compiled in, N copies under mpirun would all write one run directory: refuse.
  ScopedEnv r("OMPI_COMM_WORLD_RANK", "0"), n("OMPI_COMM_WORLD_SIZE", "2");
  try {
    nurture::train::dist::Session s(nullptr, nullptr);
    ADD_FAILURE() << "a 2-rank launch of a binary without MPI must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("built without MPI (NURTURE_MPI=OFF)"), std::string::npos) << e.what();
  }
}

TEST(Distributed, TwoRanksMatchOneProcessComputingTheSameSlicesBitForBit) {
  REQUIRE_MPI();
  Sandbox box("mpi-equal");
  must_succeed(box.run(mpirun(2) + train_args("runs/np2", "train.batch_size=8")), "np=2");
  must_succeed(
      box.run("nurture " + train_args("runs/np1", "train.batch_size=4 train.grad_accum=2 train.eval_batches=4")),
      "np=1");
  const auto m2 = metrics(box.root() / "runs/np2"), m1 = metrics(box.root() / "runs/np1");
  ASSERT_EQ(m2.size(), 8u) << "6 steps + 2 validations, written once (by rank 0)";
  expect_same_records(m2, m1);
  for (int step : {3, 6}) {
    const auto a = checkpoint(box.root() / "runs/np2", step), b = checkpoint(box.root() / "runs/np1", step);
    EXPECT_EQ(differing_arrays(a, b), 0) << "step " << step;
    expect_same_state(a, b);
  }
  EXPECT_GT(nurture::test::read_text(box.root() / "runs/np2/metrics.jsonl").find("allreduce_s"), 0u);
}

TEST(Distributed, ThreeRanksAddTheirSlicesInRankOrder) {
  // N > 2 takes the Alltoallv + ordered-sum path (N = 2 is exact with MPI_Allreduce): it must
  // give ((g0 + g1) + g2), what one process with grad_accum = 3 computes.
  REQUIRE_MPI();
  Sandbox box("mpi-three");
  must_succeed(box.run(mpirun(3) + train_args("runs/np3", "train.batch_size=12 train.steps=3 train.eval_every=0")),
               "np=3");
  must_succeed(box.run("nurture " + train_args("runs/np1",
                                               "train.batch_size=4 train.grad_accum=3 train.steps=3 "
                                               "train.eval_every=0 train.eval_batches=6")),
               "np=1");
  expect_same_records(metrics(box.root() / "runs/np3"), metrics(box.root() / "runs/np1"));
  EXPECT_EQ(differing_arrays(checkpoint(box.root() / "runs/np3", 3), checkpoint(box.root() / "runs/np1", 3)), 0);
}

TEST(Distributed, Fp16LossScalerSkipsAgreeAcrossRanks) {
  // A loss scale of 2^20 overflows fp16 gradients: the first four steps are skipped as the scale
  // halves to 2^16; both ranks (and the one-process run) must skip exactly the same steps.
  REQUIRE_MPI();
  Sandbox box("mpi-fp16");
  const std::string fp16 = " precision.dtype=fp16 precision.init_scale=1048576";
  must_succeed(box.run(mpirun(2) + train_args("runs/np2", "train.batch_size=8" + fp16)), "np=2");
  must_succeed(
      box.run("nurture " + train_args("runs/np1", "train.batch_size=4 train.grad_accum=2 train.eval_batches=4" + fp16)),
      "np=1");
  const auto m2 = metrics(box.root() / "runs/np2"), m1 = metrics(box.root() / "runs/np1");
  ASSERT_EQ(m2.size(), m1.size());
  expect_same_records(m2, m1);
  int skipped = 0;
  for (const auto& rec : m2) skipped += rec.value("skipped", false);
  EXPECT_GT(skipped, 0) << "the test needs overflowing steps";
  EXPECT_LT(skipped, 6) << "and some taken ones";
  EXPECT_EQ(differing_arrays(checkpoint(box.root() / "runs/np2", 6), checkpoint(box.root() / "runs/np1", 6)), 0);
}

TEST(Distributed, ResumeWorksWithADifferentRankCount) {
  // Checkpoints hold no per-rank state: step 3 written by one rank count, resumed by the other,
  // reaches the bits of the uninterrupted run at step 6.
  REQUIRE_MPI();
  Sandbox box("mpi-resume");
  must_succeed(box.run(mpirun(2) + train_args("runs/np2", "train.batch_size=8")), "np=2");
  must_succeed(
      box.run("nurture " + train_args("runs/np1", "train.batch_size=4 train.grad_accum=2 train.eval_batches=4")),
      "np=1");
  struct Case {
    std::string from, to, resume_cmd;
  } cases[] = {
      {"runs/np1", "runs/1to2", mpirun(2) + train_args("runs/1to2", "train.batch_size=8 --resume")},
      {"runs/np2", "runs/2to1",
       "nurture " + train_args("runs/2to1", "train.batch_size=4 train.grad_accum=2 train.eval_batches=4 --resume")},
  };
  for (const Case& c : cases) {
    fs::copy(box.root() / c.from, box.root() / c.to, fs::copy_options::recursive);
    fs::remove(box.root() / c.to / "checkpoints/step_0000006.h5");
    const RunResult r = box.run(c.resume_cmd);
    must_succeed(r, c.to);
    EXPECT_NE(r.err.find("resumed from"), std::string::npos) << r.err;
    EXPECT_EQ(differing_arrays(checkpoint(box.root() / c.to, 6), checkpoint(box.root() / "runs/np2", 6)), 0) << c.to;
    expect_same_records(metrics(box.root() / c.to), metrics(box.root() / "runs/np2"));
  }
}

TEST(Distributed, TwoRanksStayCloseToOneProcessWithTheWholeBatch) {
  // One process with B = 8 draws the same rows but keys the dropout masks of all of them by
  // micro-batch 0, so this comparison runs without dropout. What remains is the fp32 summation
  // order of the weight-gradient GEMMs (B·T = 512 rows reduced in one GEMM vs two halves of 256
  // added): ~1e-7 relative per gradient element, which AdamW's normalised step turns into weight
  // changes of order lr·1e-7. Measured on this config over 50 steps: losses within 4.7e-8 and
  // gradient norms within 2.9e-8 relative. 1e-6 leaves 20x margin and still catches a wrong row
  // slice (the loss) or a wrong gradient scale (the norm; AdamW itself is scale-invariant).
  REQUIRE_MPI();
  Sandbox box("mpi-close");
  must_succeed(box.run(mpirun(2) + train_args("runs/np2", "train.batch_size=8 model.dropout=0")), "np=2");
  must_succeed(box.run("nurture " + train_args("runs/np1", "train.batch_size=8 model.dropout=0")), "np=1");
  const auto m2 = metrics(box.root() / "runs/np2"), m1 = metrics(box.root() / "runs/np1");
  ASSERT_EQ(m2.size(), m1.size());
  for (size_t i = 0; i < m1.size(); ++i) {
    for (const char* key : {"loss", "val_loss", "grad_norm"}) {
      if (!m1[i].contains(key)) continue;
      const double a = m2[i][key], b = m1[i][key];
      EXPECT_NEAR(a, b, 1e-6 * std::abs(b)) << key << " in record " << i;
    }
  }
}

TEST(Distributed, BatchNotDivisibleByRanksIsOneLineError) {
  REQUIRE_MPI();
  Sandbox box("mpi-error");
  const RunResult r = box.run(mpirun(2) + train_args("runs/bad", "train.batch_size=7"));
  EXPECT_NE(r.status, 0);
  size_t lines = 0;
  for (size_t p = r.err.find("nurture train: error:"); p != std::string::npos;
       p = r.err.find("nurture train: error:", p + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << "rank 0 reports a config error once:\n" << r.err;
  EXPECT_NE(r.err.find("train.batch_size 7 is not a multiple of the 2 MPI ranks"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(box.root() / "runs/bad/metrics.jsonl"));
}

}  // namespace
