// `nurture report` on small run trees built in a temp dir: seeds as paired replicates against the
// control (numbers worked out by hand in paired_stats_test), failures read from nurture-ptq-v1
// (NaN written as null) and -v2 ("failed") and shown as FAILED in every output, the bit-width
// ladder from v2's weight_bits / act_bits, and Figure 4's histograms.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/plot_gnuplot.h"
#include "report/report.h"
#include "report/report_axes.h"
#include "report/report_data.h"
#include "report/report_ladder.h"
#include "report/report_paired.h"
#include "tests/support/support.h"

namespace nurture::report {
namespace {

namespace fs = std::filesystem;

using test::read_text;

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A recipe of a hand-made ptq.json: its held-out degradation in % (the heldout bits-per-byte
// score is 2 · (1 + d/100) against pre's 2.0; lastword stays 0.5, so the task mean is d/2), or a
// failure (lastword NaN, written as null). Bits only in v2 files.
struct R {
  std::string name;
  double heldout_pct = 0;
  bool failed = false;
  int weight_bits = -1, act_bits = -1;
};

std::string num(double x) {
  std::ostringstream o;
  o.precision(17);
  o << x;
  return o.str();
}

std::string ptq_json(const std::vector<R>& recipes, bool v2) {
  std::string s = std::string("{\"format\": \"nurture-ptq-") + (v2 ? "v2" : "v1") +
                  "\", \"step\": 30, \"suite\": \"default\", \"baseline\": \"fp16\",\n"
                  " \"tasks\": [{\"name\": \"heldout\", \"kind\": \"likelihood\", \"metric\": \"bits_per_byte\", "
                  "\"higher_is_better\": false},\n"
                  "           {\"name\": \"lastword\", \"kind\": \"last_word\", \"metric\": \"acc\", "
                  "\"higher_is_better\": true}],\n"
                  " \"recipes\": [{\"name\": \"pre\", \"scores\": {\"heldout\": 2.0, \"lastword\": 0.5}}";
  for (const R& r : recipes) {
    const double h = 2.0 * (1 + r.heldout_pct / 100);
    s += ",\n  {\"name\": \"" + r.name + "\", \"scores\": {\"heldout\": " + num(h) +
         ", \"lastword\": " + (r.failed ? "null" : "0.5") + "}";
    if (v2) {
      s += ", \"failed\": " + std::string(r.failed ? "true" : "false") + ", \"failed_tasks\": [" +
           (r.failed ? "\"lastword\"" : "") + "]";
      if (r.weight_bits >= 0)
        s += ", \"weight_bits\": " + std::to_string(r.weight_bits) + ", \"act_bits\": " + std::to_string(r.act_bits);
      s += ", \"mean_degradation_pct\": " + (r.failed ? std::string("null") : num(r.heldout_pct / 2)) +
           ", \"mean_degradation_se_pct\": " + (r.failed ? std::string("null") : "0.25");
      s += ", \"change\": {\"heldout\": {\"abs\": " + num(h - 2) + ", \"rel_pct\": " + num(r.heldout_pct) +
           ", \"degradation_pct\": " + num(r.heldout_pct) + ", \"degradation_se_pct\": 0.1, \"failed\": false}, " +
           "\"lastword\": " +
           (r.failed ? "{\"abs\": null, \"rel_pct\": null, \"degradation_pct\": null, \"degradation_se_pct\": null, "
                       "\"failed\": true}"
                     : "{\"abs\": 0, \"rel_pct\": 0, \"degradation_pct\": 0, \"degradation_se_pct\": 0.5, "
                       "\"failed\": false}") +
           "}";
    }
    s += "}";
  }
  return s + "]}\n";
}

class SeedsReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("nurture-seeds-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // One variant: sweep.json entry + its ptq.json.
  struct V {
    std::string name, seed, clip, dtype;
    bool control;
    std::vector<R> recipes;
    bool v2 = false;
  };
  void tree(const std::vector<V>& vs) {
    std::string j =
        "{\"format\": \"nurture-sweep-v1\", \"grid\": \"seeds\", \"axes\": [\"train.seed\", \"optim.grad_clip\", "
        "\"precision.dtype\"], \"variants\": [";
    for (size_t i = 0; i < vs.size(); ++i) {
      const V& v = vs[i];
      j += std::string(i ? ",\n" : "\n") + "{\"name\": \"" + v.name + "\", \"axis_values\": {\"train.seed\": \"" +
           v.seed + "\", \"optim.grad_clip\": \"" + v.clip + "\", \"precision.dtype\": \"" + v.dtype +
           "\"}, \"control\": " + (v.control ? "true" : "false") + ", \"status\": \"done\"}";
      put(root_ / "runs" / v.name / "eval" / "step_0000030" / "ptq.json", ptq_json(v.recipes, v.v2));
    }
    put(root_ / "runs" / "sweep.json", j + "]}\n");
  }

  // Control: held-out w8a8 degradation 1% for every seed, w4 10%. clip=null: 2, 3, 4 % (paired
  // differences 1, 2, 3: no effect detected) and w4 20%. dtype=fp16: 3, 3.5, 4 % (differences
  // 2, 2.5, 3: an effect), and seed 3's w4 failed (a v2 file).
  void seeds_tree() {
    std::vector<V> vs;
    const double clip[3] = {2, 3, 4}, fp16[3] = {3, 3.5, 4};
    for (int s = 1; s <= 3; ++s) {
      const std::string seed = std::to_string(s);
      vs.push_back({s == 1 ? "control" : "seed=" + seed, seed, "1", "bf16", s == 1, {{"w8a8", 1}, {"w4", 10}}});
      vs.push_back({"seed=" + seed + ",clip=none", seed, "null", "bf16", false, {{"w8a8", clip[s - 1]}, {"w4", 20}}});
      vs.push_back({"seed=" + seed + ",dtype=fp16",
                    seed,
                    "1",
                    "fp16",
                    false,
                    {{"w8a8", fp16[s - 1]}, {"w4", 30, s == 3}},
                    s == 3});
    }
    tree(vs);
  }

  ReportFiles report(bool plots = false) {
    ReportOptions o;
    o.runs_dir = root_ / "runs";
    o.out_dir = root_ / "out";
    o.command = "nurture report seeds";
    o.plots = plots;
    return write_report(o);
  }

  fs::path root_;
};

TEST_F(SeedsReportTest, ReadsV2AndV1Failures) {
  put(root_ / "v2.json", ptq_json({{"w8a8", 1, false, 8, 8}, {"w4", 30, true, 4, 0}}, true));
  const PtqResult a = read_ptq(root_ / "v2.json");
  const PtqRecipe* ok = a.recipe("w8a8");
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->failed);
  EXPECT_EQ(ok->weight_bits, 8);
  EXPECT_EQ(ok->act_bits, 8);
  EXPECT_NEAR(*ok->mean_degradation_pct, 0.5, 1e-12);
  EXPECT_NEAR(*ok->mean_degradation_se_pct, 0.25, 1e-12);
  EXPECT_NEAR(*ok->change.at("heldout").degradation_se_pct, 0.1, 1e-12);
  const PtqRecipe* bad = a.recipe("w4");
  ASSERT_TRUE(bad);
  EXPECT_TRUE(bad->failed);
  EXPECT_EQ(bad->failed_tasks, std::vector<std::string>{"lastword"});
  EXPECT_EQ(bad->act_bits, 0);
  EXPECT_FALSE(bad->mean_degradation_pct.has_value());
  EXPECT_TRUE(bad->change.at("lastword").failed);
  EXPECT_FALSE(bad->change.at("lastword").abs.has_value());
  // Both measures report the failure with its task count instead of a number.
  EXPECT_TRUE(heldout_degradation(a, "w4").failed);
  EXPECT_EQ(task_mean_degradation(a, "w4").failed_tasks, 1);
  EXPECT_NEAR(*heldout_degradation(a, "w8a8").x, 1.0, 1e-9);

  // v1: nlohmann_json writes a NaN score as null, with no flags: still a failure, no mean.
  put(root_ / "v1.json", ptq_json({{"w4", 30, true}}, false));
  const PtqResult b = read_ptq(root_ / "v1.json");
  EXPECT_TRUE(b.recipe("w4")->failed);
  EXPECT_EQ(b.recipe("w4")->failed_tasks, std::vector<std::string>{"lastword"});
  EXPECT_FALSE(b.recipe("w4")->mean_degradation_pct.has_value());
  EXPECT_FALSE(b.recipe("w4")->weight_bits.has_value());
  // A v1 "change" with a null abs (NaN) no longer makes the whole file unreadable.
  put(root_ / "v1c.json", R"({"format": "nurture-ptq-v1", "step": 1,
    "tasks": [{"name": "a", "metric": "acc", "higher_is_better": true}],
    "recipes": [{"name": "pre", "scores": {"a": 0.5}},
                {"name": "w4", "scores": {"a": null}, "change": {"a": {"abs": null, "rel_pct": null, "degradation_pct": null}},
                 "mean_degradation_pct": null}]})");
  EXPECT_TRUE(read_ptq(root_ / "v1c.json").recipe("w4")->failed);
}

// A point that changes two axes (clipping off and fp16) is compared, one axis at a time, with
// the points that change only one of them: the clip contrast at fp16 is fp16+noclip − fp16, the
// dtype contrast without clipping is fp16+noclip − noclip.
TEST_F(SeedsReportTest, OneAxisContrastsOfTwoAxisPoints) {
  std::vector<V> vs;
  const double clip[3] = {2, 3, 4}, fp16[3] = {3, 3.5, 4}, both[3] = {5, 7, 9};
  for (int s = 1; s <= 3; ++s) {
    const std::string seed = std::to_string(s);
    vs.push_back({s == 1 ? "control" : "seed=" + seed, seed, "1", "bf16", s == 1, {{"w8a8", 1}}});
    vs.push_back({"seed=" + seed + ",clip=none", seed, "null", "bf16", false, {{"w8a8", clip[s - 1]}}});
    vs.push_back({"seed=" + seed + ",dtype=fp16", seed, "1", "fp16", false, {{"w8a8", fp16[s - 1]}}});
    vs.push_back({"seed=" + seed + ",clip=none,dtype=fp16", seed, "null", "fp16", false, {{"w8a8", both[s - 1]}}});
  }
  tree(vs);
  const RunTree t = load_run_tree(root_ / "runs");
  const std::vector<Point> points = grid_points(t);
  ASSERT_EQ(points.size(), 4u);
  const std::vector<Contrast> cs = one_axis_contrasts(points);
  ASSERT_EQ(cs.size(), 2u);  // only the two-axis point has contrasts, one per axis it changes
  for (const Contrast& c : cs) {
    EXPECT_EQ(points[c.point].label, "grad_clip=null,dtype=fp16");
    const ControlDifference d =
        difference_from_control(t, points[c.point], points[c.reference], "w8a8", heldout_degradation);
    EXPECT_EQ(d.diff.n, 3);
    if (c.axis == "optim.grad_clip") {
      EXPECT_EQ(c.change, "grad_clip=null vs 1");
      EXPECT_EQ(c.at, "dtype=fp16");
      EXPECT_NEAR(d.diff.mean, 3.5, 1e-9);  // (2 + 3.5 + 5) / 3
    } else {
      EXPECT_EQ(c.axis, "precision.dtype");
      EXPECT_EQ(c.change, "dtype=fp16 vs bf16");
      EXPECT_EQ(c.at, "grad_clip=null");
      EXPECT_NEAR(d.diff.mean, 4, 1e-9);  // (3 + 4 + 5) / 3
    }
  }
  const std::string md = read_text(report().markdown);
  EXPECT_NE(md.find("### One axis at a time: % degradation of held-out bits/byte"), std::string::npos) << md;
  EXPECT_NE(md.find("| dtype=fp16 vs bf16 | grad_clip=null | w8a8 | 3 | +4.000 [1.516, 6.484] |"), std::string::npos)
      << md;
}

TEST_F(SeedsReportTest, PairedDifferencesWithConfidenceIntervals) {
  seeds_tree();
  const RunTree t = load_run_tree(root_ / "runs");
  const std::vector<Point> points = grid_points(t);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].label, "control");
  EXPECT_EQ(points[0].variants.size(), 3u);  // control, seed=2, seed=3
  EXPECT_EQ(points[1].label, "grad_clip=null");
  EXPECT_EQ(points[2].label, "dtype=fp16");
  const ControlDifference clip = difference_from_control(t, points[1], points[0], "w8a8", heldout_degradation);
  EXPECT_EQ(clip.diff.n, 3);
  EXPECT_NEAR(clip.diff.mean, 2, 1e-9);
  EXPECT_NEAR(*clip.diff.ci_low, -0.484138, 1e-5);
  EXPECT_NEAR(*clip.diff.ci_high, 4.484138, 1e-5);
  EXPECT_EQ(clip.diff.verdict(), "none detected");
  const ControlDifference fp16 = difference_from_control(t, points[2], points[0], "w8a8", heldout_degradation);
  EXPECT_NEAR(*fp16.diff.ci_low, 1.257931, 1e-5);
  EXPECT_EQ(fp16.diff.verdict(), "effect");
  // The task mean is half the held-out degradation here (lastword does not move).
  EXPECT_NEAR(difference_from_control(t, points[2], points[0], "w8a8", task_mean_degradation).diff.mean, 1.25, 1e-9);

  const ReportFiles f = report();
  const std::string md = read_text(f.markdown);
  EXPECT_NE(md.find("| grad_clip=null | w8a8 | 3 | +2.000 [-0.484, 4.484] | 3.097 | none detected |"),
            std::string::npos)
      << md;
  // p and Holm over the held-out table's three tested rows (fp16's w4 failed): clip w4 has identical
  // differences (p 0), fp16 w8a8 p 0.013 -> 2 · 0.013 = 0.026, clip w8a8 p 0.074 stays 0.074.
  EXPECT_NE(md.find("| dtype=fp16 | w8a8 | 3 | +2.500 [1.258, 3.742] | 1.548 | effect | 0.013 | 0.026 | effect |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| grad_clip=null | w8a8 | 3 | +2.000 [-0.484, 4.484] | 3.097 | none detected | 0.074 | 0.074 | "
                    "none detected |"),
            std::string::npos)
      << md;
  // Identical differences (w4: +10 every seed) have a zero-width interval: an effect.
  EXPECT_NE(md.find("| grad_clip=null | w4 | 3 | +10.000 [10.000, 10.000] | 0.000 | effect |"), std::string::npos);
  EXPECT_NE(f.printed_summary.find("+2.500 [1.258, 3.742]"), std::string::npos) << f.printed_summary;
  EXPECT_NE(read_text(f.html).find("+2.500 [1.258, 3.742]"), std::string::npos);

  // summary.csv: the paired columns on every row of the point's variants.
  const std::string csv = read_text(f.csv);
  std::istringstream lines(csv);
  std::string header, line;
  std::getline(lines, header);
  EXPECT_NE(header.find(",n_seeds,diff_vs_control_pct,ci95_low,ci95_high,mde80_pct,verdict,"), std::string::npos)
      << header;
  bool seen = false;
  while (std::getline(lines, line))
    if (line.rfind("\"seed=2,dtype=fp16\"", 0) == 0 && line.find(",w8a8,heldout,") != std::string::npos) {
      seen = true;
      // n_seeds 3, then the difference (2.5 up to rounding) and ci95_low 1.257931.
      EXPECT_NE(line.find(",3,2.49999999999"), std::string::npos) << line;
      EXPECT_NE(line.find(",1.25793114"), std::string::npos) << line;
      EXPECT_NE(line.find(",effect,"), std::string::npos) << line;
    }
  EXPECT_TRUE(seen) << csv;

  // paired.csv: the rows of summary.md's paired tables at full precision, with p and Holm p per
  // family. fp16 w8a8 held-out: p 0.013 (Holm 0.026 over the 3 tested rows); fp16 w4 failed, so it
  // has no p, stays out of the family's adjustment and says so.
  const std::string pc = read_text(f.paired_csv);
  EXPECT_EQ(pc.substr(0, pc.find('\n')),
            "comparison,measure,point,reference,at,recipe,n_seeds,diff_pct,ci95_low,ci95_high,mde80_pct,p_value,"
            "holm_p_value,family_size,verdict,verdict_after_holm,failed_seeds");
  auto row_of = [&](const std::string& prefix) {
    const size_t at = pc.find("\n" + prefix);
    return at == std::string::npos ? std::string() : pc.substr(at + 1, pc.find('\n', at + 1) - at - 1);
  };
  const std::string fp16_row = row_of("vs_control,heldout,dtype=fp16,control,,w8a8,3,");
  ASSERT_FALSE(fp16_row.empty()) << pc;
  EXPECT_NE(fp16_row.find(",1.25793114"), std::string::npos) << fp16_row;
  EXPECT_NE(fp16_row.find(",0.01307245756"), std::string::npos) << fp16_row;  // p
  EXPECT_NE(fp16_row.find(",0.02614491512"), std::string::npos) << fp16_row;  // Holm: 2 · p
  EXPECT_NE(fp16_row.find(",4,effect,effect,0"), std::string::npos) << fp16_row;
  const std::string failed_row = row_of("vs_control,heldout,dtype=fp16,control,,w4,3,");
  ASSERT_FALSE(failed_row.empty()) << pc;
  EXPECT_NE(failed_row.find(",3,,,,,,,4,failed,failed,1"), std::string::npos) << failed_row;
  EXPECT_FALSE(row_of("vs_control,task_mean,grad_clip=null,control,,w8a8,3,").empty()) << pc;
}

