// `nurture report` on a hand-written run tree (fixtures/report_tree, following the sweep.json,
// ptq.json and analysis.json contracts): the CSV columns and numbers, the paper's table
// sections, valid PNGs, an index.html that shows them, and the one-line errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/plot_gnuplot.h"
#include "report/report.h"
#include "report/report_axes.h"
#include "report/report_data.h"
#include "report/report_table.h"
#include "report/report_tables.h"
#include "tests/support/support.h"

namespace nurture::report {
namespace {

namespace fs = std::filesystem;

const fs::path kTree = fs::path(NURTURE_SOURCE_DIR) / "tests/report/fixtures/report_tree";

using test::read_text;

// Minimal CSV reader for the report's quoting (fields with commas are double-quoted).
std::vector<std::vector<std::string>> read_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        field += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field), field.clear();
    } else if (c == '\n') {
      rows.back().push_back(field), field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  rows.pop_back();
  return rows;
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = fs::temp_directory_path() / ("nurture-report-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(out_);
  }
  void TearDown() override { fs::remove_all(out_); }

  ReportFiles run(bool plots = true, const std::string& gnuplot = "gnuplot") {
    ReportOptions o;
    o.runs_dir = kTree;
    o.out_dir = out_;
    o.command = "nurture report fixture";
    o.plots = plots;
    o.gnuplot = gnuplot;
    return write_report(o);
  }

  fs::path out_;
};

TEST_F(ReportTest, CsvHasTheDocumentedColumnsAndNumbers) {
  run(false);
  const auto rows = read_csv(read_text(out_ / "summary.csv"));
  ASSERT_FALSE(rows.empty());
  const std::vector<std::string> header = {"variant",
                                           "status",
                                           "optim.weight_decay",
                                           "precision.dtype",
                                           "step",
                                           "recipe",
                                           "task",
                                           "metric",
                                           "higher_is_better",
                                           "pre",
                                           "post",
                                           "abs_change",
                                           "rel_change_pct",
                                           "degradation_pct",
                                           "qkv_rmse_int8_mean",
                                           "qkv_token_std_mean",
                                           "ln_1_gain_std_mean",
                                           "qkv_spectral_norm_mean",
                                           "all_sites_rmse_int8_mean",
                                           "all_sites_token_std_mean",
                                           "max_abs",
                                           "all_sites_ln_gain_std_mean",
                                           "all_sites_spectral_norm_mean",
                                           "outliers_llm_int8",
                                           "outliers_fixed",
                                           "outliers_adaptive",
                                           "task_failed",
                                           "recipe_failed",
                                           "failed_tasks",
                                           "weight_bits",
                                           "act_bits",
                                           "heldout_degradation_pct",
                                           "heldout_degradation_se_pct",
                                           "mean_degradation_pct",
                                           "mean_degradation_se_pct",
                                           "n_seeds",
                                           "diff_vs_control_pct",
                                           "ci95_low",
                                           "ci95_high",
                                           "mde80_pct",
                                           "verdict",
                                           "task_mean_diff_vs_control_pct",
                                           "task_mean_ci95_low",
                                           "task_mean_ci95_high",
                                           "task_mean_verdict"};
  EXPECT_EQ(rows[0], header);
  // 3 evaluated variants x 2 steps x 2 recipes x 2 tasks, plus one row for the failed variant.
  EXPECT_EQ(rows.size(), 1u + 3 * 2 * 2 * 2 + 1);
  for (const auto& r : rows) EXPECT_EQ(r.size(), header.size());

  auto find = [&](const std::string& v, const std::string& step, const std::string& recipe, const std::string& task) {
    for (const auto& r : rows)
      if (r[0] == v && r[4] == step && r[5] == recipe && r[6] == task) return r;
    ADD_FAILURE() << "no row " << v << " " << step << " " << recipe << " " << task;
    return std::vector<std::string>(header.size());
  };
  // Values straight from ptq.json's "change" (lower-is-better: degradation = rel change).
  const auto a = find("wd=0.1,dtype=bf16", "20", "w8a8", "heldout");
  EXPECT_EQ(a[1], "done");
  EXPECT_EQ(a[2], "0.1");
  EXPECT_EQ(a[3], "bf16");
  EXPECT_EQ(a[7], "bits_per_byte");
  EXPECT_EQ(a[8], "false");
  EXPECT_EQ(a[9], "2");
  EXPECT_EQ(a[10], "2.02");
  EXPECT_EQ(a[11], "0.02");
  EXPECT_EQ(a[12], "1");
  EXPECT_EQ(a[13], "1");
  // The same checkpoint's analysis: Figure 5's qkv RMSE (this older file has no qkv summary key:
  // the mean of its two qkv entries, 0.01 and 0.02), ln_1 gain STD (0.05, 0.06), then the
  // all-site summary and the outlier counts.
  EXPECT_EQ(a[14], "0.015");
  EXPECT_EQ(a[16], "0.055");
  EXPECT_EQ(a[18], "0.015");
  EXPECT_EQ(a[23], "0");
  EXPECT_EQ(a[24], "2");
  // Higher-is-better: a drop in accuracy is a positive degradation.
  const auto b = find("wd=0.1,dtype=fp16", "20", "w4", "lastword");
  EXPECT_EQ(b[11], "-0.1");
  EXPECT_EQ(b[12], "-25");
  EXPECT_EQ(b[13], "25");
  EXPECT_EQ(b[14], "");  // this variant has no analysis yet
  // Step 10's ptq.json has no "change": derived from the scores with the same definition.
  const auto c = find("wd=0.01,dtype=bf16", "10", "w4", "heldout");
  EXPECT_NEAR(std::stod(c[11]), 0.2, 1e-9);
  EXPECT_NEAR(std::stod(c[13]), 10.0, 1e-9);
  EXPECT_EQ(c[14], "");  // analysed only at step 20
  // The failed variant is listed, with nothing measured.
  const auto& f = rows.back();
  EXPECT_EQ(f[0], "wd=0.01,dtype=fp16");
  EXPECT_EQ(f[1], "failed");
  EXPECT_EQ(f[4], "");
}

