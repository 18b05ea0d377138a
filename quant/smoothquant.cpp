#include "quant/smoothquant.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace nurture::quant {

namespace {

class AbsMaxObserver : public model::ForwardObserver {
 public:
  explicit AbsMaxObserver(InputAbsMax& out) : out_(out) {}
  void linear_input(int layer, model::LinearSite site, core::Tensor x) override {
    const bool head = site == model::LinearSite::lm_head;
    if (!head && (layer < 0 || layer >= out_.n_layer)) return;
    std::vector<float>& m = head ? out_.head : out_.per_linear[size_t(layer) * 4 + size_t(site)];
    const int64_t rows = x.rows(), cols = x.cols();
    if (m.empty()) m.assign(size_t(cols), 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        // A NaN sticks (std::max would drop it): an overflowed calibration must not look clean.
        const float a = std::fabs(x.data[r * cols + c]);
        if (a > m[size_t(c)] || std::isnan(a)) m[size_t(c)] = a;
      }
  }

 private:
  InputAbsMax& out_;
};

}  // namespace

InputAbsMax calibrate_input_absmax(model::GPT& gpt, const std::vector<int32_t>& tokens, int sequences,
                                   const core::OpPrecision& prec, int batch_sequences) {
  if (tokens.size() < 2) throw std::invalid_argument("smoothquant calibration needs at least 2 held-out tokens");
  InputAbsMax out;
  out.n_layer = gpt.config().n_layer;
  out.per_linear.resize(size_t(out.n_layer) * 4);
  const int64_t T = std::min<int64_t>(gpt.config().seq_len, int64_t(tokens.size()));
  const int64_t n = std::max<int64_t>(1, std::min<int64_t>(sequences, int64_t(tokens.size()) / T));
  const int32_t* first = tokens.data() + (int64_t(tokens.size()) - n * T);
  AbsMaxObserver obs(out);
  core::Arena acts, grads;
  const int64_t per_batch = std::max<int64_t>(1, std::min<int64_t>(batch_sequences, gpt.inference_tokens() / T));
  for (int64_t s = 0; s < n; s += per_batch) {
    const int64_t B = std::min<int64_t>(per_batch, n - s);
    acts.reset();
    core::Ctx ctx(acts, grads, nullptr);
    ctx.prec = prec;
    gpt.forward(ctx, first + s * T, B, T, 0, &obs);
  }
  out.tokens = n * T;
  out.sequences = n;
  return out;
}

float InputAbsMax::tensor_absmax(int layer, model::LinearSite site) const {
  const std::vector<float>& m = at(layer, site);
  if (m.empty()) throw std::logic_error("activation calibration missing for a linear");
  return *std::max_element(m.begin(), m.end());
}

std::vector<float> smooth_scales(const std::vector<float>& x_absmax, const float* w, int64_t out, int64_t in,
                                 float alpha) {
  std::vector<float> wmax(size_t(in), 0.0f);
  for (int64_t r = 0; r < out; ++r)
    for (int64_t c = 0; c < in; ++c) wmax[size_t(c)] = std::max(wmax[size_t(c)], std::fabs(w[r * in + c]));
  std::vector<float> s(size_t(in), 1.0f);
  for (int64_t c = 0; c < in; ++c) {
    const double xm = x_absmax[size_t(c)], wm = wmax[size_t(c)];
    if (xm > 0 && wm > 0) s[size_t(c)] = float(std::max(1e-5, std::pow(xm, alpha) / std::pow(wm, 1.0 - alpha)));
  }
  return s;
}

void apply_smoothing(model::GPT& gpt, const InputAbsMax& absmax, float alpha) {
  model::ParamStore& P = gpt.params();
  const int64_t C = gpt.config().d_model;
  auto scale_columns = [&](int w, const std::vector<float>& s) {
    const core::Shape& sh = P.info(w).shape;
    float* p = P.master(w);
    for (int64_t r = 0; r < sh.rows(); ++r)
      for (int64_t c = 0; c < sh.cols(); ++c) p[r * sh.cols() + c] *= s[size_t(c)];
  };
  // p[offset + j] /= s_j: a LayerNorm gain or bias, or the v part of the c_attn bias.
  auto divide = [&](int param, int64_t offset, const std::vector<float>& s) {
    if (param < 0) return;
    float* p = P.master(param) + offset;
    for (size_t j = 0; j < s.size(); ++j) p[j] /= s[j];
  };
  for (int l = 0; l < gpt.config().n_layer; ++l) {
    const auto& b = gpt.blocks()[size_t(l)];
    auto scales_for = [&](model::LinearSite site, int w) {
      const core::Shape& sh = P.info(w).shape;
      const std::vector<float>& xm = absmax.at(l, site);
      if (int64_t(xm.size()) != sh.cols()) throw std::logic_error("smoothquant: calibration missing for a linear");
      return smooth_scales(xm, P.master(w), sh.rows(), sh.cols(), alpha);
    };
    const std::vector<float> s_qkv = scales_for(model::LinearSite::qkv, b.attn_w);
    const std::vector<float> s_proj = scales_for(model::LinearSite::attn_proj, b.attn_proj_w);
    const std::vector<float> s_fc = scales_for(model::LinearSite::fc, b.fc_w);
    // qkv ← ln_1
    divide(b.ln_1_w, 0, s_qkv);
    divide(b.ln_1_b, 0, s_qkv);
    scale_columns(b.attn_w, s_qkv);
    // attn_proj ← v rows [2C, 3C) of c_attn: row 2C + j of the weight is divided by s_j.
    {
      float* w = P.master(b.attn_w);
      for (int64_t j = 0; j < C; ++j)
        for (int64_t c = 0; c < C; ++c) w[(2 * C + j) * C + c] /= s_proj[size_t(j)];
      divide(b.attn_b, 2 * C, s_proj);
    }
    scale_columns(b.attn_proj_w, s_proj);
    // fc ← ln_2
    divide(b.ln_2_w, 0, s_fc);
    divide(b.ln_2_b, 0, s_fc);
    scale_columns(b.fc_w, s_fc);
  }
}

}  // namespace nurture::quant
