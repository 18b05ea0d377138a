#include "model/gpt.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/rng.h"

namespace nurture::model {

const char* name(PosEmbedding p) {
  switch (p) {
    case PosEmbedding::learned: return "learned";
    case PosEmbedding::sinusoidal: return "sinusoidal";
    case PosEmbedding::alibi: return "alibi";
  }
  return "?";
}

const char* name(LinearSite s) {
  switch (s) {
    case LinearSite::qkv: return "attn.c_attn";
    case LinearSite::attn_proj: return "attn.c_proj";
    case LinearSite::fc: return "mlp.c_fc";
    case LinearSite::mlp_proj: return "mlp.c_proj";
    case LinearSite::lm_head: return "lm_head";
  }
  return "?";
}

GPT::GPT(const GPTConfig& cfg) : cfg_(cfg) {
  if (cfg.d_model % cfg.n_head != 0) throw std::invalid_argument("d_model must be divisible by n_head");
  const int64_t V = cfg.vocab_size, C = cfg.d_model, T = cfg.seq_len;
  auto& P = params_;
  wte_ = P.add("wte", {V, C}, cfg.decay_embeddings);
  if (cfg.pos == PosEmbedding::learned) wpe_ = P.add("wpe", {T, C}, cfg.decay_embeddings);
  auto bias = [&](const std::string& n, int64_t size) { return cfg.bias ? P.add(n, {size}, false) : -1; };
  for (int l = 0; l < cfg.n_layer; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    BlockParams b{};
    b.ln_1_w = P.add(h + "ln_1.weight", {C}, false);
    b.ln_1_b = bias(h + "ln_1.bias", C);
    b.attn_w = P.add(h + "attn.c_attn.weight", {3 * C, C}, true, true);
    b.attn_b = bias(h + "attn.c_attn.bias", 3 * C);
    b.attn_proj_w = P.add(h + "attn.c_proj.weight", {C, C}, true, true);
    b.attn_proj_b = bias(h + "attn.c_proj.bias", C);
    b.ln_2_w = P.add(h + "ln_2.weight", {C}, false);
    b.ln_2_b = bias(h + "ln_2.bias", C);
    b.fc_w = P.add(h + "mlp.c_fc.weight", {4 * C, C}, true, true);
    b.fc_b = bias(h + "mlp.c_fc.bias", 4 * C);
    b.mlp_proj_w = P.add(h + "mlp.c_proj.weight", {C, 4 * C}, true, true);
    b.mlp_proj_b = bias(h + "mlp.c_proj.bias", C);
    blocks_.push_back(b);
  }
  ln_f_w_ = P.add("ln_f.weight", {C}, false);
  ln_f_b_ = bias("ln_f.bias", C);
  lm_head_ = P.add("lm_head.weight", {V, C}, true);
  P.finalize(cfg.gradients);

  if (cfg.pos == PosEmbedding::sinusoidal) sinusoid_ = sinusoid_table(T, C);
}

core::Buffer sinusoid_table(int64_t T, int64_t C) {
  // PE[t, 2i] = sin(t / 10000^(2i/C)), PE[t, 2i+1] = cos(…).
  core::Buffer table({T, C});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < C; i += 2) {
      const double freq = std::pow(10000.0, -double(i) / double(C));
      table.data()[t * C + i] = static_cast<float>(std::sin(t * freq));
      if (i + 1 < C) table.data()[t * C + i + 1] = static_cast<float>(std::cos(t * freq));
    }
  return table;
}

void GPT::init(uint64_t seed) {
  const double resid_std = cfg_.init_std / std::sqrt(2.0 * cfg_.n_layer);
  for (size_t i = 0; i < params_.infos().size(); ++i) {
    const ParamInfo& p = params_.info(static_cast<int>(i));
    float* w = params_.master(static_cast<int>(i));
    const int64_t n = p.numel();
    const bool is_ln = p.name.find("ln_") != std::string::npos;
    const bool is_bias = p.name.size() > 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
    if (is_ln && !is_bias) {
      std::fill(w, w + n, 1.0f);
    } else if (is_bias) {
      std::fill(w, w + n, 0.0f);
    } else {
      const bool resid = p.name.find("c_proj.weight") != std::string::npos;
      const double std = resid ? resid_std : cfg_.init_std;
      uint64_t key = seed;
      for (char c : p.name) key = core::mix_key(key, static_cast<uint64_t>(c));
      core::SeqRng rng(key);
      for (int64_t j = 0; j < n; ++j) w[j] = static_cast<float>(rng.normal() * std);
    }
  }
  if (params_.has_working_copy()) params_.enable_working_copy(true);
}

core::Tensor observed_linear(core::Ctx& ctx, ForwardObserver* obs, int layer, LinearSite site, core::Tensor x,
                             const core::Tensor& w, const core::Tensor* b, bool one_reader) {
  if (!obs) return core::linear(ctx, x, w, b, one_reader);
  obs->linear_input(layer, site, x);
  core::Tensor out;
  if (!ctx.tape() && obs->linear(ctx, layer, site, x, w, b, out)) return out;
  return core::linear(ctx, x, w, b, one_reader);
}

core::Tensor GPT::position_table() {
  if (cfg_.pos == PosEmbedding::learned) return params_.tensor(wpe_);
  if (cfg_.pos == PosEmbedding::sinusoidal) return sinusoid_.t();  // untracked: fixed
  return core::Tensor{};
}