TEST_F(ReportTest, MarkdownHasThePapersTables) {
  const ReportFiles f = run(false);
  const std::string md = read_text(f.markdown);
  EXPECT_NE(md.find("## Zero-shot scores before and after PTQ (Table 4 layout)"), std::string::npos);
  EXPECT_NE(md.find("## Outlier dimensions (Table 5 layout)"), std::string::npos);
  for (const char* rule : {"### Rule llm_int8", "### Rule fixed", "### Rule adaptive"})
    EXPECT_NE(md.find(rule), std::string::npos) << rule;
  EXPECT_NE(md.find("## Task mean: % degradation per axis value"), std::string::npos);
  EXPECT_NE(md.find("### optim.weight_decay"), std::string::npos);
  EXPECT_NE(md.find("nurture report fixture"), std::string::npos);
  // Table 4 row: pre / w8a8 / w4 per variant with the task scores, average and degradation.
  EXPECT_NE(md.find("| wd=0.1,dtype=bf16 | 20 | w8a8 | 2.0200 | 0.4900 | 0.4900 | 1.000 | 1.50 |"), std::string::npos)
      << md;
  // The held-out measure leads: its table comes before the task mean's, in every layout.
  EXPECT_LT(md.find("## Held-out bits per byte: % degradation of every recipe"),
            md.find("## Mean % degradation of every recipe"));
  EXPECT_LT(md.find("## Held-out bits per byte: % degradation per axis value"),
            md.find("## Task mean: % degradation per axis value"));
  EXPECT_LT(f.printed_summary.find("Held-out bits per byte"), f.printed_summary.find("Mean % degradation"));
  // Table 5 row from the fixed-threshold rule; missing analysis and a failed variant are shown.
  EXPECT_NE(md.find("| wd=0.01,dtype=bf16 | 20 | 2 | 68.4 | 65.5 |"), std::string::npos);
  EXPECT_NE(md.find("| wd=0.1,dtype=fp16 | — | — | — | — |"), std::string::npos);
  EXPECT_NE(md.find("| wd=0.01,dtype=fp16 | — | (failed) |"), std::string::npos);
  EXPECT_NE(md.find("loss scale fell below"), std::string::npos);
  // Figure 2 as a table: wd axis within dtype=bf16 (w8a8 / w4 mean degradation).
  EXPECT_NE(md.find("| dtype=bf16 | 3.00 / 20.00 | 1.50 / 10.00 |"), std::string::npos) << md;
  // The same on the held-out likelihood task alone (its degradation in the fixture: w8a8 2 % and
  // w4 20 % at wd 0.01, 1 % and 10 % at wd 0.1).
  EXPECT_NE(md.find("## Held-out bits per byte: % degradation per axis value (Figure 2 as a table)"),
            std::string::npos);
  EXPECT_NE(md.find("### optim.weight_decay (held-out)"), std::string::npos);
  EXPECT_NE(md.find("| dtype=bf16 | 2.000 / 20.000 | 1.000 / 10.000 |"), std::string::npos) << md;
  EXPECT_NE(f.degradation_table.find("wd=0.1,dtype=fp16"), std::string::npos);
}

