// `mpirun -np 3 nurture sweep GRID`: rank 0 dispatches, ranks 1 and 2 run the variants.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/cli/cli_support.h"
#include "train/distributed.h"

namespace {

namespace fs = std::filesystem;
using nurture::test::RunResult;
using nurture::test::Sandbox;

TEST(DistributedSweep, RanksShareTheVariantsAndAFailureStaysWithItsVariant) {
  if (!nurture::train::dist::compiled_with_mpi() || std::string(NURTURE_MPIEXEC).empty())
    GTEST_SKIP() << "nurture was built without MPI (NURTURE_MPI=OFF): distributed sweep test skipped";
  Sandbox box("mpi-sweep");
  nurture::test::write_text(box.root() / "grid.yaml",
                            "name: mpisweep\n"
                            "base: configs/tiny.yaml\n"
                            "set:\n"
                            "  train.steps: 3\n"
                            "  train.eval_every: 0\n"
                            "  data.cache_dir: " NURTURE_TEST_CACHE
                            "\n"
                            "variants:\n"
                            "  a: {optim.lr: 0.001}\n"
                            "  b: {optim.lr: 0.002}\n"
                            "  broken: {data.corpus: datasets/no-such-corpus}\n"
                            "ptq: false\n"
                            "analyze: false\n");
  const RunResult r = box.run(std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") +
                              NURTURE_MPIEXEC + " --oversubscribe --allow-run-as-root --bind-to none -np 3 " +
                              "nurture sweep grid.yaml --threads-per-job 1");
  EXPECT_EQ(r.status, 1) << "one variant failed:\n" << r.both();
  for (const char* v : {"a", "b"}) {
    EXPECT_NE(r.out.find(std::string(v) + ": done (rank "), std::string::npos) << r.both();
    const fs::path run = box.root() / "runs/mpisweep" / v;
    EXPECT_TRUE(fs::exists(run / "checkpoints/step_0000003.h5")) << v;
    // The workers' training runs are ordinary single-process runs, not ranks of this job.
    EXPECT_EQ(nurture::test::read_text(run / "metrics.jsonl").find("allreduce_s"), std::string::npos) << v;
  }
  EXPECT_NE(r.out.find("broken: failed (rank "), std::string::npos) << r.both();
  EXPECT_NE(r.out.find("2 of 3 variant(s) done"), std::string::npos) << r.both();
  EXPECT_NE(nurture::test::read_text(box.root() / "runs/mpisweep/broken/status.json").find("failed"),
            std::string::npos);
}

}  // namespace
