#include "quant/fake_quant.h"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

namespace nurture::quant {

namespace {

constexpr int kSlots = 5;  // LinearSite values per layer, lm_head included

size_t slot(int layer, model::LinearSite site) { return size_t(layer) * kSlots + size_t(site); }

}  // namespace

std::vector<LinearRef> quantized_linears(const model::GPT& gpt, bool include_head) {
  std::vector<LinearRef> out;
  const auto& blocks = gpt.blocks();
  for (int l = 0; l < int(blocks.size()); ++l) {
    const auto& b = blocks[size_t(l)];
    out.push_back({l, model::LinearSite::qkv, b.attn_w, b.attn_b});
    out.push_back({l, model::LinearSite::attn_proj, b.attn_proj_w, b.attn_proj_b});
    out.push_back({l, model::LinearSite::fc, b.fc_w, b.fc_b});
    out.push_back({l, model::LinearSite::mlp_proj, b.mlp_proj_w, b.mlp_proj_b});
  }
  if (include_head) out.push_back({int(blocks.size()), model::LinearSite::lm_head, gpt.lm_head(), -1});
  return out;
}

void fake_quant_weights(model::GPT& gpt, const std::vector<LinearRef>& linears, const QuantSpec& spec) {
  model::ParamStore& P = gpt.params();
  for (const LinearRef& r : linears) {
    const core::Shape& s = P.info(r.weight).shape;
    float* w = P.master(r.weight);
    fake_quant(w, s.rows(), s.cols(), spec, w);
  }
}

int64_t weight_bytes(const model::GPT& gpt, const std::vector<LinearRef>& linears, const Recipe& recipe,
                     int float_bytes) {
  int64_t total = 0;
  for (const LinearRef& r : linears) {
    const core::Shape& s = gpt.params().info(r.weight).shape;
    total += recipe.quantize_weights ? storage_bytes(s.rows(), s.cols(), recipe.weight) : s.numel() * float_bytes;
  }
  return total;
}

FakeQuantObserver::FakeQuantObserver(const Recipe& recipe, model::GPT& gpt, bool include_head)
    : recipe_(recipe), n_layer_(gpt.config().n_layer), include_head_(include_head) {
  if (!recipe_.llm_int8) return;
  wq_.resize(size_t(n_layer_ + 1) * kSlots);
  model::ParamStore& P = gpt.params();
  for (const LinearRef& r : quantized_linears(gpt, include_head)) {
    const core::Shape& s = P.info(r.weight).shape;
    std::vector<float>& q = wq_[slot(r.layer, r.site)];
    q.assign(P.master(r.weight), P.master(r.weight) + s.numel());
    fake_quant(q.data(), s.rows(), s.cols(), recipe_.weight, q.data());
  }
}

void FakeQuantObserver::set_static_act_ranges(const InputAbsMax& absmax) {
  static_absmax_.assign(size_t(n_layer_ + 1) * kSlots, 0.0f);
  for (int l = 0; l < n_layer_; ++l)
    for (model::LinearSite site : {model::LinearSite::qkv, model::LinearSite::attn_proj, model::LinearSite::fc,
                                   model::LinearSite::mlp_proj})
      static_absmax_[slot(l, site)] = absmax.tensor_absmax(l, site);
  if (include_head_) static_absmax_[slot(n_layer_, model::LinearSite::lm_head)] =
      absmax.tensor_absmax(n_layer_, model::LinearSite::lm_head);
}

bool FakeQuantObserver::applies(int layer, model::LinearSite site) const {
  if (site == model::LinearSite::lm_head) return include_head_;
  return layer >= 0 && layer < n_layer_;
}

void FakeQuantObserver::linear_input(int layer, model::LinearSite site, core::Tensor x) {
  if (!recipe_.quantize_acts || !applies(layer, site)) return;
  const int64_t rows = x.rows(), cols = x.cols();
  if (!recipe_.llm_int8) {
    if (recipe_.act.gran == Granularity::tensor && !static_absmax_.empty()) {
      const int l = site == model::LinearSite::lm_head ? n_layer_ : layer;
      fake_quant_static(x.data, rows * cols, static_absmax_[slot(l, site)], recipe_.act, x.data);
    } else {
      fake_quant(x.data, rows, cols, recipe_.act, x.data);
    }
    return;
  }
  outliers_ = outlier_columns(x.data, rows, cols, recipe_.outlier_threshold);
  ++calls_;
  outlier_cols_ += int64_t(outliers_.size());
  fake_quant_except(x.data, rows, cols, outliers_, recipe_.act);
}

bool FakeQuantObserver::linear(core::Ctx& ctx, int layer, model::LinearSite site, const core::Tensor& x,
                               const core::Tensor& w, const core::Tensor* b, core::Tensor& out) {
  if (!recipe_.llm_int8 || !applies(layer, site)) return false;
  // The int8 weights with the outlier columns taken from the baseline weights. The two parts
  // touch disjoint input columns, so one GEMM computes X_o·W_oᵀ + X̂_rest·Ŵ_restᵀ.
  const std::vector<float>& q = wq_[slot(layer, site)];
  mix_.resize(q.size());
  mix_columns(q.data(), w.data, w.rows(), w.cols(), outliers_, mix_.data());
  core::Tensor wm;
  wm.data = mix_.data();
  wm.shape = w.shape;
  out = core::linear(ctx, x, wm, b);
  return true;
}

std::vector<int> outlier_columns(const float* x, int64_t rows, int64_t cols, float threshold) {
  // Column maxima a row at a time, vectorised along the row (contiguous): this scan runs on every
  // linear input under llm-int8, where the scalar loop cost 15% of an int8 prefill. A NaN never
  // reaches the threshold either way.
  std::vector<int> out;
  Eigen::ArrayXf colmax = Eigen::ArrayXf::Zero(cols);
  for (int64_t r = 0; r < rows; ++r)
    colmax = colmax.max(Eigen::Map<const Eigen::ArrayXf>(x + r * cols, cols).abs());
  for (int64_t c = 0; c < cols; ++c)
    if (colmax[c] >= threshold) out.push_back(int(c));
  return out;
}

void fake_quant_except(float* x, int64_t rows, int64_t cols, const std::vector<int>& keep, const QuantSpec& spec) {
  if (keep.empty()) {
    fake_quant(x, rows, cols, spec, x);
    return;
  }
  std::vector<float> kept(size_t(rows) * keep.size());
  for (int64_t r = 0; r < rows; ++r)
    for (size_t k = 0; k < keep.size(); ++k) {
      kept[size_t(r) * keep.size() + k] = x[r * cols + keep[k]];
      x[r * cols + keep[k]] = 0.0f;  // quantizes to exactly 0 and sets no scale
    }
  fake_quant(x, rows, cols, spec, x);
  for (int64_t r = 0; r < rows; ++r)
    for (size_t k = 0; k < keep.size(); ++k) x[r * cols + keep[k]] = kept[size_t(r) * keep.size() + k];
}

void mix_columns(const float* wq, const float* w, int64_t rows, int64_t cols, const std::vector<int>& keep,
                 float* out) {
  std::copy(wq, wq + rows * cols, out);
  for (int64_t r = 0; r < rows; ++r)
    for (int c : keep) out[r * cols + c] = w[r * cols + c];
}

}  // namespace nurture::quant
