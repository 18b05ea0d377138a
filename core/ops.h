// The coarse ops a GPT is made of. Each runs its forward kernel eagerly and, when the context
// has a tape, records a hand-written backward (tested against finite differences in
// tests/core/ops_grad_test.cpp).
//
// Conventions (as in llm.c): parameter and input gradients accumulate with +=; an op's output
// is tracked (has a gradient buffer) iff any input is tracked and gradients are on; outputs
// are rounded to the precision policy's storage format. Reductions over rows use fixed-size
// chunks combined in a fixed order, so results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/gelu_kind.h"
#include "core/graph.h"
#include "core/tensor.h"

namespace nurture::core {

// y = x·Wᵀ + b. x: [..., K], w: [N, K] (torch.nn.Linear layout), b: [N] or null → [..., N].
// x may be stored as bf16 words (only under the native bf16 policy). one_reader: exactly one op
// reads y (Tensor::one_reader); the same flag on dropout's output.
Tensor linear(Ctx& ctx, const Tensor& x, const Tensor& w, const Tensor* b, bool one_reader = false);

// LayerNorm over the last dim, biased variance, eps inside the sqrt (PyTorch semantics).
// into_linear: exactly one linear layer reads the output, and nothing else (no observer): it is
// one_reader, and under the native bf16 policy stored as bf16 words only (Ctx::make_bf16).
// Its input x must not be one_reader (its gradient is added to).
Tensor layer_norm(Ctx& ctx, const Tensor& x, const Tensor& gamma, const Tensor* beta, float eps = 1e-5f,
                  bool into_linear = false);

// GELU, tanh approximation (GPT-2) or exact erf form. into_linear as for layer_norm.
Tensor gelu(Ctx& ctx, const Tensor& x, GeluKind kind = GeluKind::Tanh, bool into_linear = false);

// Causal multi-head self-attention core: qkv [B, T, 3C] (q | k | v, heads contiguous within
// each) → [B, T, C]. Softmax in fp32 with the 1/sqrt(head_dim) scale. alibi adds the
// ALiBi bias -m_h·(i-j) with the standard geometric head slopes.
// qkv may be one_reader (each head's gradient slices are zeroed just before that head's backward
// adds into them); one_reader as for linear's output.
Tensor causal_attention(Ctx& ctx, const Tensor& qkv, int n_head, bool alibi = false, bool one_reader = false);

// ALiBi slope of head h among H heads (also used by the reference attention).
float alibi_slope(int h, int H);

// out[b,t] = wte[ids[b,t]] + wpe[t]; wpe may be null (no positional table) or untracked
// (a fixed table such as sinusoidal). ids are checked against the vocabulary.
Tensor embedding(Ctx& ctx, const int32_t* ids, int64_t B, int64_t T, const Tensor& wte, const Tensor* wpe);

// Elementwise a + b (same shape): the residual add.
Tensor add(Ctx& ctx, const Tensor& a, const Tensor& b);

// Inverted dropout with a counter-based mask: element i is dropped iff uniform(key, i) < p.
// Identity (returns x) when p == 0 or ctx.training is false.
Tensor dropout(Ctx& ctx, const Tensor& x, float p, uint64_t key, bool one_reader = false);

// Mean cross-entropy of softmax(logits) [N, V] against targets (targets < 0 are ignored),
// fused with log-softmax. Returns a [1] tensor.
Tensor cross_entropy(Ctx& ctx, const Tensor& logits, const int32_t* targets);

// An op's backward writing its input's gradient: added into the zeroed buffer, or for a
// one_reader input (the only writer) stored as +0 + v, the same bits without the zeroing.
// with_grad_store(t, f) calls f(std::true_type{}) for a one_reader t, f(std::false_type{}) else.
template <bool Assign>
inline void grad_store(float* g, int64_t i, float v) {
  if constexpr (Assign) g[i] = 0.0f + v;
  else g[i] += v;
}
template <class F>
inline void with_grad_store(const Tensor& t, F&& f) {
  if (t.one_reader) f(std::true_type{});
  else f(std::false_type{});
}

// Deterministic column sums: out[j] += Σ_i m[i, j], rows chunked in fixed blocks (core/colsum.h).
void colsum_accumulate(const float* m, int64_t rows, int64_t cols, float* out);

}  // namespace nurture::core