TEST_F(ReportTest, PlotsAreValidPngsAndIndexShowsThemAll) {
  const ReportFiles f = run(true);
  ASSERT_GE(f.pngs.size(), 5u);  // Figure 2 per axis, Figure 3, Figure 5, loss, telemetry
  const std::string html = read_text(f.html);
  const std::string sig = "\x89PNG\r\n\x1a\n";
  for (const auto& p : fs::directory_iterator(out_ / "plots")) {
    if (p.path().extension() != ".png") continue;
    const std::string bytes = read_text(p.path());
    EXPECT_GT(bytes.size(), 1000u) << p.path();
    EXPECT_EQ(bytes.substr(0, 8), sig) << p.path();
    EXPECT_NE(html.find("src=\"plots/" + p.path().filename().string() + "\""), std::string::npos) << p.path();
    EXPECT_TRUE(fs::exists(fs::path(p.path()).replace_extension(".gp")));
  }
  for (const auto& p : f.pngs) EXPECT_TRUE(fs::exists(p)) << p;
  for (const char* name : {"fig3_degradation_over_steps.png", "fig5_block_statistics.png", "loss_curves.png",
                           "precision_telemetry.png", "fig2_optim_weight_decay.png", "fig2_precision_dtype.png"})
    EXPECT_TRUE(fs::exists(out_ / "plots" / name)) << name;
  EXPECT_NE(html.find("nurture report fixture"), std::string::npos);
  EXPECT_NE(html.find("Table 4 layout"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos) << "index.html must not need the network";
}

TEST_F(ReportTest, MissingGnuplotIsOneLineErrorAfterTheTables) {
  try {
    run(true, "nurture-no-such-gnuplot");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos);
    EXPECT_NE(m.find("gnuplot-nox"), std::string::npos) << m;
  }
  EXPECT_TRUE(fs::exists(out_ / "summary.csv"));
  EXPECT_TRUE(fs::exists(out_ / "summary.md"));
  EXPECT_TRUE(fs::exists(out_ / "index.html"));
  EXPECT_TRUE(fs::exists(out_ / "plots" / "loss_curves.gp"));
}

TEST_F(ReportTest, FailingGnuplotIsOneLineErrorAndLeavesNoPartialPng) {
  try {
    run(true, "false");  // found on PATH, exits 1 without drawing anything
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos);
    EXPECT_NE(m.find("gnuplot failed on"), std::string::npos) << m;
  }
  for (const auto& p : fs::directory_iterator(out_ / "plots"))
    EXPECT_EQ(p.path().string().find(".png"), std::string::npos) << p.path();
}

TEST_F(ReportTest, DirectoryWithoutResultsIsOneLineError) {
  fs::create_directories(out_ / "empty" / "some-variant");
  for (const fs::path& dir : {out_ / "empty", out_ / "missing"}) {
    try {
      load_run_tree(dir);
      FAIL() << "expected an error for " << dir;
    } catch (const std::runtime_error& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.find('\n'), std::string::npos);
      EXPECT_NE(m.find(dir.string()), std::string::npos) << m;
    }
  }
}

