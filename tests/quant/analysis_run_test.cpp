// `quant::analyze` on an in-memory GPT: the observer sees every block linear's input, the
// JSON carries every key of the nurture-analysis-v1 schema, and the statistics move the way
// they must when a LayerNorm gain is scaled.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/rng.h"
#include "quant/analysis.h"
#include "quant/analysis_report.h"

using namespace nurture;

namespace {

model::GPTConfig tiny() {
  model::GPTConfig c;
  c.vocab_size = 64;
  c.d_model = 32;
  c.n_layer = 2;
  c.n_head = 4;
  c.seq_len = 16;
  return c;
}

std::vector<int32_t> random_ids(int64_t n, int vocab, uint64_t seed) {
  core::SeqRng rng(seed);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& t : ids) t = int32_t(rng.below(uint64_t(vocab)));
  return ids;
}

const quant::LinearReport& find(const quant::Analysis& a, int block, model::LinearSite site) {
  for (const auto& l : a.linears)
    if (l.block == block && l.site == site) return l;
  throw std::runtime_error("no such linear");
}

}  // namespace

TEST(CalibrationWindows, SpreadEvenlyWithoutOverlap) {
  std::vector<int32_t> tokens(100);
  for (int i = 0; i < 100; ++i) tokens[size_t(i)] = i;
  const std::vector<int32_t> w = quant::calibration_windows(tokens, 3, 10);
  ASSERT_EQ(w.size(), 30u);
  EXPECT_EQ(w[0], 0);    // first window at the start
  EXPECT_EQ(w[10], 45);  // (100 - 10) / 2
  EXPECT_EQ(w[20], 90);  // last window ends at the end
  EXPECT_EQ(w[29], 99);
  // More sequences than the text holds: as many whole windows as fit, tiling it exactly.
  const std::vector<int32_t> all = quant::calibration_windows(tokens, 50, 10);
  EXPECT_EQ(all, tokens);
  EXPECT_THROW(quant::calibration_windows(std::vector<int32_t>(5, 1), 2, 10), std::runtime_error);
}

TEST(AnalysisDir, FollowsTheRunLayout) {
  EXPECT_EQ(quant::default_analysis_dir("runs/x/checkpoints/step_0000600.h5"),
            std::filesystem::path("runs/x/analysis/step_0000600"));
  EXPECT_EQ(quant::default_analysis_dir("/tmp/model.h5"), std::filesystem::path("/tmp/model.h5.analysis"));
}

