#include "quant/int8_model.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/gemm.h"
#include "quant/fake_quant.h"

namespace nurture::quant {

namespace {

constexpr int kSlots = 5;  // LinearSite values per layer, lm_head included

size_t slot(int layer, model::LinearSite site) { return size_t(layer) * kSlots + size_t(site); }

void require(bool ok, const Recipe& r, const std::string& what) {
  if (!ok) throw std::invalid_argument("recipe '" + r.name + "' has no int8 kernel: " + what);
}

}  // namespace

Int8Options int8_options(const Recipe& r, bool include_head) {
  Int8Options o;
  require(r.quantize_weights, r, "it does not quantize the weights");
  require(!r.llm_int8 || (r.quantize_acts && r.act.gran == Granularity::row), r,
          "LLM.int8() needs per-token activations");
  require(r.weight.symmetric && (!r.quantize_acts || r.act.symmetric), r, "asymmetric quantization");
  require(r.weight.bits == 8 || r.weight.bits == 4, r, "weights must be 8 or 4 bits");
  require(r.weight.gran != Granularity::group, r, "group-wise weights");
  require(!r.quantize_acts || (r.act.bits == 8 && r.act.gran != Granularity::group), r,
          "activations must be int8 per token or per tensor");
  o.weight_bits = r.weight.bits;
  o.weight_per_tensor = r.weight.gran == Granularity::tensor;
  o.weight_clip = r.weight.clip;
  o.quantize_acts = r.quantize_acts;
  o.act_per_tensor = r.quantize_acts && r.act.gran == Granularity::tensor;
  o.act_clip = r.act.clip;
  o.outlier_threshold = r.llm_int8 ? r.outlier_threshold : 0.0f;
  o.include_head = include_head;
  return o;
}

Int8Model::Int8Model(const model::GPT& gpt, const Int8Options& opt) : opt_(opt) {
  const model::ParamStore& P = gpt.params();
  n_layer_ = gpt.config().n_layer;
  weights_.resize(size_t(n_layer_ + 1) * kSlots);
  auto add = [&](int layer, model::LinearSite site, int index) {
    const core::Shape& s = P.info(index).shape;
    const float* w = const_cast<model::ParamStore&>(P).tensor(index).data;  // what the forward reads
    QuantizedWeight& qw = weights_[slot(layer, site)];
    if (!opt_.weight_per_tensor) {
      qw = QuantizedWeight::from_float(w, s.rows(), s.cols(), opt_.weight_bits, opt_.weight_clip);
      return;
    }
    // One scale for the whole matrix: quantize it as a single row, then view it as [rows, cols]
    // (the codes are row-major either way; every row gets the same scale).
    qw = QuantizedWeight::from_float(w, 1, s.numel(), opt_.weight_bits, opt_.weight_clip).reshaped(s.rows(), s.cols());
  };
  for (int l = 0; l < n_layer_; ++l) {
    const auto& b = gpt.blocks()[size_t(l)];
    add(l, model::LinearSite::qkv, b.attn_w);
    add(l, model::LinearSite::attn_proj, b.attn_proj_w);
    add(l, model::LinearSite::fc, b.fc_w);
    add(l, model::LinearSite::mlp_proj, b.mlp_proj_w);
  }
  if (opt_.include_head) add(n_layer_, model::LinearSite::lm_head, gpt.lm_head());
}

const QuantizedWeight* Int8Model::weight(int layer, model::LinearSite site) const {
  if (layer < 0 || layer > n_layer_) return nullptr;
  const QuantizedWeight& qw = weights_[slot(layer, site)];
  return qw.rows() > 0 ? &qw : nullptr;
}

int64_t Int8Model::weight_bytes() const {
  int64_t total = 0;
  for (const QuantizedWeight& qw : weights_) total += qw.rows() > 0 ? qw.bytes() : 0;
  return total;
}

int64_t Int8Model::float_weight_bytes() const {
  int64_t total = 0;
  for (const QuantizedWeight& qw : weights_) total += qw.rows() * qw.cols() * int64_t(sizeof(float));
  return total;
}

bool Int8Model::linear(core::Ctx& ctx, int layer, model::LinearSite site, const core::Tensor& x, const core::Tensor& w,
                       const core::Tensor* b, core::Tensor& out) {
  const QuantizedWeight* qw = weight(layer, site);
  if (!qw) return false;
  const int64_t M = x.rows(), K = x.cols(), N = qw->rows();
  if (w.shape.rank() != 2 || w.shape[0] != N || w.shape[1] != K || qw->cols() != K)
    throw std::logic_error("Int8Model: linear " + std::string(model::name(site)) + " of layer " +
                           std::to_string(layer) + " does not match the model it was built from");

  if (!opt_.quantize_acts) {  // weight-only: the fake-quant weights, through the usual linear
    dequantized_.resize(size_t(N * K));
    qw->dequantize_to(dequantized_.data());
    core::Tensor wd;
    wd.data = dequantized_.data();
    wd.shape = w.shape;
    out = core::linear(ctx, x, wd, b);
    return true;
  }

  std::vector<int64_t> dims = x.shape.vec();
  dims.back() = N;
  out = ctx.make(core::Shape(dims), false);
  // Codes and per-token scales live in the activation arena: no heap traffic per call.
  void* xq = ctx.scratch((M * K + 3) / 4);
  float* sx = ctx.scratch(M);
  const bool shift = opt_.kernel == Int8Kernel::u8s8;
  // LLM.int8(): the outlier columns are zeroed for the int8 part (zeros set no scale and quantize
  // to code 0, so they add nothing there) and kept, with the matching columns of the baseline
  // weight, for an fp32 GEMM added to the int8 GEMM's output.
  const float* xs = x.data;
  std::vector<int> outliers;
  if (opt_.outlier_threshold > 0) {
    outliers = outlier_columns(x.data, M, K, opt_.outlier_threshold);
    ++calls_;
    outlier_cols_ += int64_t(outliers.size());
  }
  const int64_t O = static_cast<int64_t>(outliers.size());
  if (O > 0) {
    float* xr = ctx.scratch(M * K);
    std::copy(x.data, x.data + M * K, xr);
    outlier_x_.resize(size_t(M * O));
    outlier_w_.resize(size_t(N * O));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t o = 0; o < O; ++o) {
        outlier_x_[size_t(m * O + o)] = xr[m * K + outliers[size_t(o)]];
        xr[m * K + outliers[size_t(o)]] = 0.0f;
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o) outlier_w_[size_t(n * O + o)] = w.data[n * K + outliers[size_t(o)]];
    xs = xr;
  }
  if (!opt_.act_per_tensor) {
    quantize_rows_int8(xs, M, K, opt_.act_clip, xq, sx, shift);
  } else if (!opt_.act_absmax.empty()) {  // static per-tensor scale, from calibration
    QuantSpec spec;
    spec.gran = Granularity::tensor;
    spec.clip = opt_.act_clip;
    const float s = static_scale(opt_.act_absmax.at(slot(layer, site)), spec);
    auto* q = static_cast<int8_t*>(xq);
    quantize_static(xs, M * K, s, spec, q);
    for (int64_t m = 0; m < M; ++m) {
      // A row holding a non-finite value comes out as a NaN row, as with per-token scales.
      bool bad = false;
      for (int64_t k = 0; k < K; ++k) bad |= !std::isfinite(xs[m * K + k]);
      sx[m] = bad ? std::numeric_limits<float>::quiet_NaN() : s;
    }
    if (shift)
      for (int64_t i = 0; i < M * K; ++i) q[i] = static_cast<int8_t>(q[i] ^ 0x80);
  } else {  // the naive per-tensor baseline: the reference quantizer, one scale broadcast to every row
    QuantSpec spec;
    spec.gran = Granularity::tensor;
    spec.clip = opt_.act_clip;
    const QuantParams p = compute_params(xs, M, K, spec);
    auto* q = static_cast<int8_t*>(xq);
    quantize(xs, p, q);
    if (shift)
      for (int64_t i = 0; i < M * K; ++i) q[i] = static_cast<int8_t>(q[i] ^ 0x80);
    std::fill(sx, sx + M, p.scale[0]);
  }
  int8_gemm(opt_.kernel, M, N, K, xq, sx, qw->codes(unpacked_), qw->scale().data(), b ? b->data : nullptr, out.data);
  if (O > 0) core::sgemm(false, true, M, N, O, 1.0f, outlier_x_.data(), O, outlier_w_.data(), O, 1.0f, out.data, N);
  ctx.prec.act(out.data, out.numel());  // stored like every op's output (core::linear does the same)
  return true;
}

}  // namespace nurture::quant