TEST_F(ReportTest, SingleRunDirectoryIsOneVariant) {
  const RunTree t = load_run_tree(kTree / "wd=0.1,dtype=fp16");
  ASSERT_EQ(t.variants.size(), 1u);
  EXPECT_EQ(t.variants[0].name, "wd=0.1,dtype=fp16");
  EXPECT_EQ(t.variants[0].evals.size(), 2u);
  EXPECT_EQ(t.variants[0].state(), "no analysis");
}

TEST_F(ReportTest, BrokenFilesAreReportedNotFatal) {
  fs::create_directories(out_ / "tree" / "v" / "eval" / "step_0000001");
  std::ofstream(out_ / "tree" / "v" / "metrics.jsonl") << "{\"step\": 1, \"loss\": 5}\nnot json\n{\"step\": 3}\n";
  std::ofstream(out_ / "tree" / "v" / "eval" / "step_0000001" / "ptq.json") << "{\"format\": ";
  const RunTree t = load_run_tree(out_ / "tree");
  ASSERT_EQ(t.variants.size(), 1u);
  ASSERT_EQ(t.variants[0].problems.size(), 2u);
  EXPECT_NE(t.variants[0].problems[0].find("metrics.jsonl:2:"), std::string::npos) << t.variants[0].problems[0];
  EXPECT_NE(t.variants[0].problems[1].find("ptq.json: not valid JSON"), std::string::npos);
  // A torn last line (a run killed mid-write) is dropped silently.
  std::ofstream(out_ / "tree" / "v" / "metrics.jsonl") << "{\"step\": 1, \"loss\": 5}\n{\"step\": 2, \"lo";
  EXPECT_EQ(read_metrics(out_ / "tree" / "v" / "metrics.jsonl").size(), 1u);
}

// nurture ptq writes null rel_pct/degradation_pct when the baseline score is 0 (e.g. acc 0).
TEST_F(ReportTest, NullRelativeChangeIsLeftOutOfTheMean) {
  fs::create_directories(out_);
  std::ofstream(out_ / "ptq.json") << R"({"format": "nurture-ptq-v1", "step": 5,
    "tasks": [{"name": "a", "metric": "acc", "higher_is_better": true},
              {"name": "b", "metric": "bits_per_byte", "higher_is_better": false}],
    "recipes": [{"name": "pre", "scores": {"a": 0.0, "b": 2.0}},
                {"name": "w8a8", "scores": {"a": 0.0, "b": 2.2},
                 "change": {"a": {"abs": 0.0, "rel_pct": null, "degradation_pct": null},
                            "b": {"abs": 0.2, "rel_pct": 10.0, "degradation_pct": 10.0}}},
                {"name": "w4", "scores": {"a": 0.0, "b": 2.4}}]})";
  const PtqResult r = read_ptq(out_ / "ptq.json");
  ASSERT_EQ(r.recipes.size(), 3u);
  EXPECT_FALSE(r.recipes[1].change.at("a").degradation_pct.has_value());
  EXPECT_NEAR(*r.recipes[1].mean_degradation_pct, 10.0, 1e-12);  // derived: only "b" counts
  EXPECT_FALSE(r.recipes[2].change.at("a").rel_pct.has_value());
  EXPECT_NEAR(*r.recipes[2].mean_degradation_pct, 20.0, 1e-9);
}

// Variant names are free text: a '|' must not split a Markdown cell, a '<' must not open a tag,
// and a comma must not split a CSV field.
TEST(ReportTableTest, CellsAreEscapedForEachFormat) {
  Table t;
  t.header = {"variant", "x"};
  t.numeric = {false, true};
  t.rows = {{"a|b<c>", "1.5"}};
  EXPECT_EQ(to_markdown(t), "| variant | x |\n|---|---:|\n| a\\|b<c> | 1.5 |\n");
  EXPECT_NE(to_html(t).find("<td>a|b&lt;c&gt;</td><td class=\"num\">1.5</td>"), std::string::npos);
  EXPECT_EQ(csv_field("wd=0.1,dtype=\"x\""), "\"wd=0.1,dtype=\"\"x\"\"\"");
  EXPECT_EQ(fmt(-0.0001, 2), "0.00");
  EXPECT_EQ(exact(-0.0), "0");
  EXPECT_EQ(exact(0.1), "0.1");
}