TEST(Analyze, CoversEveryLinearAndWritesTheSchema) {
  model::GPT gpt(tiny());
  gpt.init(7);
  const std::vector<int32_t> ids = random_ids(3 * 16, 64, 1);
  quant::AnalysisOptions opt;
  opt.batch_sequences = 2;  // two forward passes, the second one partial
  opt.histogram_bins = 8;
  const quant::Analysis a = quant::analyze(gpt, ids, 16, opt);
  EXPECT_EQ(a.calibration.sequences, 3);
  EXPECT_EQ(a.calibration.tokens, 48);
  ASSERT_EQ(a.linears.size(), 8u);
  for (const auto& l : a.linears) {
    EXPECT_EQ(l.input.tokens, 48) << l.block << " " << model::name(l.site);
    EXPECT_GT(l.input.rmse_int8, 0.0);
    EXPECT_GT(l.input.token_std, 0.0);
    EXPECT_GT(l.spectral.value, 0.0);
    EXPECT_TRUE(l.spectral.converged);
  }
  // At init the LayerNorm outputs are standardized (gain 1, bias 0): token STD √(var/(var + ε)),
  // a little below 1 because the embeddings' variance (~2·0.02²) is not large against ε = 1e-5.
  EXPECT_LT(find(a, 0, model::LinearSite::qkv).input.token_std, 1.0);
  EXPECT_GT(find(a, 0, model::LinearSite::qkv).input.token_std, 0.98);
  // GELU outputs are wider (4·d) and non-negative-ish; only check they were seen separately.
  EXPECT_NE(find(a, 1, model::LinearSite::mlp_proj).input.max_abs, find(a, 1, model::LinearSite::fc).input.max_abs);
  EXPECT_EQ(a.layer_norms.size(), 5u);
  EXPECT_EQ(a.layer_norms.back().name, "ln_f");
  EXPECT_EQ(a.layer_norms.back().block, 2);
  EXPECT_EQ(a.layer_norms[0].gain.std, 0.0);  // untrained gain: all ones
  EXPECT_EQ(a.residual.size(), 3u);
  EXPECT_EQ(a.histograms.size(), 6u);

  const nlohmann::ordered_json j = quant::to_json(a, {"runs/t/checkpoints/step_0000001.h5", 1});
  EXPECT_EQ(j["format"], "nurture-analysis-v1");
  for (const char* k : {"checkpoint", "step", "precision", "calibration", "linears", "layer_norms", "outliers",
                        "histograms", "summary"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"source", "sequences", "seq_len", "tokens"}) EXPECT_TRUE(j["calibration"].contains(k)) << k;
  EXPECT_EQ(j["calibration"]["seq_len"], 16);
  const auto& l0 = j["linears"][0];
  EXPECT_EQ(l0["block"], 0);
  EXPECT_EQ(l0["site"], "qkv");
  for (const char* k : {"rmse_int8", "token_std", "max_abs"}) EXPECT_TRUE(l0["input"].contains(k)) << k;
  for (const char* k : {"spectral_norm", "std", "max_abs"}) EXPECT_TRUE(l0["weight"].contains(k)) << k;
  EXPECT_EQ(j["linears"][3]["site"], "mlp_proj");
  for (const char* k : {"block", "name", "gain_std", "gain_mean"}) EXPECT_TRUE(j["layer_norms"][0].contains(k)) << k;
  EXPECT_EQ(j["layer_norms"][0]["name"], "ln_1");
  for (const char* rule : {"llm_int8", "fixed", "adaptive"}) {
    ASSERT_TRUE(j["outliers"].contains(rule)) << rule;
    for (const char* k : {"rule", "dims", "count", "pct_sequences", "pct_layers"})
      EXPECT_TRUE(j["outliers"][rule].contains(k)) << rule << "." << k;
  }
  EXPECT_EQ(j["histograms"][0]["name"], "attn.c_attn.weight");
  EXPECT_EQ(j["histograms"][1]["name"], "ln_1.weight");
  EXPECT_EQ(j["histograms"][0]["edges"].size(), 9u);
  EXPECT_EQ(j["histograms"][0]["counts"].size(), 8u);
  for (const char* k :
       {"rmse_int8_mean", "token_std_mean", "max_abs", "ln_gain_std_mean", "spectral_norm_mean", "outliers_llm_int8",
        "outliers_fixed", "outliers_adaptive", "qkv_rmse_int8_mean", "qkv_token_std_mean", "qkv_spectral_norm_mean",
        "ln_1_gain_std_mean", "all_sites_rmse_int8_mean", "all_sites_token_std_mean", "all_sites_spectral_norm_mean",
        "all_sites_ln_gain_std_mean"})
    EXPECT_TRUE(j["summary"].contains(k)) << k;
  const std::string md = quant::to_markdown(a, {"runs/t/checkpoints/step_0000001.h5", 1});
  EXPECT_NE(md.find("| 1 | mlp_proj |"), std::string::npos);
  EXPECT_NE(md.find("| adaptive |"), std::string::npos);
}

TEST(Analyze, ScalingALayerNormScalesItsLinearInputs) {
  // ln_1 of block 0 feeds qkv of block 0 only. Doubling its gain and bias doubles that input
  // exactly (×2 is exact in binary floating point, and per-token absmax int8 is
  // scale-equivariant), so RMSE, token STD and max |x| double; nothing upstream changes.
  model::GPT gpt(tiny());
  gpt.init(3);
  const std::vector<int32_t> ids = random_ids(2 * 16, 64, 2);
  const quant::Analysis before = quant::analyze(gpt, ids, 16);
  auto& P = gpt.params();
  for (int idx : {gpt.blocks()[0].ln_1_w, gpt.blocks()[0].ln_1_b}) {
    float* p = P.master(idx);
    for (int64_t i = 0; i < P.info(idx).shape.numel(); ++i) p[i] = idx == gpt.blocks()[0].ln_1_w ? 2.0f : 0.25f;
  }
  const quant::Analysis base = quant::analyze(gpt, ids, 16);
  for (int idx : {gpt.blocks()[0].ln_1_w, gpt.blocks()[0].ln_1_b}) {
    float* p = P.master(idx);
    for (int64_t i = 0; i < P.info(idx).shape.numel(); ++i) p[i] *= 2.0f;
  }
  const quant::Analysis doubled = quant::analyze(gpt, ids, 16);
  const auto& q0 = find(base, 0, model::LinearSite::qkv).input;
  const auto& q1 = find(doubled, 0, model::LinearSite::qkv).input;
  EXPECT_NEAR(q1.rmse_int8, 2 * q0.rmse_int8, 1e-9 * q0.rmse_int8);
  EXPECT_NEAR(q1.token_std, 2 * q0.token_std, 1e-9 * q0.token_std);
  EXPECT_EQ(q1.max_abs, 2 * q0.max_abs);
  EXPECT_EQ(find(doubled, 0, model::LinearSite::qkv).spectral.value,
            find(before, 0, model::LinearSite::qkv).spectral.value);
  EXPECT_NEAR(doubled.layer_norms[0].gain.mean, 4.0, 1e-12);
  EXPECT_EQ(doubled.residual[0].max_abs, before.residual[0].max_abs);  // the embeddings do not see ln_1
}

