#include "train/nonfinite.h"

#include <cmath>
#include <cstdio>

namespace nurture::train {

namespace {

std::vector<int64_t> unravel(int64_t flat, const core::Shape& shape) {
  const auto dims = shape.vec();
  std::vector<int64_t> idx(dims.size(), 0);
  for (size_t d = dims.size(); d-- > 0;) {
    if (dims[d] == 0) break;
    idx[d] = flat % dims[d];
    flat /= dims[d];
  }
  return idx;
}

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

}  // namespace

std::optional<NonFiniteValue> first_nonfinite(const model::ParamStore& P, const float* buffer) {
  std::optional<NonFiniteValue> first;
  int64_t count = 0;
  for (const auto& info : P.infos()) {
    const float* p = buffer + info.offset;
    const int64_t n = info.numel();
    for (int64_t i = 0; i < n; ++i) {
      if (std::isfinite(p[i])) continue;
      ++count;
      if (!first) first = NonFiniteValue{info.name, unravel(i, info.shape), p[i], 0};
    }
  }
  if (first) first->count = count;
  return first;
}

namespace {

bool all_finite(const core::Tensor& x) {
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x.data[i])) return false;
  return true;
}

std::string linear_name(int layer, model::LinearSite site) {
  const std::string block = "h." + std::to_string(layer) + ".";
  switch (site) {
    case model::LinearSite::qkv: return block + "attn.c_attn";
    case model::LinearSite::attn_proj: return block + "attn.c_proj";
    case model::LinearSite::fc: return block + "mlp.c_fc";
    case model::LinearSite::mlp_proj: return block + "mlp.c_proj";
    case model::LinearSite::lm_head: return "lm_head";
  }
  return "?";
}

// Remembers the first observed activation that is not finite.
class FirstNonFinite : public model::ForwardObserver {
 public:
  std::string found;
  void linear_input(int layer, model::LinearSite site, core::Tensor x) override {
    if (found.empty() && !all_finite(x)) found = "the input of " + linear_name(layer, site);
  }
  void residual(int layer, const core::Tensor& x) override {
    if (!found.empty() || all_finite(x)) return;
    found = layer < 0 ? "the embedding output" : "the residual stream after block " + std::to_string(layer);
  }
};

}  // namespace

std::string first_nonfinite_activation(model::GPT& gpt, core::Ctx& ctx, const int32_t* ids, int64_t B, int64_t T,
                                       uint64_t dropout_key) {
  FirstNonFinite obs;
  core::Tensor logits = gpt.forward(ctx, ids, B, T, dropout_key, &obs);
  if (obs.found.empty() && !all_finite(logits)) obs.found = "the logits (output of lm_head)";
  return obs.found.empty() ? "" : "first non-finite activation: " + obs.found;
}

std::string to_string(const NonFiniteValue& v) {
  std::string s = v.name + "[";
  for (size_t i = 0; i < v.index.size(); ++i) s += (i ? ", " : "") + std::to_string(v.index[i]);
  return s + "] = " + (std::isnan(v.value) ? "nan" : v.value > 0 ? "inf" : "-inf");
}

std::string describe_nonfinite(const model::ParamStore& P) {
  const std::string of = " values)";
  const std::string total = std::to_string(P.numel());
  if (auto v = first_nonfinite(P, P.master()))
    return "first non-finite parameter: " + to_string(*v) + " (" + std::to_string(v->count) + " of " + total + of;
  if (auto v = first_nonfinite(P, P.grad()))
    return "parameters finite; first non-finite gradient: " + to_string(*v) + " (" + std::to_string(v->count) + " of " +
           total + of;
  // Everything stored is finite: an activation or the norm's sum of squares overflowed.
  std::string where;
  float largest = -1;
  for (const auto& info : P.infos()) {
    const float* p = P.master() + info.offset;
    for (int64_t i = 0; i < info.numel(); ++i)
      if (std::abs(p[i]) > largest) largest = std::abs(p[i]), where = info.name;
  }
  return "parameters and gradients finite (largest |parameter| " + number(largest) + " in " + where + ")";
}

}  // namespace nurture::train