// A sweep still running: the control and the clip point have no results yet. Figures whose
// panels have no number say so instead of failing gnuplot (which refuses a plot with no
// defined point), so a report of a half-finished sweep renders.
TEST_F(SeedsReportTest, UnfinishedPointsLeaveEmptyPanelsNotAFailedReport) {
  seeds_tree();
  for (const char* v : {"control", "seed=2", "seed=3", "seed=1,clip=none", "seed=2,clip=none", "seed=3,clip=none"})
    fs::remove_all(root_ / "runs" / v / "eval");
  const ReportFiles f = report(true);
  const std::string gp = read_text(root_ / "out" / "plots" / "fig_paired_vs_control.gp");
  EXPECT_NE(gp.find("no finished, non-failed value yet"), std::string::npos) << gp;
  EXPECT_TRUE(fs::exists(root_ / "out" / "plots" / "fig_paired_vs_control.png"));
  EXPECT_NE(read_text(root_ / "out" / "plots" / "fig2_optim_grad_clip.gp").find("no finished, non-failed value yet"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(root_ / "out" / "plots" / "fig2_optim_grad_clip.png"));
}

// A grid that states weight decay as the paper's λ (paper_wd) shows the λ each variant trained
// with beside it, from sweep.json's "derived".
TEST_F(SeedsReportTest, VariantsShowTheDerivedValueBesideTheStatedOne) {
  put(root_ / "runs" / "sweep.json",
      R"({"format": "nurture-sweep-v1", "grid": "wd", "axes": ["optim.paper_weight_decay"], "variants": [
        {"name": "control", "axis_values": {"optim.paper_weight_decay": "0.1"}, "control": true, "status": "done",
         "derived": {"optim.weight_decay": {"value": "4.6875", "optim.paper_weight_decay": "0.1"}}},
        {"name": "paper_wd=0.001", "axis_values": {"optim.paper_weight_decay": "0.001"}, "status": "done",
         "derived": {"optim.weight_decay": {"value": "0.046875", "optim.paper_weight_decay": "0.001"}}}]})");
  for (const char* v : {"control", "paper_wd=0.001"})
    put(root_ / "runs" / v / "eval" / "step_0000030" / "ptq.json", ptq_json({{"w8a8", 1}}, true));
  const std::string md = read_text(report().markdown);
  EXPECT_NE(md.find("| variant | paper_weight_decay | weight_decay (used) | status |"), std::string::npos);
  EXPECT_NE(md.find("| paper_wd=0.001 | 0.001 | 0.046875 | "), std::string::npos) << md;
}

