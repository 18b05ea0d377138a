#include "quant/analysis.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "core/graph.h"
#include "precision/policy.h"

namespace nurture::quant {

namespace {

constexpr int kSites = 4;  // qkv, attn_proj, fc, mlp_proj: LinearSite values 0..3

struct ResidualAcc {
  double max_abs = 0, std_sum = 0;
  int64_t rows = 0;
};

// Sees every block linear's input and the residual stream of one forward pass. The outlier
// counters see only the d_model-wide inputs (qkv, attn_proj, fc); see analysis_outliers.h.
class Collector : public model::ForwardObserver {
 public:
  Collector(int layers, int64_t positions, int64_t d_model) : layers_(layers), inputs_(size_t(layers) * kSites) {
    for (OutlierRule r : {OutlierRule::llm_int8, OutlierRule::fixed, OutlierRule::adaptive})
      outliers_.emplace_back(default_criteria(r), layers, positions, d_model);
    residual_.resize(size_t(layers) + 1);
  }
  void set_first_position(int64_t p) { first_ = p; }

  void linear_input(int layer, model::LinearSite site, core::Tensor x) override {
    if (site == model::LinearSite::lm_head || layer < 0 || layer >= layers_) return;
    inputs_[size_t(layer) * kSites + size_t(site)].add(x.data, x.rows(), x.cols());
    if (site != model::LinearSite::mlp_proj)
      for (OutlierCounter& c : outliers_) c.add(layer, first_, x.data, x.rows());
  }

  void residual(int layer, const core::Tensor& x) override {
    ResidualAcc& r = residual_[size_t(layer + 1)];
    const int64_t rows = x.rows(), cols = x.cols();
    std::vector<double> mean(static_cast<size_t>(rows)), sd(static_cast<size_t>(rows));
    row_mean_std(x.data, rows, cols, mean.data(), sd.data());
    for (int64_t i = 0; i < rows; ++i) r.std_sum += sd[size_t(i)];
    for (int64_t i = 0; i < rows * cols; ++i) r.max_abs = std::max(r.max_abs, double(std::fabs(x.data[i])));
    r.rows += rows;
  }

  int layers_;
  int64_t first_ = 0;
  std::vector<InputStatsAccumulator> inputs_;
  std::vector<OutlierCounter> outliers_;
  std::vector<ResidualAcc> residual_;
};

// "h.3.attn.c_attn.weight" -> "attn.c_attn.weight".
std::string within_block(const std::string& full) {
  if (full.rfind("h.", 0) != 0) return full;
  const size_t dot = full.find('.', 2);
  return dot == std::string::npos ? full : full.substr(dot + 1);
}

}  // namespace

const char* site_key(model::LinearSite s) {
  switch (s) {
    case model::LinearSite::qkv: return "qkv";
    case model::LinearSite::attn_proj: return "attn_proj";
    case model::LinearSite::fc: return "fc";
    case model::LinearSite::mlp_proj: return "mlp_proj";
    case model::LinearSite::lm_head: return "lm_head";
  }
  return "?";
}

std::vector<int32_t> calibration_windows(const std::vector<int32_t>& tokens, int sequences, int seq_len) {
  if (seq_len <= 0 || sequences <= 0) throw std::invalid_argument("calibration: sequences and seq_len must be > 0");
  const int64_t n = int64_t(tokens.size());
  if (n < seq_len)
    throw std::runtime_error("calibration: the held-out text has " + std::to_string(n) +
                             " tokens, fewer than one sequence of " + std::to_string(seq_len) +
                             " (use a larger data.val_fraction)");
  const int64_t count = std::min<int64_t>(sequences, n / seq_len);
  // Evenly spaced starts over [0, n - seq_len]: the windows sample the whole split instead of
  // its first pages, and they never overlap because count·seq_len ≤ n.
  std::vector<int32_t> out;
  out.reserve(size_t(count * seq_len));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t start = count == 1 ? 0 : i * (n - seq_len) / (count - 1);
    out.insert(out.end(), tokens.begin() + start, tokens.begin() + start + seq_len);
  }
  return out;
}

