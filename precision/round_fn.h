// Glue between number formats and core: a core::RoundFn that ops call on the buffers they store.
#pragma once

#include "core/graph.h"
#include "precision/format.h"

namespace nurture::precision {

// What a RoundFn made by make_round_fn points at; it must outlive the RoundFn. Ops may call the
// RoundFn from inside OpenMP regions, so stats (optional) is accumulated with atomic adds, once
// per call.
struct RoundContext {
  Format format = Format::fp32;
  RoundOptions options;
  RoundStats* stats = nullptr;
};

// round_copy split across the OpenMP threads when n is large and no parallel region is active
// (the same bits and counts as one call: each element is rounded on its own). src == dst rounds
// in place.
void round_parallel(Format f, const float* src, float* dst, int64_t n, const RoundOptions& opts = {},
                    RoundStats* stats = nullptr);

// An empty RoundFn (ops skip the call) when there is nothing to do: fp32, no flushing, no stats.
// Large buffers outside a parallel region are split across the OpenMP threads.
core::RoundFn make_round_fn(const RoundContext& ctx);

}  // namespace nurture::precision