TEST_F(SeedsReportTest, OneFailedSeedFailsTheCellEverywhere) {
  seeds_tree();
  const ReportFiles f = report(true);
  const std::string md = read_text(f.markdown);
  // The fp16 point's w4 failed in seed 3: no mean over the two good seeds, anywhere.
  EXPECT_NE(md.find("| dtype=fp16 | w4 | 3 | FAILED (1 task; 1/3 seeds) | — | failed |"), std::string::npos) << md;
  EXPECT_NE(md.find("FAILED (1 task; 1/3 seeds)"), std::string::npos);
  EXPECT_NE(md.find("| fp16 | no analysis | — | — | — | 30 | w4 FAILED (1 task) |"), std::string::npos)
      << md;  // Variants note
  // (v2 file: the held-out degradation carries its standard error, 0.1.)
  EXPECT_NE(md.find("| seed=3,dtype=fp16 | 30 | 4.000 ± 0.100 | FAILED (1 task) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| seed=3,dtype=fp16 | 30 | 2.00 ± 0.25 | FAILED (1 task) |"), std::string::npos) << md;
  EXPECT_NE(f.printed_summary.find("FAILED (1 task)"), std::string::npos);
  EXPECT_NE(read_text(f.html).find("<td class=\"num failed\">FAILED (1 task; 1/3 seeds)</td>"), std::string::npos);
  // In the per-axis table the fp16 cell is failed, the bf16 one is the mean ± CI over 3 seeds.
  const RunTree t = load_run_tree(root_ / "runs");
  const auto pts = grid_points(t);
  const Cell c = collect(pts[2].variants, "w4", task_mean_degradation);
  EXPECT_TRUE(c.is_failed());
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.variants, 3);
  EXPECT_FALSE(c.mean().has_value());
  // summary.csv flags the failed task and recipe; the figures leave the failed cell out ('?').
  const std::string csv = read_text(f.csv);
  std::istringstream lines(csv);
  std::string line;
  bool seen = false;
  while (std::getline(lines, line))
    if (line.rfind("\"seed=3,dtype=fp16\"", 0) == 0 && line.find(",w4,lastword,") != std::string::npos) {
      seen = true;
      EXPECT_NE(line.find(",true,true,1,"), std::string::npos) << line;
      EXPECT_NE(line.find(",failed,"), std::string::npos) << line;
    }
  EXPECT_TRUE(seen);
  EXPECT_TRUE(fs::exists(root_ / "out" / "plots" / "fig_paired_vs_control.png"));
  const std::string dat = read_text(root_ / "out" / "plots" / "fig_paired_vs_control.dat");
  EXPECT_NE(dat.find("\"dtype=fp16\" 2.49999999999"), std::string::npos) << dat;
  EXPECT_NE(dat.find(" 1.25793114"), std::string::npos) << dat;
}

