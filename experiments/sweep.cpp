// The sweep runner: a pool of `jobs` workers, each taking the next variant and running its
// stages in order as child processes. All state that must survive a crash is on disk
// (status.json, the stages' own outputs), so re-running the same command picks up where it
// stopped.
#include "experiments/sweep.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <ostream>
#include <set>
#include <thread>

#include "config/config_error.h"
#include "core/atomic_file.h"
#include "data/file_io.h"
#include "experiments/sweep_process.h"
#include "experiments/sweep_progress.h"
#include "experiments/sweep_status.h"

namespace nurture::experiments {

namespace fs = std::filesystem;

namespace {

std::string step_stem(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step_%07lld", static_cast<long long>(step));
  return buf;
}

std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
  return buf;
}

void append_log(const fs::path& log, const std::string& text) {
  std::ofstream out(log, std::ios::app | std::ios::binary);
  out << text << std::flush;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One process at a time per variant: a second sweep (another shell, another Slurm task) on
// the same tree leaves a busy variant alone instead of training it twice into one directory.
class VariantLock {
 public:
  explicit VariantLock(const fs::path& dir) {
    fd_ = ::open((dir / ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    held_ = fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  }
  ~VariantLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  VariantLock(const VariantLock&) = delete;
  VariantLock& operator=(const VariantLock&) = delete;
  bool held() const { return held_; }

 private:
  int fd_ = -1;
  bool held_ = false;
};

struct Shared {
  const Grid& grid;
  const SweepOptions& opt;
  std::string exe;
  int threads = 1;
  SweepProgress& progress;
  std::mutex sweep_json;  // sweep.json is rewritten by every worker

  void publish() {
    std::lock_guard lock(sweep_json);
    write_sweep_json(grid);
  }
};

enum class Outcome { done, failed, busy };

struct VariantResult {
  Outcome outcome = Outcome::done;
  std::string summary;  // one line
};

// Runs one variant's stages; every failure is recorded in status.json and returned, never thrown.
VariantResult run_variant(const GridVariant& v, Shared& sh) {
  const Grid& g = sh.grid;
  const fs::path dir = variant_dir(g, v);
  data::ensure_directory(dir);
  VariantLock lock(dir);
  if (!lock.held()) return {Outcome::busy, "skipped: another nurture sweep is running this variant"};
  const fs::path log = dir / "log";
  VariantStatus st = read_status(dir);
  const std::vector<std::string> stages = grid_stages(g);
  const std::vector<int64_t> steps = evaluated_steps(g, v);
  const double post_share = stages.size() > 1 ? 0.25 / double(stages.size() - 1) : 0.0;

  auto save = [&] {
    write_status(dir, st);
    sh.publish();
  };
  auto fail = [&](const std::string& stage, const std::string& why) {
    st.stages[stage] = "failed";
    const std::string tail = log_tail(log, 15);
    st.error = stage + ": " + why + (tail.empty() ? "" : "\n" + tail);
    save();
    return VariantResult{Outcome::failed, stage + " failed (" + why + "); log: " + log.string()};
  };
  std::set<std::string> ran;  // stages that did work in this sweep
  auto run_stage_command = [&](const std::string& stage, const std::vector<std::string>& argv) {
    if (ran.insert(stage).second) st.cpu_seconds[stage] = 0;
    append_log(log, "\n== nurture sweep: " + stage + ", " + timestamp() + " ==\n$ " + shell_join(argv) + "\n");
    double cpu = 0;
    const int rc = run_logged(argv, log, sh.threads, &cpu);
    st.cpu_seconds[stage] += cpu;
    return rc;
  };

  // How much of this variant earlier sweeps finished, for the ETA.
  const fs::path final_ckpt = checkpoint_path(g, v, v.steps);
  const bool train_done = st.stage("train") == "done" && fs::exists(final_ckpt);
  double baseline = train_done ? 0.75 : 0.0;
  for (size_t i = 1; i < stages.size(); ++i)
    if (train_done && st.stage(stages[i]) == "done") baseline += post_share;
  sh.progress.begin(v.name, baseline);

  if (!train_done) {
    st.error.clear();
    st.stages["train"] = "running";
    save();
    sh.progress.stage(v.name, "train", 0.0, dir / "metrics.jsonl", v.steps);
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = run_stage_command("train", train_command(g, v, sh.exe, sh.threads));
    st.seconds["train"] = seconds_since(t0);
    if (rc != 0) return fail("train", "nurture train: " + describe_status(rc));
    if (!fs::exists(final_ckpt)) return fail("train", "finished without writing " + final_ckpt.string());
    st.stages["train"] = "done";
    save();
  }

  double fraction = 0.75;
  for (size_t si = 1; si < stages.size(); ++si) {
    const std::string& stage = stages[si];
    const std::string file = stage_output_file(stage);
    bool all_there = true;
    for (int64_t s : steps) all_there = all_there && fs::exists(fs::path(stage_output_dir(g, v, stage, s)) / file);
    if (st.stage(stage) == "done" && all_there) {
      fraction += post_share;
      continue;
    }
    st.error.clear();
    st.stages[stage] = "running";
    save();
    sh.progress.stage(v.name, stage, fraction);
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < steps.size(); ++i) {
      const fs::path out = stage_output_dir(g, v, stage, steps[i]);
      sh.progress.post_step(v.name, stage, int(i), int(steps.size()), fraction + post_share * double(i) / steps.size());
      if (fs::exists(out / file)) continue;
      const std::string ckpt = checkpoint_path(g, v, steps[i]);
      if (!fs::exists(ckpt))
        return fail(stage, "checkpoint " + ckpt +
                               " is missing (was the variant trained with another 'every'? "
                               "delete its checkpoints/ to retrain)");
      const auto argv = sh.opt.post_command ? sh.opt.post_command(stage, ckpt, out.string(), sh.threads)
                                            : post_stage_command(g, stage, sh.exe, ckpt, out.string(), sh.threads);
      const int rc = run_stage_command(stage, argv);
      st.seconds[stage] = seconds_since(t0);
      if (rc != 0) return fail(stage, "nurture " + stage + " on " + step_stem(steps[i]) + ": " + describe_status(rc));
      if (!fs::exists(out / file)) return fail(stage, "finished without writing " + (out / file).string());
    }
    st.seconds[stage] = seconds_since(t0);
    st.stages[stage] = "done";
    save();
    fraction += post_share;
  }
  std::string times;
  for (const auto& s : stages)
    if (ran.count(s))
      times += (times.empty() ? "" : ", ") + s + " " + short_duration(st.seconds.at(s)) + " (cpu " +
               short_duration(st.cpu_seconds[s]) + ")";
  return {Outcome::done, "done" + (times.empty() ? std::string(" (nothing left to do)") : " (" + times + ")")};
}

}  // namespace

std::vector<const GridVariant*> select_variants(const Grid& grid, const std::string& only) {
  std::vector<const GridVariant*> out;
  for (const auto& v : grid.variants)
    if (only.empty() || ::fnmatch(only.c_str(), v.name.c_str(), 0) == 0) out.push_back(&v);
  if (out.empty()) {
    std::string names;
    for (const auto& v : grid.variants) names += (names.empty() ? "" : ", ") + v.name;
    throw config::ConfigError("--only '" + only + "' matches no variant of " + grid.file + " (variants: " + names +
                              "; patterns are shell globs, e.g. 'wd=*')");
  }
  return out;
}

int resolve_threads(int jobs, int threads_per_job, int cores) {
  if (jobs < 1) throw config::ConfigError("--jobs must be at least 1");
  cores = std::max(cores, 1);
  if (jobs > cores)
    throw config::ConfigError("--jobs " + std::to_string(jobs) + " exceeds the " + std::to_string(cores) +
                              " cores of this machine; use --jobs " + std::to_string(cores) + " or fewer");
  const int t = threads_per_job > 0 ? threads_per_job : std::max(1, cores / jobs);
  if (jobs * t > cores)
    throw config::ConfigError("--jobs " + std::to_string(jobs) + " x --threads-per-job " + std::to_string(t) + " = " +
                              std::to_string(jobs * t) + " threads exceeds the " + std::to_string(cores) +
                              " cores; lower one of them");
  return t;
}

std::string checkpoint_path(const Grid& grid, const GridVariant& v, int64_t step) {
  return (fs::path(variant_dir(grid, v)) / "checkpoints" / (step_stem(step) + ".h5")).string();
}

std::string stage_output_dir(const Grid& grid, const GridVariant& v, const std::string& stage, int64_t step) {
  return (fs::path(variant_dir(grid, v)) / (stage == "ptq" ? "eval" : "analysis") / step_stem(step)).string();
}

std::string stage_output_file(const std::string& stage) { return stage == "ptq" ? "ptq.json" : "analysis.json"; }

std::vector<std::string> train_command(const Grid& grid, const GridVariant& v, const std::string& exe, int threads) {
  std::vector<std::string> argv{exe, "train", grid.base_file};
  for (auto& o : train_overrides(grid, v)) argv.push_back(o);
  argv.push_back("train.threads=" + std::to_string(threads));
  argv.push_back("--resume");
  return argv;
}

std::vector<std::string> post_stage_command(const Grid& grid, const std::string& stage, const std::string& exe,
                                            const std::string& checkpoint, const std::string& out_dir, int threads) {
  const GridSettings& s = grid.settings;
  std::vector<std::string> argv{exe, stage, checkpoint, "--out", out_dir, "--threads", std::to_string(threads)};
  if (stage == "ptq") {
    if (!s.recipes.empty()) {
      std::string list;
      for (const auto& r : s.recipes) list += (list.empty() ? "" : ",") + r;
      argv.insert(argv.end(), {"--recipes", list});
    }
    argv.insert(argv.end(), {"--suite", s.suite, "--baseline", s.baseline});
    if (s.limit > 0) argv.insert(argv.end(), {"--limit", std::to_string(s.limit)});
  } else {
    // The analysis describes the model in the format PTQ quantizes from.
    argv.insert(argv.end(), {"--sequences", std::to_string(s.analyze_sequences), "--precision", s.baseline});
  }
  return argv;
}

void print_plan(const Grid& grid, const SweepOptions& opt, std::ostream& out) {
  const auto selected = select_variants(grid, opt.only);
  const int threads = resolve_threads(opt.jobs, opt.threads_per_job, int(std::thread::hardware_concurrency()));
  const std::string exe = "nurture";
  const auto stages = grid_stages(grid);
  out << "grid " << grid.name << " (" << grid.file << "): " << grid.variants.size() << " variants";
  if (selected.size() != grid.variants.size()) out << ", " << selected.size() << " selected by --only";
  out << "\n  base " << grid.base_file << (grid.base_inline_yaml.empty() ? "" : " (inline in the grid file)")
      << "\n  output " << grid.out_dir << "/<variant>/\n  stages";
  for (const auto& s : stages) out << " " << s;
  if (grid.settings.ptq) {
    out << "\n  ptq: suite " << grid.settings.suite << ", baseline " << grid.settings.baseline << ", recipes ";
    if (grid.settings.recipes.empty()) out << "(ptq's defaults)";
    for (size_t i = 0; i < grid.settings.recipes.size(); ++i) out << (i ? "," : "") << grid.settings.recipes[i];
    if (grid.settings.limit > 0) out << ", limit " << grid.settings.limit;
  }
  out << "\n  evaluated checkpoints: "
      << (grid.settings.every > 0 ? "every " + std::to_string(grid.settings.every) + " steps and the last" : "the last")
      << "\n  " << opt.jobs << " job(s) x " << threads << " thread(s)\n";
  for (const GridVariant* v : selected) {
    const VariantStatus st = read_status(variant_dir(grid, *v));
    out << "\n" << v->name << (v->control ? "  [control]" : "") << "  (" << st.overall(stages) << ")\n";
    out << "  train    " << shell_join(train_command(grid, *v, exe, threads)) << "\n";
    // Keys stated relative to the run: the value it is given here next to the one it trains with.
    for (const auto& d : v->derived)
      out << "  derived  " << d.absolute << "=" << d.value << " (from " << d.relative << "=" << d.relative_value
          << ")\n";
    const auto steps = evaluated_steps(grid, *v);
    for (size_t i = 1; i < stages.size(); ++i) {
      std::string at;
      for (int64_t s : steps) at += (at.empty() ? "" : ", ") + std::to_string(s);
      out << "  " << stages[i] << std::string(9 - stages[i].size(), ' ')
          << shell_join(post_stage_command(grid, stages[i], exe, checkpoint_path(grid, *v, steps.back()),
                                           stage_output_dir(grid, *v, stages[i], steps.back()), threads))
          << (steps.size() > 1 ? "\n           (at steps " + at + ")" : "") << "\n";
    }
  }
}

int run_sweep(const Grid& grid, const SweepOptions& opt, std::ostream& out) {
  const auto selected = select_variants(grid, opt.only);
  const int threads = resolve_threads(opt.jobs, opt.threads_per_job, int(std::thread::hardware_concurrency()));
  data::ensure_directory(grid.out_dir);
  if (!grid.base_inline_yaml.empty()) core::write_file_atomic(grid.base_file, grid.base_inline_yaml);

  SweepProgress progress(out, opt.tty, opt.status_interval_s, int(selected.size()), opt.jobs);
  Shared sh{grid, opt, opt.exe.empty() ? self_executable() : opt.exe, threads, progress, {}};
  sh.publish();
  out << "sweep " << grid.name << ": " << selected.size() << " variant(s) into " << grid.out_dir << "/, "
      << std::min<size_t>(opt.jobs, selected.size()) << " job(s) x " << threads << " thread(s)\n"
      << std::flush;

  std::vector<VariantResult> results(selected.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> stop_ticker{false};
  auto worker = [&] {
    for (size_t i; (i = next++) < selected.size();) {
      try {
        results[i] = run_variant(*selected[i], sh);
      } catch (const std::exception& e) {  // disk full, unwritable directory, ...
        results[i] = {Outcome::failed, std::string("sweep error: ") + e.what()};
      }
      progress.end(selected[i]->name, results[i].summary);
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::mutex tick_mu;
  std::condition_variable tick_cv;
  std::thread ticker([&] {
    std::unique_lock lock(tick_mu);
    while (!tick_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stop_ticker.load(); })) progress.tick();
  });
  std::vector<std::thread> pool;
  for (int j = 0; j < std::min<int>(opt.jobs, int(selected.size())); ++j) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  {
    std::lock_guard lock(tick_mu);
    stop_ticker = true;
  }
  tick_cv.notify_all();
  ticker.join();
  progress.finish();
  sh.publish();

  int done = 0;
  std::vector<std::string> failed, busy;
  for (size_t i = 0; i < selected.size(); ++i) {
    if (results[i].outcome == Outcome::done) ++done;
    if (results[i].outcome == Outcome::failed) failed.push_back(selected[i]->name);
    if (results[i].outcome == Outcome::busy) busy.push_back(selected[i]->name);
  }
  out << "sweep " << grid.name << ": " << done << " of " << selected.size() << " variant(s) done in "
      << short_duration(seconds_since(t0)) << "; results in " << grid.out_dir << "/ (nurture report " << grid.out_dir
      << ")\n";
  auto list = [](const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
  };
  if (!busy.empty()) out << "sweep: skipped (running in another process): " << list(busy) << "\n";
  if (!failed.empty()) {
    out << "sweep: " << failed.size() << " variant(s) failed: " << list(failed)
        << " (each variant's status.json and log say why; re-run the same command to retry them)\n";
    return 1;
  }
  return 0;
}

}  // namespace nurture::experiments
