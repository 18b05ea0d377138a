// One head of the blocked causal attention forward (core/ops_attention.cpp), for callers that lay
// out their own rows. causal_attention runs it on every (batch, head) of a dense [B, T] batch;
// eval's packed forward runs it on sequences of different lengths, some continuing a shared
// context, so evaluation and GPT::forward share one kernel, its rounding points and its speed.
#pragma once

#include <cstdint>

#include "core/graph.h"

namespace nurture::core {

struct AttentionHeads {
  // Heads of size head_dim among n_head, up to max_keys keys, under ctx.prec (half rounding
  // points, native bf16 tile products when the policy's GEMM is gemm_bf16). Takes the ALiBi
  // distance ramp (max_keys floats) from ctx's scratch.
  AttentionHeads(Ctx& ctx, int64_t head_dim, int n_head, bool alibi, int64_t max_keys);

  // Floats of per-call scratch forward() needs (a multiple of 16; pass 64-byte aligned memory).
  int64_t work_floats() const { return tile + packed + rowpacked + wtile; }

  // Query rows q [nq, hd] (row stride ldq) at positions p0 .. p0+nq-1 attend causally to keys and
  // values k, v [p0+nq, hd] (row stride ldkv) at positions 0 .. p0+nq-1; writes out [nq, hd] (row
  // stride ldo). p0 + nq ≤ max_keys. Not rounded to the storage format (the caller does that once
  // for the whole output).
  void forward(int head, const float* q, int64_t ldq, const float* k, const float* v, int64_t ldkv, int64_t p0,
               int64_t nq, float* out, int64_t ldo, float* work) const;

  // Settings, also read by causal_attention's backward.
  int64_t hd, max_keys;
  int n_head;
  bool alibi;
  float scale;        // 1/sqrt(hd)
  RoundFn round_op;   // ctx.prec.gemm_operand (no-op under fp32)
  bool half_softmax;  // exponentials rounded too (softmax not in fp32)
  const float* ramp;  // 0, 1, 2, ... max_keys-1: ALiBi distances without a per-element int→float
  int64_t kw, ldp;    // native bf16: words per packed row (hd/2) and packed row stride (≥ max_keys)
  int64_t tile;       // floats of one probability tile (kRows × max_keys, rounded up to 16)
  int64_t packed;     // floats of one packed K or V (0: fp32 tile products)
  // Native bf16 only (0 otherwise): K or V packed in pairs of rows (⌈max_keys/2⌉ × hd words), a
  // probability or dS tile packed as words (kRows × ⌈max_keys/2⌉ words, also holds one packed in
  // pairs of rows), and kRows query rows of Q or dY packed in pairs of rows.
  int64_t rowpacked, wtile, qtile;
  bool amx;  // native and the CPU has AMX-BF16: untransposed tile products on AMX where they fit
};

}  // namespace nurture::core
