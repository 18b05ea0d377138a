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

void round_thunk(float* p, int64_t n, void* user) {
  const auto& ctx = *static_cast<const RoundContext*>(user);
  round_parallel(ctx.format, p, p, n, ctx.options, ctx.stats);
}

}  // namespace

void round_parallel(Format f, const float* src, float* dst, int64_t n, const RoundOptions& opts, RoundStats* stats) {
  if (n < kParallelMin || omp_in_parallel() || omp_get_max_threads() == 1) {
    RoundStats local;
    round_copy(f, src, dst, n, opts, stats ? &local : nullptr);
    if (stats) add_atomic(*stats, local);
    return;
  }
#pragma omp parallel
  {
    // Chunks are multiples of 16 floats so every thread but the last runs full vectors.
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t chunk = ((n + nt - 1) / nt + 15) / 16 * 16;
    const int64_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
    RoundStats local;
    round_copy(f, src + begin, dst + begin, end - begin, opts, stats ? &local : nullptr);
    if (stats) add_atomic(*stats, local);
  }
}

core::RoundFn make_round_fn(const RoundContext& ctx) {
  core::RoundFn fn;
  if (ctx.format == Format::fp32 && !ctx.options.flush_subnormals && !ctx.stats) return fn;
  fn.fn = round_thunk;
  fn.user = const_cast<RoundContext*>(&ctx);
  return fn;
}

}  // namespace nurture::precision
