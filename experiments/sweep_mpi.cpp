#include "experiments/sweep_mpi.h"

#include <algorithm>
#include <chrono>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "experiments/sweep_progress.h"
#include "experiments/sweep_status.h"
#include "train/distributed.h"

namespace nurture::experiments {

namespace dist = train::dist;

namespace {
// Worker → rank 0: {finished variant index or -1 for "ready", its exit status}.
// Rank 0 → worker: {next variant index, or -1 for "no more work"}.
constexpr int64_t kNone = -1;

int worker_threads(const SweepOptions& opt) {
  if (opt.threads_per_job > 0) return opt.threads_per_job;
  // The ranks on one node share its cores.
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  return std::max(1, cores / dist::local_size());
}
}  // namespace

bool sweep_launched_by_mpi() { return dist::launched_by_mpi(); }

int run_sweep_mpi(const Grid& grid, const SweepOptions& opt, std::ostream& out) {
  dist::Session mpi(nullptr, nullptr);
  const int threads = worker_threads(opt);  // reads the launcher's OMPI_COMM_WORLD_LOCAL_SIZE
  // Children inheriting the launcher's variables would join this job in their parent's place.
  dist::hide_launcher_environment();
  const auto selected = select_variants(grid, opt.only);
  const int N = dist::size();
  if (N == 1) return run_sweep(grid, opt, out);

  if (dist::is_root()) {
    const auto t0 = std::chrono::steady_clock::now();
    out << "sweep " << grid.name << ": " << selected.size() << " variant(s) into " << grid.out_dir << "/, " << N - 1
        << " MPI worker rank(s), dispatched by rank 0\n"
        << std::flush;
    size_t next = 0;
    int active = N - 1, done = 0;
    std::vector<std::string> failed;
    while (active > 0) {
      int64_t msg[2];
      const int src = dist::recv_any(msg, 2);
      if (msg[0] != kNone) {
        const std::string& name = selected[size_t(msg[0])]->name;
        const bool ok = msg[1] == 0;
        if (ok)
          ++done;
        else
          failed.push_back(name);
        out << name << ": " << (ok ? "done" : "failed") << " (rank " << src << "; " << grid.out_dir << "/" << name
            << "/status.json)\n"
            << std::flush;
      }
      int64_t reply[1] = {next < selected.size() ? int64_t(next++) : kNone};
      if (reply[0] == kNone)
        --active;
      else
        out << selected[size_t(reply[0])]->name << ": started on rank " << src << "\n" << std::flush;
      dist::send(src, reply, 1);
    }
    write_sweep_json(grid);
    out << "sweep " << grid.name << ": " << done << " of " << selected.size() << " variant(s) done in "
        << short_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count())
        << "; results in " << grid.out_dir << "/ (nurture report " << grid.out_dir << ")\n";
    if (!failed.empty()) {
      std::string list;
      for (const auto& n : failed) list += (list.empty() ? "" : ", ") + n;
      out << "sweep: " << failed.size() << " variant(s) failed: " << list
          << " (each variant's status.json and log say why; re-run the same command to retry them)\n";
      return 1;
    }
    return 0;
  }

  // Workers: one variant at a time, each exactly as `nurture sweep GRID --only <name>` (variant
  // names are valid globs that match only themselves). Their own progress output is dropped:
  // rank 0 reports, and every variant's log and status.json are on disk.
  SweepOptions one = opt;
  one.jobs = 1;
  one.threads_per_job = threads;
  one.tty = false;
  std::ostream quiet(nullptr);
  int64_t msg[2] = {kNone, 0};
  for (;;) {
    dist::send(0, msg, 2);
    int64_t reply[1];
    dist::recv(0, reply, 1);
    if (reply[0] == kNone) break;
    one.only = selected[size_t(reply[0])]->name;
    int rc = 1;
    try {
      rc = run_sweep(grid, one, quiet);
    } catch (const std::exception&) {  // recorded in the variant's status.json where possible
      rc = 1;
    }
    msg[0] = reply[0];
    msg[1] = rc;
  }
  return 0;
}

}  // namespace nurture::experiments
