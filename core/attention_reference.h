// The straightforward attention kernel, kept as the reference the fast path is tested against.
#pragma once

#include "core/graph.h"
#include "core/tensor.h"

namespace nurture::core {

// Same contract as core::causal_attention (core/ops.h), computed the plain way: the full T×T
// score matrix per (batch, head), scalar softmax, probabilities [B, H, T, T] kept for backward.
Tensor causal_attention_reference(Ctx& ctx, const Tensor& qkv, int n_head, bool alibi = false);

}  // namespace nurture::core