TEST_F(SeedsReportTest, BitWidthLadderFromV2Fields) {
  const std::vector<R> ladder = {
      {"w8a8", 0.2, false, 8, 8}, {"w8a6", 0.8, false, 8, 6}, {"w8a4", 5, false, 8, 4}, {"w8a4-tensor", 9, false, 8, 4},
      {"w6a6", 2, false, 6, 6},   {"w4", 0.9, false, 4, 0},   {"w3", 3, false, 3, 0},   {"w4-g128", 0.5, false, 4, 0}};
  tree({{"control", "1", "1", "bf16", true, ladder, true}});
  const RunTree t = load_run_tree(root_ / "runs");
  const auto ladders = bit_ladders(t);
  ASSERT_EQ(ladders.size(), 2u);
  EXPECT_EQ(ladders[0].name, "activation");
  ASSERT_EQ(ladders[0].rungs.size(), 3u);  // 8, 6, 4: w8a4-tensor shares 4 bits with w8a4 (first wins)
  EXPECT_EQ(ladders[0].rungs[2].recipe, "w8a4");
  EXPECT_EQ(ladders[1].rungs.size(), 2u);  // 4 (w4), 3
  const auto pts = grid_points(t);
  EXPECT_EQ(smallest_bits_under(pts[0], ladders[0])->bits, 6);
  EXPECT_EQ(smallest_bits_under(pts[0], ladders[1])->recipe, "w4");
  const ReportFiles f = report(true);
  const std::string md = read_text(f.markdown);
  EXPECT_NE(md.find("| control | 6 (w8a6) | 4 (w4) |"), std::string::npos) << md;
  EXPECT_TRUE(fs::exists(root_ / "out" / "plots" / "fig_bit_ladder.png"));

  // The same recipes in a v1 file carry no bits: no ladder section, no guessing from names.
  tree({{"control", "1", "1", "bf16", true, ladder, false}});
  EXPECT_TRUE(bit_ladders(load_run_tree(root_ / "runs")).empty());
  EXPECT_EQ(read_text(report().markdown).find("Bit-width ladder"), std::string::npos);
}

