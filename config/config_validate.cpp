// Constraints that involve more than one key. Single-key ranges live in the key table.
#include <cstdio>

#include "config/config_kinds.h"

namespace nurture::config {
namespace {

using kinds::fail;

std::string num(double v) { return format_number(v); }

// For computed values, whose shortest round-trip text can be 15000.000000000002.
std::string approx(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

}  // namespace

std::string KeyOrigins::where(std::initializer_list<std::string_view> paths) const {
  const std::pair<int, std::string>* latest = nullptr;
  for (auto p : paths) {
    auto it = set_.find(p);
    if (it != set_.end() && (!latest || it->second.first > latest->first)) latest = &it->second;
  }
  return latest ? latest->second : source_;
}

void check_cross_field(const Config& c, const KeyOrigins& origins) {
  const auto& m = c.model;
  if (m.d_model % m.n_head != 0)
    fail(origins.where({"model.d_model", "model.n_head"}),
         "'model.d_model' = " + num(m.d_model) + " is not divisible by 'model.n_head' = " + num(m.n_head));
  if (m.pos_embedding == model::PosEmbedding::sinusoidal && m.d_model % 2 != 0)
    fail(origins.where({"model.d_model", "model.pos_embedding"}),
         "'model.pos_embedding' = 'sinusoidal' needs an even 'model.d_model' (it is " + num(m.d_model) + ")");

  const auto& o = c.optim;
  if (o.min_lr > o.lr)
    fail(origins.where({"optim.lr", "optim.min_lr"}),
         "'optim.min_lr' = " + num(o.min_lr) + " is greater than 'optim.lr' = " + num(o.lr));

  // A derived λ on a very short run can make (1 − lr·λ) ≤ 0, which zeroes or flips every decayed
  // weight each step. Only checked for a derived λ: an explicit one is left alone, because the
  // divergence tests use lr 1000 on purpose.
  if (o.paper_weight_decay && o.lr * o.weight_decay >= 1.0)
    fail(origins.where({"optim.lr", "optim.paper_weight_decay", "train.steps"}),
         "'optim.lr' * 'optim.weight_decay' = " + num(o.lr) + " * " + approx(o.weight_decay) + " = " +
             approx(o.lr * o.weight_decay) +
             " is >= 1, so decoupled weight decay would zero or flip the weights every step (weight_decay was derived "
             "from 'optim.paper_weight_decay' = " +
             num(*o.paper_weight_decay) + " for " + num(double(c.train.steps)) + " steps; lower it or train longer)");

  const auto& p = c.precision;
  // Half master weights with fp32 training is not a mixed-precision setup at all; most likely
  // the dtype override was forgotten.
  if (p.master_weights == MasterWeights::half && p.dtype == precision::Format::fp32)
    fail(origins.where({"precision.master_weights", "precision.dtype"}),
         "'precision.master_weights' = 'half' needs 'precision.dtype' bf16 or fp16 (it is fp32)");
  if (p.min_scale > p.init_scale)
    fail(origins.where({"precision.min_scale", "precision.init_scale"}),
         "'precision.min_scale' = " + num(p.min_scale) +
             " is greater than 'precision.init_scale' = " + num(p.init_scale));
}

}  // namespace nurture::config
