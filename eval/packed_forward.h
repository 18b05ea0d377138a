// A padding-free, tape-free GPT forward over many sequences at once.
//
// GPT::forward takes a dense [B, T] batch, so batching sequences of different lengths needs
// padding, and scoring k choices that share one context runs the context k times. This forward
// packs all tokens of a batch into one stream of N rows instead. Every op of the model except
// attention works row by row (embedding, LayerNorm, linear, GELU, residual add), so it runs on the
// packed rows unchanged (GPT::run_blocks and GPT::head, the code GPT::forward runs); attention,
// plugged into GPT::run_blocks, is restricted to each sequence (block-diagonal causal), with
// GPT::forward's per-head kernel (core/attention_head.h).
// A continuation segment names a parent segment (a shared context): its rows sit at positions
// after the parent's and attend to all parent rows, so the context is computed once and each
// choice pays only for its own tokens. lm_head runs only on the rows whose logits are wanted.
//
// At every wanted row the logits equal GPT::forward's on that sequence alone (up to float
// summation order inside GEMMs); tests/eval/scorer_test.cpp checks it for every positional
// embedding. The ForwardObserver is called at the same sites as in GPT::forward, with the packed
// [1, N, C] tensors (the lm_head input holds only the wanted rows), and ctx.prec is honoured as
// the core ops honour it.
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.h"
#include "model/gpt.h"

namespace nurture::eval {

struct Segment {
  int64_t begin = 0, end = 0;  // rows [begin, end) of the packed stream
  int64_t parent = -1;         // index of an earlier root segment this one continues, or -1
};

struct PackedBatch {
  std::vector<int32_t> ids;
  std::vector<Segment> segments;
  std::vector<int64_t> out_rows;  // rows whose logits are returned, in this order

  // A sequence starting at position 0; returns its segment index.
  int64_t add_sequence(const int32_t* tokens, int64_t n);
  // Tokens that follow the whole of root segment `parent` (positions continue after it).
  int64_t add_continuation(int64_t parent, const int32_t* tokens, int64_t n);
  // Marks a row for output; returns its index among out_rows.
  int64_t want(int64_t row);
  int64_t tokens() const { return static_cast<int64_t>(ids.size()); }
  void clear();
};

class PackedForward {
 public:
  explicit PackedForward(model::GPT& gpt);
  // Logits [out_rows, V]. Throws std::invalid_argument if a sequence (parent + continuation)
  // exceeds the model's seq_len. Needs ctx without a tape.
  core::Tensor operator()(core::Ctx& ctx, const PackedBatch& batch, model::ForwardObserver* obs = nullptr);

 private:
  model::GPT& gpt_;
};

// Causal self-attention restricted to segments: qkv [1, N, 3C] → [1, N, C]. Row i of a segment
// attends to its parent's rows and to its own rows up to i; ALiBi distances use the positions.
core::Tensor segment_attention(core::Ctx& ctx, const core::Tensor& qkv, const std::vector<Segment>& segments,
                               int n_head, bool alibi);

}  // namespace nurture::eval
