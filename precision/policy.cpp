#include "precision/policy.h"

#include "core/gemm_bf16.h"

namespace nurture::precision {

MixedPrecision::MixedPrecision(const PolicyConfig& cfg) : cfg_(cfg) {
  const RoundOptions opts{cfg.flush_subnormals};
  act_ = {cfg.dtype, opts, &tel_.activations};
  act_quiet_ = {cfg.dtype, opts, nullptr};
  grad_ = {cfg.dtype, opts, &tel_.activation_grads};
  // Operands (attention scores/probabilities, half loss intermediates) are not counted: they
  // are derived from activations that already were.
  operand_ = {cfg.dtype, opts, nullptr};
  wgrad_ = {cfg.dtype, opts, &tel_.weight_grads};
}

core::OpPrecision MixedPrecision::op_precision(bool count) {
  core::OpPrecision p;
  p.layernorm_fp32 = cfg_.layernorm_fp32;
  p.softmax_fp32 = cfg_.softmax_fp32;
  p.loss_fp32 = cfg_.loss_fp32;
  if (!half()) return p;
  p.act = make_round_fn(count ? act_ : act_quiet_);
  p.grad = make_round_fn(grad_);
  p.gemm_operand = make_round_fn(operand_);
  if (cfg_.dtype == Format::bf16 && cfg_.native_gemm && core::bf16_gemm_available()) p.gemm = core::gemm_bf16;
  return p;
}

StepTelemetry& MixedPrecision::telemetry() {
  act_.collect();
  grad_.collect();
  return tel_;
}

void MixedPrecision::reset_telemetry() {
  act_.clear();
  grad_.clear();
  tel_ = {};
}

void MixedPrecision::refresh_weights(float* master, float* working, int64_t n) {
  if (!half()) return;
  const RoundOptions opts{cfg_.flush_subnormals};
  if (cfg_.master_half) round_parallel(cfg_.dtype, master, master, n, opts);
  round_parallel(cfg_.dtype, master, working, n, opts);  // exact copy when the master is already half
}

void MixedPrecision::round_weight_grads(float* g, int64_t n) {
  if (half()) round_parallel(cfg_.dtype, g, g, n, wgrad_.options, wgrad_.stats);
}

}  // namespace nurture::precision