Analysis analyze(model::GPT& gpt, const std::vector<int32_t>& ids, int seq_len, const AnalysisOptions& opt) {
  const model::GPTConfig& cfg = gpt.config();
  if (seq_len <= 0 || seq_len > cfg.seq_len)
    throw std::invalid_argument("analyze: seq_len " + std::to_string(seq_len) + " is outside 1.." +
                                std::to_string(cfg.seq_len));
  if (ids.empty() || ids.size() % size_t(seq_len) != 0)
    throw std::invalid_argument("analyze: the calibration ids are not whole sequences of " + std::to_string(seq_len));
  const int64_t sequences = int64_t(ids.size()) / seq_len;
  const int L = cfg.n_layer;
  Analysis a;
  a.precision = opt.precision;
  a.calibration.sequences = int(sequences);
  a.calibration.seq_len = seq_len;
  a.calibration.tokens = int64_t(ids.size());

  // As in run_ptq: the forward reads the master buffer, rounded to the analysed format (weights
  // and gains too, so their statistics are those of the model PTQ sees), restored on return.
  model::ParamStore& P = gpt.params();
  if (P.has_working_copy()) P.enable_working_copy(false);
  struct Restore {
    float* p;
    std::vector<float> saved;
    ~Restore() { std::copy(saved.begin(), saved.end(), p); }
  } restore{P.master(), {}};
  if (opt.precision != precision::Format::fp32) {
    if (opt.restore_weights) restore.saved.assign(P.master(), P.master() + P.numel());
    precision::round_inplace(opt.precision, P.master(), P.numel());
  }
  precision::PolicyConfig pc;
  pc.dtype = opt.precision;
  pc.native_gemm = false;  // GEMMs in fp32 on rounded operands, like ptq's baseline forward
  precision::MixedPrecision policy(pc);
  const core::OpPrecision prec = policy.op_precision(false);

  auto collector = std::make_unique<Collector>(L, a.calibration.tokens, cfg.d_model);
  core::Arena acts, grads;
  const int64_t per_batch =
      std::max<int64_t>(1, std::min<int64_t>(opt.batch_sequences, gpt.inference_tokens() / seq_len));
  for (int64_t s = 0; s < sequences; s += per_batch) {
    const int64_t B = std::min(per_batch, sequences - s);
    acts.reset();
    core::Ctx ctx(acts, grads, nullptr);
    ctx.prec = prec;
    collector->set_first_position(s * seq_len);
    gpt.forward(ctx, ids.data() + s * seq_len, B, seq_len, 0, collector.get());
    if (opt.log) opt.log("calibration: " + std::to_string(s + B) + "/" + std::to_string(sequences) + " sequences");
  }

  const auto& blocks = gpt.blocks();
  for (int l = 0; l < L; ++l) {
    const auto& bp = blocks[size_t(l)];
    const int weights[kSites] = {bp.attn_w, bp.attn_proj_w, bp.fc_w, bp.mlp_proj_w};
    for (int s = 0; s < kSites; ++s) {
      LinearReport r;
      r.block = l;
      r.site = model::LinearSite(s);
      r.input = collector->inputs_[size_t(l) * kSites + size_t(s)].result();
      const core::Tensor w = P.tensor(weights[s]);
      r.weight = value_stats(w.data, w.numel());
      r.spectral = spectral_norm(w.data, w.rows(), w.cols(), opt.spectral);
      a.linears.push_back(r);
    }
    for (int idx : {bp.ln_1_w, bp.ln_2_w}) {
      const core::Tensor g = P.tensor(idx);
      a.layer_norms.push_back({l, idx == bp.ln_1_w ? "ln_1" : "ln_2", value_stats(g.data, g.numel())});
    }
    // Figure 4: the attn-kqv-proj weights and the LayerNorm gains of every block.
    for (int idx : {bp.attn_w, bp.ln_1_w, bp.ln_2_w}) {
      const core::Tensor t = P.tensor(idx);
      const bool is_weight = idx == bp.attn_w;
      a.histograms.push_back(
          {l, within_block(P.info(idx).name), histogram(t.data, t.numel(), opt.histogram_bins, is_weight)});
    }
  }
  const core::Tensor gf = P.tensor(gpt.ln_f_w());
  a.layer_norms.push_back({L, "ln_f", value_stats(gf.data, gf.numel())});

  for (int i = 0; i <= L; ++i) {
    const ResidualAcc& r = collector->residual_[size_t(i)];
    a.residual.push_back({i - 1, r.max_abs, r.rows > 0 ? r.std_sum / double(r.rows) : 0});
  }
  for (size_t k = 0; k < a.outliers.size(); ++k) a.outliers[k] = collector->outliers_[k].result();
  return a;
}

}  // namespace nurture::quant
