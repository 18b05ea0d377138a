// The mixed-precision policy: what a GPU's bf16/fp16 autocast training does, emulated at op
// boundaries on fp32 hardware, so the effect of the number format on a run can be studied on a CPU.
// Where it rounds, and which hook does it, is tabled once, in docs/ARCHITECTURE.md ("Precision
// emulation"); the user's view is docs/MIXED-PRECISION.md. Every rounding can count what it did
// (RoundStats) for the per-step telemetry. The *_fp32 flags change only the forward: the
// LayerNorm/softmax/loss backward is fp32 either way (from the rounded inputs and saved
// statistics, rounded at op boundaries), as in ops_norm.cpp.
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

  // The counts so far (gathers the per-thread partial counts first; call between steps).
  StepTelemetry& telemetry();
  void reset_telemetry();

 private:
  PolicyConfig cfg_;
  StepTelemetry tel_;
  RoundContext act_, act_quiet_, grad_, operand_, wgrad_;
};

}  // namespace nurture::precision
