#include <Eigen/Core>
#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/ops.h"
#include "core/rng.h"

namespace nurture::core {

namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
constexpr int64_t kChunk = 4096;  // GELU blocks: one stack buffer each
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;
}  // namespace

Tensor gelu(Ctx& ctx, const Tensor& x, GeluKind kind) {
  const int64_t n = x.numel();
  Tensor y = ctx.make(x.shape, x.tracked());
  if (kind == GeluKind::Tanh) {
    // Eigen's vectorised tanh: libm's scalar tanhf was ~a quarter of a training step.
    const int64_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t c = 0; c < nchunks; ++c) {
      const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
      Eigen::Map<const Eigen::ArrayXf> v(x.data + i0, len);
      Eigen::Map<Eigen::ArrayXf>(y.data + i0, len) =
          0.5f * v * (1.0f + (kSqrt2OverPi * (v + 0.044715f * v.cube())).tanh());
    }
  } else {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const float v = x.data[i];
      y.data[i] = 0.5f * v * (1.0f + std::erf(v * kInvSqrt2));
    }
  }
  ctx.prec.act(y.data, n);
  if (!y.tracked()) return y;
  ctx.record(y, [x, y, n, kind] {
    if (kind == GeluKind::Tanh) {
      const int64_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
      for (int64_t c = 0; c < nchunks; ++c) {
        const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
        alignas(64) float tbuf[kChunk];
        Eigen::Map<const Eigen::ArrayXf> v(x.data + i0, len), dy(y.grad + i0, len);
        Eigen::Map<Eigen::ArrayXf> t(tbuf, len);
        t = (kSqrt2OverPi * (v + 0.044715f * v.cube())).tanh();
        Eigen::Map<Eigen::ArrayXf>(x.grad + i0, len) +=
            dy * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t.square()) * kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * v.square()));
      }
    } else {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float v = x.data[i];
        const float cdf = 0.5f * (1.0f + std::erf(v * kInvSqrt2));
        const float pdf = kInvSqrt2Pi * std::exp(-0.5f * v * v);
        x.grad[i] += y.grad[i] * (cdf + v * pdf);
      }
    }
  });
  return y;
}

Tensor add(Ctx& ctx, const Tensor& a, const Tensor& b) {
  assert(a.numel() == b.numel());
  const int64_t n = a.numel();
  Tensor y = ctx.make(a.shape, a.tracked() || b.tracked());
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y.data[i] = a.data[i] + b.data[i];
  ctx.prec.act(y.data, n);
  if (!y.tracked()) return y;
  ctx.record(y, [a, b, y, n] {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      if (a.grad) a.grad[i] += y.grad[i];
      if (b.grad) b.grad[i] += y.grad[i];
    }
  });
  return y;
}

Tensor dropout(Ctx& ctx, const Tensor& x, float p, uint64_t key) {
  if (p <= 0.0f || !ctx.training) return x;
  const int64_t n = x.numel();
  const CounterRng rng{key};
  const float keep_scale = 1.0f / (1.0f - p);
  Tensor y = ctx.make(x.shape, x.tracked());
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y.data[i] = rng.uniform(i) < p ? 0.0f : x.data[i] * keep_scale;
  ctx.prec.act(y.data, n);
  if (!y.tracked()) return y;
  // The mask is recomputed from the key instead of stored: no per-element memory.
  ctx.record(y, [x, y, n, rng, p, keep_scale] {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i)
      if (!(rng.uniform(i) < p)) x.grad[i] += y.grad[i] * keep_scale;
  });
  return y;
}

}  // namespace nurture::core
