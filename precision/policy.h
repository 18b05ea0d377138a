// The mixed-precision policy (DESIGN.md "Core ideas" 3): what a GPU's bf16/fp16 autocast
// training does, emulated at op boundaries on fp32 hardware.
//
//   master weights                  fp32 (rounded to half after each step with master_weights: half)
//   AdamW moments                   fp32 always
//   working weights                 round(master) after every step: what forward/backward read
//   activations                     rounded to the half format when an op stores them
//   GEMMs                           half operands, exact products, fp32 accumulation, output
//                                   rounded — what tensor cores compute; under bf16 the
//                                   linears run oneDNN's native bf16 GEMM and attention's
//                                   Q·Kᵀ and dY·Vᵀ an AVX512_BF16 kernel (native_gemm), which
//                                   differs from the fp32 emulation only in summation order
//                                   (and flushes products below 2^-126)
//   LayerNorm / softmax / loss      fp32 inside when the *_fp32 flag is on (output rounded);
//                                   with the flag off their forward intermediates are rounded
//                                   too; their backward is fp32 either way (from the rounded
//                                   inputs and saved statistics, rounded at op boundaries)
//   activation gradients            rounded before each consumer's backward
//   weight gradients                rounded to half per micro-batch (as a half GEMM emits
//                                   them), then unscaled and accumulated in fp32
// Every rounding can count what it did (RoundStats) for the per-step telemetry.
#pragma once

#include <cstdint>

#include "core/graph.h"
#include "precision/format.h"
#include "precision/round_fn.h"

namespace nurture::precision {

struct PolicyConfig {
  Format dtype = Format::fp32;
  bool layernorm_fp32 = true;
  bool softmax_fp32 = true;
  bool loss_fp32 = true;
  bool master_half = false;
  bool flush_subnormals = false;
  // bf16 only: run the linears' GEMMs on native bf16 kernels when the CPU has them.
  bool native_gemm = true;
};

// What one training step's roundings did.
struct StepTelemetry {
  RoundStats activations;      // forward outputs
  RoundStats activation_grads; // gradients flowing between ops
  RoundStats weight_grads;     // per-micro-batch weight gradients
};

class MixedPrecision {
 public:
  explicit MixedPrecision(const PolicyConfig& cfg);
  MixedPrecision(const MixedPrecision&) = delete;
  MixedPrecision& operator=(const MixedPrecision&) = delete;

  const PolicyConfig& config() const { return cfg_; }
  bool half() const { return cfg_.dtype != Format::fp32; }
  // What ops need; points into this object, so it must outlive every Ctx it is given to.
  // `count` false gives the same roundings without telemetry (evaluation).
  core::OpPrecision op_precision(bool count = true);

  // working ← round(master); with master_half the master itself is rounded first.
  void refresh_weights(float* master, float* working, int64_t n);
  // A micro-batch's weight gradients, rounded in place (counted into telemetry).
  void round_weight_grads(float* g, int64_t n);

  StepTelemetry& telemetry() { return tel_; }
  void reset_telemetry() { tel_ = {}; }

 private:
  PolicyConfig cfg_;
  StepTelemetry tel_;
  RoundContext act_, act_quiet_, grad_, operand_, wgrad_;
};

}  // namespace nurture::precision
