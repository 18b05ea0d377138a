// `nurture analyze`: the paper's weight and activation statistics (Ahmadian et al. 2023,
// section 5, Table 5, Figures 4-5) for one model. A calibration batch runs through
// GPT::forward without a tape while an observer collects every block linear's input and the
// residual stream; the weights and LayerNorm gains are read from the parameter store.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/gpt.h"
#include "precision/format.h"
#include "quant/analysis_outliers.h"
#include "quant/analysis_stats.h"
#include "quant/spectral_norm.h"

namespace nurture::quant {

// The site's key in analysis.json and the tables: qkv, attn_proj, fc, mlp_proj, lm_head (the
// enum's names; model::name gives the parameter prefix, e.g. "attn.c_attn", instead).
const char* site_key(model::LinearSite s);

struct AnalysisOptions {
  // The number format the model is analysed in: every parameter is rounded to it and the
  // forward runs with its op precision, as `nurture ptq`'s baseline does (quant/ptq.h), so the
  // statistics describe the model PTQ quantizes. `nurture analyze` defaults to PTQ's default
  // baseline (fp16); fp32 analyses the master weights unrounded. The parameters are restored
  // before analyze returns.
  precision::Format precision = precision::Format::fp32;
  // false: the parameters stay rounded to `precision` afterwards, and no copy of them is kept
  // (GPT-2 small: 650 MB) — for a caller that discards the model (nurture analyze).
  bool restore_weights = true;
  int batch_sequences = 4;  // sequences per forward pass: bounds the activation memory
  int histogram_bins = 64;
  SpectralNormOptions spectral;
  std::function<void(const std::string&)> log;
};

struct Calibration {
  std::string source = "heldout";
  std::string description;  // what the caller calibrated on, e.g. the corpus and split size
  int sequences = 0;
  int seq_len = 0;
  int64_t tokens = 0;
};

struct LinearReport {
  int block = 0;
  model::LinearSite site = model::LinearSite::qkv;
  InputStats input;
  SpectralNorm spectral;
  ValueStats weight;
};

struct LayerNormReport {
  int block = 0;  // n_layer for ln_f
  std::string name;
  ValueStats gain;
};

// The residual stream after block `block` (-1: after the embeddings).
struct ResidualReport {
  int block = -1;
  double max_abs = 0, token_std = 0;
};

struct NamedHistogram {
  int block = 0;
  std::string name;  // the parameter's name within its block, e.g. "attn.c_attn.weight"
  Histogram hist;
};

struct Analysis {
  precision::Format precision = precision::Format::fp32;  // AnalysisOptions::precision
  Calibration calibration;
  std::vector<LinearReport> linears;  // block-major, sites in forward order
  std::vector<LayerNormReport> layer_norms;
  std::vector<ResidualReport> residual;
  std::array<OutlierResult, 3> outliers;  // llm_int8, fixed, adaptive
  std::vector<NamedHistogram> histograms;
};

// `sequences` windows of `seq_len` tokens spread evenly over `tokens` without overlap,
// concatenated; fewer when the text is shorter than sequences·seq_len. Throws if the text is
// shorter than one window.
std::vector<int32_t> calibration_windows(const std::vector<int32_t>& tokens, int sequences, int seq_len);

// ids: [sequences, seq_len] token ids (seq_len ≤ the model's).
Analysis analyze(model::GPT& gpt, const std::vector<int32_t>& ids, int seq_len, const AnalysisOptions& opt = {});

}  // namespace nurture::quant
