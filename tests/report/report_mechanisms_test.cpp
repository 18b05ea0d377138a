// "Did each knob act?": metrics.jsonl's knob fields read back and summarised per variant, with
// values worked out by hand; a run without those fields gets no section.
#include <gtest/gtest.h>

#include <filesystem>

#include "report/report_data.h"
#include "report/report_mechanisms.h"
#include "tests/support/support.h"

namespace nurture::report {
namespace {

namespace fs = std::filesystem;

std::vector<MetricsRecord> metrics_from(const std::string& jsonl) {
  const test::TempDir dir("mech");
  test::write_text(dir / "metrics.jsonl", jsonl);
  return read_metrics(dir / "metrics.jsonl");
}

TEST(ReportMechanisms, IndicatorsFromTheLastLoggedRecords) {
  Variant v;
  v.name = "fp16";
  v.metrics = metrics_from(
      R"({"step": 10, "loss": 5.0, "weight_norm_matrix": 20.0, "decay_factor": 0.99, "clipped_fraction": 0.5,)"
      R"( "loss_scale_growths": 0, "loss_scale_backoffs": 1, "ln1_gain_std": [0.0, 0.02]})" "\n"
      R"({"step": 10, "val_loss": 5.1, "val_residual_max": [2.0, 7.5], "val_residual_kurtosis": [3.0, 9.0]})" "\n"
      R"({"step": 20, "loss": 4.0, "weight_norm_matrix": 18.5, "decay_factor": 0.98, "clipped_fraction": 0.25,)"
      R"( "loss_scale_growths": 2, "loss_scale_backoffs": 3, "ln1_gain_std": [0.01, 0.03]})" "\n");
  ASSERT_EQ(v.metrics.size(), 3u);
  const KnobIndicators k = knob_indicators(v);
  EXPECT_DOUBLE_EQ(*k.weight_norm_first, 20.0);
  EXPECT_DOUBLE_EQ(*k.weight_norm_last, 18.5);
  EXPECT_DOUBLE_EQ(*k.decay_factor, 0.98);
  EXPECT_DOUBLE_EQ(*k.clipped_fraction, 0.25);
  EXPECT_DOUBLE_EQ(*k.scale_growths, 2);
  EXPECT_DOUBLE_EQ(*k.scale_backoffs, 3);
  EXPECT_DOUBLE_EQ(*k.ln1_gain_std, 0.02);       // mean of 0.01 and 0.03
  EXPECT_DOUBLE_EQ(*k.residual_max, 7.5);        // max over blocks
  EXPECT_DOUBLE_EQ(*k.residual_kurtosis, 6.0);   // mean of 3 and 9

  RunTree tree;
  tree.variants.push_back(v);
  const auto s = mechanisms_section(tree);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->table.rows.size(), 1u);
  EXPECT_EQ(s->table.rows[0],
            (std::vector<std::string>{"fp16", "20.00 → 18.50", "0.9800", "25%", "2 / 3", "0.0200", "7.50", "6.00"}));
}

TEST(ReportMechanisms, NoSectionWithoutKnobFields) {
  Variant v;
  v.name = "old";
  v.metrics = metrics_from(R"({"step": 10, "loss": 5.0})" "\n" R"({"step": 10, "val_loss": 5.1})" "\n");
  EXPECT_FALSE(knob_indicators(v).any());
  RunTree tree;
  tree.variants.push_back(v);
  EXPECT_FALSE(mechanisms_section(tree));
}

}  // namespace
}  // namespace nurture::report
