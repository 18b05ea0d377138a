// `nurture sweep GRID.yaml`: train every variant of an experiment grid, then quantize and
// analyze its checkpoints (experiments/README.md, docs/CLI.md "nurture sweep").
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "data/file_io.h"
#include "experiments/grid.h"
#include "experiments/slurm.h"
#include "experiments/sweep.h"
#include "experiments/sweep_mpi.h"
#include "experiments/sweep_process.h"

namespace nurture::cli {

Action add_sweep(CLI::App& app) {
  struct Opts {
    std::string grid, only, slurm;
    int jobs = 1, threads = 0;
    bool dry_run = false;
  };
  auto o = std::make_shared<Opts>();
  // No CLI::ExistingFile: load_grid reports a missing file as one line.
  app.add_option("grid", o->grid, "Grid YAML file (see experiments/, experiments/README.md)")->required();
  app.add_option("--jobs,-j", o->jobs, "Variants to run in parallel (jobs x threads <= cores)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--threads-per-job", o->threads, "OpenMP threads per variant (0 = cores / jobs)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--only", o->only, "Run only the variants whose name matches this shell glob, e.g. 'wd=*'");
  app.add_flag("--dry-run", o->dry_run, "Print the expanded variants and the commands each stage would run");
  app.add_option("--emit-slurm", o->slurm, "Write an sbatch job-array script (one task per variant) and exit");
  app.footer(
      "Re-running the same command resumes: finished stages are skipped, interrupted training continues\n"
      "from its last checkpoint, failed variants are retried. Example: nurture sweep experiments/quick.yaml");
  return [o] {
    const experiments::Grid grid = experiments::load_grid(o->grid);
    experiments::SweepOptions opt;
    opt.jobs = o->jobs;
    opt.threads_per_job = o->threads;
    opt.only = o->only;
    opt.tty = ::isatty(STDOUT_FILENO) == 1;
    if (!o->slurm.empty()) {
      const auto selected = experiments::select_variants(grid, o->only);
      experiments::SlurmOptions so;
      so.exe = experiments::self_executable();
      so.grid_file = std::filesystem::absolute(o->grid).lexically_normal().string();
      so.workdir = std::filesystem::current_path().string();
      so.threads = o->threads > 0 ? o->threads : 1;
      core::write_file_atomic(o->slurm, experiments::slurm_script(grid, selected, so));
      data::ensure_directory(grid.out_dir);  // Slurm opens the tasks' --output files there
      ::chmod(o->slurm.c_str(), 0755);
      std::cout << "wrote " << o->slurm << ": an sbatch array of " << selected.size() << " task(s), " << so.threads
                << " CPU(s) each; submit with: sbatch " << o->slurm << "\n";
      return 0;
    }
    if (o->dry_run) {
      experiments::print_plan(grid, opt, std::cout);
      return 0;
    }
    if (experiments::sweep_launched_by_mpi()) return experiments::run_sweep_mpi(grid, opt, std::cout);
    return experiments::run_sweep(grid, opt, std::cout);
  };
}

}  // namespace nurture::cli
