#include "precision/round_fn.h"

#include <omp.h>

#include <algorithm>
#include <atomic>

namespace nurture::precision {
namespace {

// Below this a fork/join costs more than the rounding (a few microseconds of work).
constexpr int64_t kParallelMin = int64_t(1) << 16;

void add(int64_t& dst, int64_t v) {
  std::atomic_ref<int64_t>(dst).fetch_add(v, std::memory_order_relaxed);
}

void add_atomic(RoundStats& into, const RoundStats& s) {
  add(into.elements, s.elements);
  add(into.underflow, s.underflow);
  add(into.overflow, s.overflow);
  add(into.subnormal, s.subnormal);
  add(into.nan, s.nan);
  add(into.inf, s.inf);
}

// A small index per OS thread, fixed at its first use: the thread's shard in every context.
int thread_slot() {
  static std::atomic<int> next{0};
  thread_local const int slot = next.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

void add_to(const RoundContext& ctx, const RoundStats& s) {
  const int slot = thread_slot();
  if (slot < kStatShards) ctx.shards[slot].s += s;  // only this thread writes its shard
  else add_atomic(*ctx.stats, s);
}

// Calls part(begin, end) over [0, n): once when n is small, a parallel region is already active
// (the caller's threads split the work) or there is one thread; else once per thread, on
// contiguous chunks that are multiples of 16 floats so every thread but the last runs full vectors.
template <class Part>
void split(int64_t n, Part part) {
  if (n < kParallelMin || omp_in_parallel() || omp_get_max_threads() == 1) return part(0, n);
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t chunk = ((n + nt - 1) / nt + 15) / 16 * 16;
    const int64_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
    part(begin, end);
  }
}

void round_thunk(float* p, int64_t n, void* user) {
  const auto& ctx = *static_cast<const RoundContext*>(user);
  if (!ctx.stats) return round_parallel(ctx.format, p, p, n, ctx.options, nullptr);
  split(n, [&](int64_t begin, int64_t end) {
    RoundStats local;
    round_copy(ctx.format, p + begin, p + begin, end - begin, ctx.options, &local);
    add_to(ctx, local);
  });
}

}  // namespace

void round_parallel(Format f, const float* src, float* dst, int64_t n, const RoundOptions& opts, RoundStats* stats) {
  split(n, [&](int64_t begin, int64_t end) {
    RoundStats local;
    round_copy(f, src + begin, dst + begin, end - begin, opts, stats ? &local : nullptr);
    if (stats) add_atomic(*stats, local);
  });
}

void RoundContext::collect() const {
  for (StatShard& sh : shards) {
    if (stats) *stats += sh.s;
    sh.s = {};
  }
}

void RoundContext::clear() const {
  for (StatShard& sh : shards) sh.s = {};
}

core::RoundFn make_round_fn(const RoundContext& ctx) {
  core::RoundFn fn;
  if (ctx.format == Format::fp32 && !ctx.options.flush_subnormals && !ctx.stats) return fn;
  fn.fn = round_thunk;
  fn.user = const_cast<RoundContext*>(&ctx);
  return fn;
}

}  // namespace nurture::precision
