// Kill -9 harness: `nurture train` is SIGKILLed at random moments (checkpoint writes slowed to
// widen that window), resumed each time, and must end bit-identical to an uninterrupted run,
// with no invalid file ever under a final name.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <regex>
#include <sstream>

#include "config/config.h"
#include "nlohmann/json.hpp"
#include "reliability_support.h"
#include "train/checkpoint.h"

namespace nurture::test {
namespace {

constexpr int kSteps = 36, kEvery = 2;  // 18 checkpoints of ~2 MB
constexpr int kKills = 9;
// Each temp-file write takes ~30 ms instead of ~1, so a good share of kills land mid-write.
const std::string kSlowWrite = "NURTURE_SLOW_CHECKPOINT_WRITE_MS=30";

std::vector<fs::path> files_matching(const fs::path& dir, const std::string& pattern) {
  std::vector<fs::path> out;
  const std::regex re(pattern);
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (std::regex_match(e.path().filename().string(), re)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> checkpoints(const fs::path& run) {
  return files_matching(run / "checkpoints", R"(step_\d+\.h5)");
}

int temp_files(const fs::path& run) {
  return int(files_matching(run / "checkpoints", R"(.*\.tmp-\d+)").size() +
             files_matching(run, R"(.*\.tmp-\d+)").size());
}

bool same_bits(const std::vector<train::NamedArray>& a, const std::vector<train::NamedArray>& b, std::string& why) {
  if (a.size() != b.size()) return why = "array count differs", false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].shape != b[i].shape) return why = a[i].name + " differs in name/shape", false;
    if (std::memcmp(a[i].data.data(), b[i].data.data(), a[i].data.size() * sizeof(float)) != 0)
      return why = a[i].name + " differs in value", false;
  }
  return true;
}

// Everything that determines the continuation of training: /params, /optim/m, /optim/v and the
// /state attributes except elapsed_s (wall time). /meta holds the write time and /config the
// output directory, so whole files differ by design.
void expect_same_training_state(const fs::path& a, const fs::path& b) {
  const train::Checkpoint x = train::read_checkpoint(a.string()), y = train::read_checkpoint(b.string());
  std::string why;
  EXPECT_TRUE(same_bits(x.params, y.params, why)) << a << " vs " << b << ": /params " << why;
  EXPECT_TRUE(same_bits(x.m, y.m, why)) << a << " vs " << b << ": /optim/m " << why;
  EXPECT_TRUE(same_bits(x.v, y.v, why)) << a << " vs " << b << ": /optim/v " << why;
  EXPECT_EQ(x.state.ints, y.state.ints) << a;
  EXPECT_EQ(x.state.uints, y.state.uints) << a;
  EXPECT_EQ(x.state.reals.at("loss_scale"), y.state.reals.at("loss_scale")) << a;
}

// (step, loss or val_loss) per metrics line: timing fields differ between runs by design.
std::vector<std::string> metric_values(const fs::path& file) {
  std::vector<std::string> out;
  std::istringstream in(read_text(file));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    out.push_back(j.at("step").dump() + " " +
                  (j.contains("loss") ? j.at("loss").dump() : "val " + j.at("val_loss").dump()));
  }
  return out;
}

// What may sit under a final name at any moment: loadable checkpoints, a parseable config, the
// exact tokenizer, and a metrics log whose lines parse except perhaps a last one cut short by
// the kill (dropped on resume, see train/metrics_log.cpp).
void check_final_names(const fs::path& run, const std::string& tokenizer, int kill) {
  for (const fs::path& ck : checkpoints(run)) {
    try {
      const train::Checkpoint c = train::read_checkpoint(ck.string());
      EXPECT_EQ(c.params.size(), c.m.size()) << ck;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "after kill " << kill << ": " << e.what();
    }
  }
  if (fs::exists(run / "config.yaml")) {
    EXPECT_NO_THROW(config::load_config((run / "config.yaml").string(), {})) << kill;
  }
  if (fs::exists(run / "tokenizer.model")) {
    EXPECT_EQ(read_text(run / "tokenizer.model"), tokenizer) << "kill " << kill;
  }
  if (fs::exists(run / "metrics.jsonl")) {
    std::istringstream in(read_text(run / "metrics.jsonl"));
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    for (size_t i = 0; i + 1 < lines.size(); ++i)
      EXPECT_TRUE(nlohmann::json::accept(lines[i])) << "kill " << kill << " metrics line " << i + 1;
  }
}

// The highest "step" in the complete lines of metrics.jsonl (0 if none).
int64_t last_logged_step(const fs::path& metrics) {
  std::istringstream in(read_text(metrics));
  int64_t step = 0;
  for (std::string line; std::getline(in, line);) {
    if (in.eof()) break;  // no newline yet: possibly a partial line
    try {
      step = std::max<int64_t>(step, nlohmann::json::parse(line).at("step").get<int64_t>());
    } catch (const std::exception&) {
    }
  }
  return step;
}

int64_t latest_checkpoint_step(const fs::path& run) {
  const auto files = checkpoints(run);
  return files.empty() ? 0 : std::stoll(files.back().filename().string().substr(5, 7));
}