TEST_F(ReportTest, AxesCompareVariantsThatDifferOnlyInThatAxis) {
  const RunTree t = load_run_tree(kTree);
  const auto cmp = compare_axes(t);
  ASSERT_EQ(cmp.size(), 2u);
  EXPECT_EQ(cmp[0].axis, "optim.weight_decay");
  EXPECT_EQ(cmp[0].values, (std::vector<std::string>{"0.01", "0.1"}));  // numeric order
  ASSERT_EQ(cmp[0].groups.size(), 2u);
  EXPECT_EQ(cmp[0].groups[0].label, "dtype=bf16");
  EXPECT_EQ(headline_recipes(t), (std::vector<std::string>{"w8a8", "w4"}));
  EXPECT_NEAR(*collect(cmp[0].all.at("0.1"), "w8a8", task_mean_degradation).mean(), (1.5 + 5.0) / 2, 1e-9);
}

// Seeds are replicates, not an axis: two seeds of each clipping value give one comparison
// (clipping), whose cells are the mean ± the 95% confidence interval over the seeds.
TEST(ReportAxesTest, SeedsAreReplicatesOfOnePoint) {
  RunTree t;
  t.axes = {"train.seed", "optim.grad_clip"};
  auto variant = [](const std::string& seed, const std::string& clip, double w8a8, double w4) {
    Variant v;
    v.name = "seed=" + seed + ",clip=" + clip;
    v.axis_values = {{"train.seed", seed}, {"optim.grad_clip", clip}};
    PtqResult e;
    e.step = 100;
    for (auto [name, d] : {std::pair<const char*, double>{"w8a8", w8a8}, {"w4", w4}}) {
      PtqRecipe r;
      r.name = name;
      r.mean_degradation_pct = d;
      e.recipes.push_back(r);
    }
    v.evals.push_back(e);
    return v;
  };
  t.variants = {variant("1", "1", 1.0, 10.0), variant("2", "1", 3.0, 14.0), variant("1", "null", 5.0, 20.0),
                variant("2", "null", 5.0, 30.0)};
  const auto cmp = compare_axes(t);
  ASSERT_EQ(cmp.size(), 1u);  // no comparison along the seed
  EXPECT_EQ(cmp[0].axis, "optim.grad_clip");
  ASSERT_EQ(cmp[0].groups.size(), 1u);
  EXPECT_EQ(cmp[0].groups[0].label, "all");  // the seed is not part of the label
  EXPECT_EQ(cmp[0].groups[0].by_value.at("1").size(), 2u);
  EXPECT_NEAR(*collect(cmp[0].groups[0].by_value.at("null"), "w4", task_mean_degradation).mean(), 25.0, 1e-9);
  // Table cells: mean ± the 95% CI half width over the two seeds, t(0.975, 1) · sd / √2 =
  // 12.706205 · sd / √2 (w8a8 at clip 1: sd √2, so 12.71).
  const std::string md = summary_markdown(t, "test");
  EXPECT_NE(md.find("| all | 2.00 ± 12.71 / 12.00 ± 25.41 | 5.00 ± 0.00 / 25.00 ± 63.53 |"), std::string::npos) << md;
  // Figure 2 plots the same means with the 95% CI of the mean as error bars.
  const test::TempDir dir("seeds-plot");
  write_plot_scripts(t, dir);
  const std::string dat = read_text(dir / "fig2_optim_grad_clip.dat"), gp = read_text(dir / "fig2_optim_grad_clip.gp");
  EXPECT_NE(dat.find("# x value w8a8 w4 w8a8_ci95 w4_ci95"), std::string::npos) << dat;
  EXPECT_NE(dat.find("0 \"1\" 2 12 12.7062"), std::string::npos) << dat;
  EXPECT_NE(gp.find("using 1:3:5 with yerrorlines"), std::string::npos) << gp;
}

}  // namespace
}  // namespace nurture::report