// experiments/seeds.yaml's layout: the control's seeds are all named "seed=N" and none is the
// control itself (its base seed is not in the list), so sweep.json flags no variant as control.
TEST_F(SeedsReportTest, ControlPointFoundFromSeedOnlyNames) {
  std::vector<V> vs;
  for (int s = 1; s <= 3; ++s) {
    const std::string seed = std::to_string(s);
    vs.push_back({"seed=" + seed, seed, "1", "bf16", false, {{"w8a8", 1}}});
    vs.push_back({"seed=" + seed + ",clip=none", seed, "null", "bf16", false, {{"w8a8", 1.0 + s}}});
  }
  tree(vs);
  const RunTree t = load_run_tree(root_ / "runs");
  const auto pts = grid_points(t);
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_TRUE(pts[0].control);
  EXPECT_EQ(pts[0].label, "control");
  EXPECT_EQ(pts[1].label, "grad_clip=null");
  EXPECT_NEAR(difference_from_control(t, pts[1], pts[0], "w8a8", heldout_degradation).diff.mean, 2, 1e-9);
}

TEST_F(SeedsReportTest, OneSeedSaysSoInsteadOfAnInterval) {
  tree({{"control", "1", "1", "bf16", true, {{"w8a8", 1}}}, {"clip=none", "1", "null", "bf16", false, {{"w8a8", 2}}}});
  const std::string md = read_text(report().markdown);
  EXPECT_NE(md.find("| grad_clip=null | w8a8 | 1 | +1.000 (one seed) | — | one seed |"), std::string::npos) << md;
  EXPECT_NE(md.find("Every point has one seed here, so there is no interval"), std::string::npos);
}