core::Tensor GPT::forward(core::Ctx& ctx, const int32_t* ids, int64_t B, int64_t T, uint64_t dropout_key,
                          ForwardObserver* obs) {
  if (T > cfg_.seq_len)
    throw std::invalid_argument("sequence of " + std::to_string(T) + " tokens exceeds the model's seq_len " +
                                std::to_string(cfg_.seq_len));
  core::Tensor pos_table = position_table();
  core::Tensor x = core::embedding(ctx, ids, B, T, params_.tensor(wte_), pos_table.data ? &pos_table : nullptr);
  if (obs) obs->residual(-1, x);
  const bool alibi = cfg_.pos == PosEmbedding::alibi;
  const int n_head = cfg_.n_head;
  x = run_blocks(
      ctx, x,
      [&](core::Ctx& c, const core::Tensor& qkv) { return core::causal_attention(c, qkv, n_head, alibi, true); },
      dropout_key, obs);
  return head(ctx, x, obs);
}

core::Tensor GPT::run_blocks(core::Ctx& ctx, core::Tensor x, const Attention& attention, uint64_t dropout_key,
                             ForwardObserver* obs) {
  auto& P = params_;
  auto opt = [&](int i) { return i >= 0 ? P.tensor(i) : core::Tensor{}; };
  auto ptr = [](core::Tensor& t) { return t.data ? &t : nullptr; };
  // Without a tape nothing reads a block's intermediates once the block is done: the residual
  // stream alternates between two buffers and the rest is dropped after every block, so inference
  // holds one block's activations instead of n_layer blocks' (GPT-2 small, 4096 tokens: ~200 MB
  // instead of ~2.4 GB). The values, and so the results, are the same.
  const bool drop = !ctx.tape() && cfg_.n_layer > 1;
  core::Tensor keep[2];
  if (drop)
    for (auto& k : keep) k = ctx.make(x.shape, false);
  // The LayerNorm and GELU outputs feed only a linear layer; without an observer reading them they
  // may be stored as bf16 words (core::layer_norm's into_linear). Every tensor below with one op
  // reading it is made one_reader (core::Tensor), so its gradient is written, not zeroed and added
  // to: all but the residual stream x (LayerNorm and add read it). With a tape, the attention passed
  // in must take a one-reader qkv and make its output one_reader (causal_attention's one_reader).
  const bool into_linear = !obs;
  for (int l = 0; l < cfg_.n_layer; ++l) {
    const core::Arena::Mark block_start = ctx.acts().mark();
    const BlockParams& bp = blocks_[l];
    const uint64_t lkey = core::mix_key(dropout_key, static_cast<uint64_t>(l));
    core::Tensor ln1b = opt(bp.ln_1_b), ln2b = opt(bp.ln_2_b);
    core::Tensor ab = opt(bp.attn_b), apb = opt(bp.attn_proj_b), fb = opt(bp.fc_b), mpb = opt(bp.mlp_proj_b);

    core::Tensor h = core::layer_norm(ctx, x, P.tensor(bp.ln_1_w), ptr(ln1b), cfg_.ln_eps, into_linear);
    core::Tensor qkv = observed_linear(ctx, obs, l, LinearSite::qkv, h, P.tensor(bp.attn_w), ptr(ab), true);
    core::Tensor att = attention(ctx, qkv);
    core::Tensor a = observed_linear(ctx, obs, l, LinearSite::attn_proj, att, P.tensor(bp.attn_proj_w), ptr(apb), true);
    a = core::dropout(ctx, a, cfg_.dropout, core::mix_key(lkey, 1), true);
    x = core::add(ctx, x, a);

    h = core::layer_norm(ctx, x, P.tensor(bp.ln_2_w), ptr(ln2b), cfg_.ln_eps, into_linear);
    core::Tensor f = observed_linear(ctx, obs, l, LinearSite::fc, h, P.tensor(bp.fc_w), ptr(fb), true);
    f = core::gelu(ctx, f, cfg_.gelu, into_linear);
    core::Tensor m = observed_linear(ctx, obs, l, LinearSite::mlp_proj, f, P.tensor(bp.mlp_proj_w), ptr(mpb), true);
    m = core::dropout(ctx, m, cfg_.dropout, core::mix_key(lkey, 2), true);
    x = core::add(ctx, x, m);
    if (obs) obs->residual(l, x);
    if (drop) {
      std::copy_n(x.data, x.numel(), keep[l % 2].data);
      x = keep[l % 2];
      ctx.acts().rewind(block_start);
    }
  }
  return x;
}

core::Tensor GPT::head(core::Ctx& ctx, const core::Tensor& x, ForwardObserver* obs) {
  core::Tensor lnfb = ln_f_b_ >= 0 ? params_.tensor(ln_f_b_) : core::Tensor{};
  core::Tensor h =
      core::layer_norm(ctx, x, params_.tensor(ln_f_w_), lnfb.data ? &lnfb : nullptr, cfg_.ln_eps, /*into_linear=*/!obs);
  return observed_linear(ctx, obs, cfg_.n_layer, LinearSite::lm_head, h, params_.tensor(lm_head_), nullptr,
                         /*one_reader=*/true);
}

int64_t GPT::num_params() const {
  int64_t n = 0;
  for (auto& p : params_.infos()) n += p.numel();
  return n;
}

int64_t GPT::inference_tokens(int64_t floats) const {
  const int64_t per_token = int64_t(cfg_.vocab_size) + 18 * int64_t(cfg_.d_model);
  return std::max<int64_t>(1, floats / per_token);
}

double GPT::train_flops_per_token(int64_t T) const {
  int64_t n_matmul = 0;
  for (auto& p : params_.infos())
    if (p.shape.rank() == 2 && p.name != "wte" && p.name != "wpe") n_matmul += p.numel();
  return 6.0 * double(n_matmul) + 12.0 * cfg_.n_layer * double(T) * cfg_.d_model;
}

}  // namespace nurture::model