TEST(Analyze, AnAmplifyingLayerNormGainCreatesAnOutlierDimension) {
  // The paper's point about LayerNorm (section 5): the gain can amplify one feature of every
  // token. With ln_1's gain at 12 in dimension 5 of both blocks, the qkv inputs carry
  // |x| ≈ 12·|z| there, z roughly standard normal, so most tokens exceed 6 in that dimension
  // and every block is hit: all three rules flag dimension 5, and nothing else reaches 6.
  model::GPT gpt(tiny());
  gpt.init(11);
  auto& P = gpt.params();
  for (const auto& bp : gpt.blocks()) P.master(bp.ln_1_w)[5] = 12.0f;
  const quant::Analysis a = quant::analyze(gpt, random_ids(4 * 16, 64, 3), 16);
  for (const auto& r : a.outliers) {
    ASSERT_FALSE(r.dims.empty()) << quant::name(r.rule);
    EXPECT_EQ(r.dims[0].dim, 5) << quant::name(r.rule);
    EXPECT_DOUBLE_EQ(r.dims[0].pct_layers, 100.0) << quant::name(r.rule);
    EXPECT_GT(r.dims[0].pct_tokens, 30.0) << quant::name(r.rule);
  }
  EXPECT_EQ(a.outliers[0].dims.size(), 1u);
  // Per-token int8 of that input is now coarse: its RMSE grows well beyond the unamplified fc input's.
  EXPECT_GT(find(a, 0, model::LinearSite::qkv).input.rmse_int8, 2 * find(a, 0, model::LinearSite::fc).input.rmse_int8);
  EXPECT_GT(a.layer_norms[0].gain.std, 1.0);
}

// --precision: the model is analysed as PTQ's baseline sees it (parameters rounded to the
// format, half activations), the format is recorded, and the caller's parameters come back
// bit for bit.
TEST(Analyze, RunsInTheRequestedFormatAndRestoresTheParameters) {
  model::GPT gpt(tiny());
  gpt.init(11);
  const std::vector<int32_t> ids = random_ids(2 * 16, 64, 3);
  auto& P = gpt.params();
  const std::vector<float> before(P.master(), P.master() + P.numel());
  quant::AnalysisOptions opt;
  const quant::Analysis full = quant::analyze(gpt, ids, 16, opt);
  EXPECT_EQ(full.precision, precision::Format::fp32);
  opt.precision = precision::Format::fp16;
  const quant::Analysis half = quant::analyze(gpt, ids, 16, opt);
  EXPECT_EQ(half.precision, precision::Format::fp16);
  EXPECT_EQ(std::vector<float>(P.master(), P.master() + P.numel()), before);
  // Rounding moves the statistics a little (fp16 keeps ~3 decimal digits), never a lot.
  const auto& a = find(full, 1, model::LinearSite::qkv);
  const auto& b = find(half, 1, model::LinearSite::qkv);
  EXPECT_NE(a.input.token_std, b.input.token_std);
  EXPECT_NEAR(b.input.token_std, a.input.token_std, 1e-2 * a.input.token_std);
  EXPECT_NEAR(b.spectral.value, a.spectral.value, 1e-2 * a.spectral.value);
  EXPECT_EQ(quant::to_json(half, {"x.h5", 1})["precision"], "fp16");
  EXPECT_NE(quant::to_markdown(half, {"x.h5", 1}).find("fp16 forward"), std::string::npos);
}