TEST_F(SeedsReportTest, Figure4HistogramsAreDrawn) {
  tree({{"control", "1", "1", "bf16", true, {{"w8a8", 1}}}});
  put(root_ / "runs" / "control" / "analysis" / "step_0000030" / "analysis.json",
      R"({"format": "nurture-analysis-v1", "step": 30, "precision": "fp16",
          "summary": {"qkv_rmse_int8_mean": 0.01, "qkv_token_std_mean": 1.5, "ln_1_gain_std_mean": 0.2,
                      "qkv_spectral_norm_mean": 3.0, "rmse_int8_mean": 0.5},
          "histograms": [{"block": 0, "name": "attn.c_attn.weight", "edges": [-1, 0, 1], "counts": [3, 1]},
                         {"block": 1, "name": "attn.c_attn.weight", "edges": [-2, 0, 2], "counts": [1, 1]},
                         {"block": 0, "name": "ln_1.weight", "edges": [0.5, 1, 1.5], "counts": [2, 2]}]})");
  const ReportFiles f = report(true);
  EXPECT_TRUE(fs::exists(root_ / "out" / "plots" / "fig4_histograms.png"));
  const std::string dat = read_text(root_ / "out" / "plots" / "fig4_histograms_attn_c_attn_weight.dat");
  EXPECT_NE(dat.find("-0.5 0.75\n0.5 0.25"), std::string::npos) << dat;  // bin centres, fractions
  // Figure 5's table is the paper's quantities, with the forward precision named.
  const std::string md = read_text(f.markdown);
  EXPECT_NE(md.find("| control | 30 | 0.01 | 1.5 | 0.2 | 3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Forward precision of the analysis: fp16"), std::string::npos);
  EXPECT_NE(md.find("## All-site averages (not the paper's Figure 5)"), std::string::npos);
}

}  // namespace
}  // namespace nurture::report