// Where a kill lands, in rotation so that every kind is exercised whatever the machine's load:
enum class KillAt {
  anytime,     // a random moment after launch: data loading, setup, a step or a write
  after_step,  // a random moment shortly after the run logged 1-3 new steps
  mid_write,   // a random moment inside a checkpoint write (its temp file exists)
};

// Waits for the moment chosen by `mode`; false if the child exited first.
bool wait_for_kill_moment(Child& c, KillAt mode, const fs::path& run, std::mt19937_64& rng) {
  using std::chrono::milliseconds;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto poll_until = [&](auto ready) {
    while (!ready()) {
      if (!c.running()) return false;
      if (std::chrono::steady_clock::now() > deadline) return true;  // give up waiting: kill anyway
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  };
  switch (mode) {
    case KillAt::anytime: return !c.wait_for(milliseconds(std::uniform_int_distribution<int>(5, 400)(rng)));
    case KillAt::after_step: {
      // Lines past the resumed checkpoint stay in the log until the new process truncates them.
      const int64_t target = std::max(latest_checkpoint_step(run), last_logged_step(run / "metrics.jsonl")) +
                             std::uniform_int_distribution<int>(1, 3)(rng);
      if (!poll_until([&] { return last_logged_step(run / "metrics.jsonl") >= target; })) return false;
      return !c.wait_for(milliseconds(std::uniform_int_distribution<int>(0, 40)(rng)));
    }
    case KillAt::mid_write: {
      // A write has begun when this process's temp file appears; a new name under
      // checkpoints/ counts too, so a writer that (wrongly) wrote in place is caught mid-write.
      const std::string tmp_suffix = ".tmp-" + std::to_string(c.pid());
      const auto before = checkpoints(run);
      auto writing = [&] {
        for (const auto& e : fs::directory_iterator(run / "checkpoints")) {
          const fs::path& p = e.path();
          if (p.string().ends_with(tmp_suffix)) return true;
          if (p.extension() == ".h5" && std::find(before.begin(), before.end(), p) == before.end()) return true;
        }
        return false;
      };
      if (!poll_until([&] { return fs::is_directory(run / "checkpoints") && writing(); })) return false;
      return !c.wait_for(milliseconds(std::uniform_int_distribution<int>(0, 25)(rng)));
    }
  }
  return true;
}

TEST(KillResume, RandomKillsThenResumeEqualsAnUninterruptedRun) {
  const TempDir root("kill");
  const fs::path cache = root / "cache", ref = root / "ref", killed = root / "killed";
  const std::vector<std::string> extra = {"train.steps=" + std::to_string(kSteps),
                                          "train.checkpoint_every=" + std::to_string(kEvery), "train.eval_every=10",
                                          "model.dropout=0.1"};
  // Reference run (also fills the tokenizer cache).
  ASSERT_EQ(run_to_end(tiny_train_args(ref, cache, extra), root / "ref.log"), 0) << read_text(root / "ref.log");
  const std::string tokenizer = read_text(ref / "tokenizer.model");

  const char* seed_env = std::getenv("NURTURE_KILL_SEED");
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 20261126;
  std::mt19937_64 rng(seed);
  int kills = 0, mid_write = 0, launches = 0;
  auto args = tiny_train_args(killed, cache, extra);
  args.push_back("--resume");
  for (;;) {
    ASSERT_LT(++launches, 3 * kKills) << "the run never finished; see " << root / "killed.log";
    Child c(args, root / "killed.log", {kSlowWrite});
    if (kills < kKills) {
      const KillAt mode = static_cast<KillAt>(kills % 3);
      if (!wait_for_kill_moment(c, mode, killed, rng)) {
        ASSERT_EQ(c.status(), 0) << read_text(root / "killed.log");
        break;  // finished before the kill: fine, the loop ends with fewer kills
      }
      c.kill();
      ++kills;
      if (temp_files(killed) > 0) ++mid_write;
      check_final_names(killed, tokenizer, kills);
      if (HasFailure()) return;
      continue;
    }
    ASSERT_EQ(c.wait(), 0) << read_text(root / "killed.log");
    break;
  }
  std::cout << "kill -9 harness (seed " << seed << "): survived " << kills << " kills (" << mid_write
            << " during a checkpoint write) in " << launches << " launches\n";
  EXPECT_GE(kills, kKills - 2) << "the run finished before most planned kills landed";
  EXPECT_GE(mid_write, 2) << "too few kills landed inside a checkpoint write";
  EXPECT_EQ(temp_files(killed), 0) << "the last resume removes stale temp files";

  // Every checkpoint the killed run wrote equals the reference's checkpoint of that step.
  const auto ref_files = checkpoints(ref), killed_files = checkpoints(killed);
  ASSERT_EQ(ref_files.size(), size_t(kSteps / kEvery));
  ASSERT_EQ(killed_files.size(), ref_files.size());
  for (size_t i = 0; i < ref_files.size(); ++i) {
    ASSERT_EQ(ref_files[i].filename(), killed_files[i].filename());
    expect_same_training_state(ref_files[i], killed_files[i]);
  }
  EXPECT_EQ(metric_values(killed / "metrics.jsonl"), metric_values(ref / "metrics.jsonl"));
}

}  // namespace
}  // namespace nurture::test
