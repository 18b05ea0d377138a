// GPT as in the paper (section 3.2): decoder-only, pre-LayerNorm, GeLU MLP with 4× expansion,
// dropout on the attention and MLP outputs right before each residual add (not on the
// embeddings), untied input embedding and output projection, final LayerNorm.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/ops.h"
#include "model/params.h"
#include "model/pos_embedding.h"

namespace nurture::model {

struct GPTConfig {
  int vocab_size = 4096;
  int d_model = 256;
  int n_layer = 6;
  int n_head = 8;
  int seq_len = 256;  // maximum context length
  float dropout = 0.0f;
  bool bias = true;
  PosEmbedding pos = PosEmbedding::learned;
  core::GeluKind gelu = core::GeluKind::Tanh;
  float init_std = 0.02f;
  bool decay_embeddings = true;  // nanoGPT: every ≥2-D parameter decays, embeddings included
  float ln_eps = 1e-5f;          // LayerNorm epsilon (PyTorch's and GPT-2's default)
  // false: no gradient buffer (a model loaded for inference: eval, ptq, analyze, sample), which
  // halves its memory; parameters are then untracked and a tape records no weight gradients.
  bool gradients = true;
};

// The four linears of a block (the paper's attn-kqv-proj, attn-out-proj, outer-expander-mlp,
// mlp contraction) plus the output head.
enum class LinearSite { qkv, attn_proj, fc, mlp_proj, lm_head };
const char* name(LinearSite s);

// Hooks into the forward pass for statistics (analysis, telemetry) and fake quantization.
// linear_input may modify x in place; it is only called with gradients off, where the input
// has no other reader (the LayerNorm output, attention output or GELU output feeding it).
class ForwardObserver {
 public:
  virtual ~ForwardObserver() = default;
  virtual void linear_input(int layer, LinearSite site, core::Tensor x) {}
  // Computes a linear layer in place of core::linear (LLM.int8() decomposition, int8 GEMMs):
  // return true after allocating `out` from ctx.acts ([..., w.rows]) and filling it. Called
  // right after linear_input, and only without a tape (the output takes no gradient).
  virtual bool linear(core::Ctx& ctx, int layer, LinearSite site, const core::Tensor& x, const core::Tensor& w,
                      const core::Tensor* b, core::Tensor& out) {
    return false;
  }
  // The residual stream after block `layer` (layer == -1: after the embeddings).
  virtual void residual(int layer, const core::Tensor& x) {}
};

// A linear layer at `site` with the observer's hooks applied (every forward pass calls this).
// one_reader as for core::linear.
core::Tensor observed_linear(core::Ctx& ctx, ForwardObserver* obs, int layer, LinearSite site, core::Tensor x,
                             const core::Tensor& w, const core::Tensor* b, bool one_reader = false);

// The fixed sinusoidal position table [T, C] (Vaswani et al. 2017).
core::Buffer sinusoid_table(int64_t T, int64_t C);

class GPT {
 public:
  explicit GPT(const GPTConfig& cfg);
  const GPTConfig& config() const { return cfg_; }
  ParamStore& params() { return params_; }
  const ParamStore& params() const { return params_; }

  // GPT-2 init: N(0, init_std) for linears and embeddings, residual output projections
  // (attn.c_proj, mlp.c_proj) N(0, init_std/sqrt(2·n_layer)), biases 0, LayerNorm gain 1.
  // Each parameter draws from its own stream keyed by (seed, name), so adding a parameter
  // never changes the others.
  void init(uint64_t seed);

  // Logits [B, T, V] for ids [B, T] (T ≤ seq_len). dropout_key seeds this pass's masks. With a
  // tape the logits are one_reader (core::Tensor): one op, the loss, reads them.
  core::Tensor forward(core::Ctx& ctx, const int32_t* ids, int64_t B, int64_t T, uint64_t dropout_key = 0,
                       ForwardObserver* obs = nullptr);

  // The pieces of forward() that packed evaluation (eval/packed_forward.h) reuses, so the two
  // cannot drift apart. Only attention differs between them: forward() attends causally within
  // each row of a [B, T] batch, packed evaluation within each segment of one packed stream.
  using Attention = std::function<core::Tensor(core::Ctx& ctx, const core::Tensor& qkv)>;
  // What the token embeddings are added to: wpe, the fixed sinusoids, or nothing (ALiBi: no data).
  core::Tensor position_table();
  // Every block on the residual stream x (any [..., C] layout: all ops but attention act row by
  // row). dropout_key seeds the masks; dropout is the identity unless ctx.training.
  core::Tensor run_blocks(core::Ctx& ctx, core::Tensor x, const Attention& attention, uint64_t dropout_key,
                          ForwardObserver* obs);
  // Final LayerNorm and lm_head: logits [..., V].
  core::Tensor head(core::Ctx& ctx, const core::Tensor& x, ForwardObserver* obs);

  // Parameter count, and the FLOPs per trained token: 6·N_matmul + 12·L·T·d (attention),
  // the PaLM/nanoGPT estimate used for MFU.
  int64_t num_params() const;
  // Tokens one tape-free forward pass can take while its largest buffers, one block's activations
  // (~18·d_model floats per token) and the logits (vocab_size per token), stay within `floats`;
  // at least 1. Evaluation and calibration size their batches with it: nurture's own models get
  // the batch they ask for (up to d_model 256 at vocab 4096, 4096 tokens), GPT-2 small about 1000.
  static constexpr int64_t kInferenceFloats = int64_t(64) << 20;  // 256 MB
  int64_t inference_tokens(int64_t floats = kInferenceFloats) const;
  double train_flops_per_token(int64_t T) const;

  // Index of the block parameters, for code that walks layers (analysis, quantization).
  struct BlockParams {
    int ln_1_w, ln_1_b, attn_w, attn_b, attn_proj_w, attn_proj_b, ln_2_w, ln_2_b, fc_w, fc_b, mlp_proj_w, mlp_proj_b;
  };
  const std::vector<BlockParams>& blocks() const { return blocks_; }
  int wte() const { return wte_; }
  int wpe() const { return wpe_; }
  int ln_f_w() const { return ln_f_w_; }
  int ln_f_b() const { return ln_f_b_; }
  int lm_head() const { return lm_head_; }

 private:
  GPTConfig cfg_;
  ParamStore params_;
  std::vector<BlockParams> blocks_;
  int wte_ = -1, wpe_ = -1, ln_f_w_ = -1, ln_f_b_ = -1, lm_head_ = -1;
  core::Buffer sinusoid_;  // fixed table when pos == sinusoidal
};

}  // namespace nurture::model
