// Glue between number formats and core: a core::RoundFn that ops call on the buffers they store.
#pragma once

#include <array>

#include "core/graph.h"
#include "precision/format.h"

namespace nurture::precision {

// Threads (in order of their first counted rounding) that get a partial count of their own.
constexpr int kStatShards = 64;

// One thread's partial counts, alone on its cache line.
struct alignas(64) StatShard {
  RoundStats s;
};

// What a RoundFn made by make_round_fn points at; it must outlive the RoundFn. Ops call the
// RoundFn from inside OpenMP regions, on blocks of a few thousand elements, so each thread adds
// its counts to its own shard rather than contending for one line of atomic counters. The counts
// reach *stats (optional) only through collect(); threads beyond kStatShards add to *stats
// atomically.
struct RoundContext {
  Format format = Format::fp32;
  RoundOptions options;
  RoundStats* stats = nullptr;
  mutable std::array<StatShard, kStatShards> shards{};

  // Adds the shards into *stats and zeroes them. Call when no rounding is running (between
  // steps): it reads other threads' shards without synchronisation.
  void collect() const;
  // Drops the shards' counts (with *stats being reset by its owner).
  void clear() const;
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
