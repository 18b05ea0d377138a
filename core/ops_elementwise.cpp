#include <immintrin.h>

#include <Eigen/Core>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <unsupported/Eigen/SpecialFunctions>

#include "core/gemm_bf16.h"
#include "core/ops.h"
#include "core/rng.h"

// Under a half policy each op rounds its output (ctx.prec.act) chunk by chunk inside its loop,
// while the chunk is still in L1, instead of in a second pass over the whole tensor: rounding is
// elementwise and its counts are sums, so values and telemetry are the same.
namespace nurture::core {

namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
constexpr int64_t kChunk = 4096;  // GELU/dropout/add blocks: one stack buffer each, rounded while in L1
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;
// GCC 12's AVX-512 headers trip false (maybe-)uninitialized warnings (_mm512_undefined_*; GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// Dropout forward for elements [i0, i1): y = keep ? x·scale : 0 and the keep byte, with the
// counter hash (core/rng.h) 8 lanes at a time. Integer math plus an exact int→float conversion,
// so the mask is bit-identical to CounterRng::uniform(i) < p; tested against it.
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw"))) void dropout_avx512(const CounterRng& rng, float p,
                                                                                  float scale, const float* x, float* y,
                                                                                  uint8_t* keep, int64_t i0,
                                                                                  int64_t i1) {
  const __m512i key = _mm512_set1_epi64(int64_t(rng.key)), golden = _mm512_set1_epi64(int64_t(0x9E3779B97F4A7C15ull));
  const __m512i m_index = _mm512_set1_epi64(int64_t(0xD1B54A32D192ED03ull));
  const __m512i m1 = _mm512_set1_epi64(int64_t(0xBF58476D1CE4E5B9ull)),
                m2 = _mm512_set1_epi64(int64_t(0x94D049BB133111EBull));
  const __m256 pv = _mm256_set1_ps(p), sv = _mm256_set1_ps(scale), unit = _mm256_set1_ps(0x1.0p-24f);
  const __m512i step = _mm512_set1_epi64(8);
  __m512i idx = _mm512_add_epi64(_mm512_set1_epi64(i0), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8, idx = _mm512_add_epi64(idx, step)) {
    __m512i h = _mm512_add_epi64(_mm512_xor_si512(key, _mm512_mullo_epi64(idx, m_index)), golden);
    h = _mm512_mullo_epi64(_mm512_xor_si512(h, _mm512_srli_epi64(h, 30)), m1);
    h = _mm512_mullo_epi64(_mm512_xor_si512(h, _mm512_srli_epi64(h, 27)), m2);
    h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 31));
    const __m256 u = _mm256_mul_ps(_mm512_cvtepi64_ps(_mm512_srli_epi64(h, 40)), unit);
    const __mmask8 kept = _mm256_cmp_ps_mask(u, pv, _CMP_NLT_UQ);  // !(u < p)
    const __m256 xv = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(y + i, _mm256_maskz_mul_ps(kept, xv, sv));
    if (keep) _mm_storel_epi64(reinterpret_cast<__m128i*>(keep + i), _mm_maskz_set1_epi8(kept, 1));
  }
  for (; i < i1; ++i) {
    const bool k = !(rng.uniform(uint64_t(i)) < p);
    y[i] = k ? x[i] * scale : 0.0f;
    if (keep) keep[i] = k;
  }
}

#pragma GCC diagnostic pop

bool have_avx512dq() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  return ok;
}
}  // namespace

Tensor gelu(Ctx& ctx, const Tensor& x, GeluKind kind, bool into_linear) {
  const int64_t n = x.numel();
  const bool words = into_linear && ctx.bf16_words();
  Tensor y = words ? ctx.make_bf16(x.shape, x.tracked()) : ctx.make(x.shape, x.tracked(), into_linear);
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t c = 0; c < nchunks; ++c) {
    const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
    // Stored as words: the chunk is computed and rounded in a stack buffer (64-byte aligned like
    // the arena, so Eigen splits it into the same vector and scalar parts), then packed.
    alignas(64) float buf[kChunk];
    float* out = words ? buf : y.data + i0;
    Eigen::Map<const Eigen::ArrayXf> v(x.data + i0, len);
    if (kind == GeluKind::Tanh)  // Eigen's vectorised tanh: libm's scalar tanhf was ~a quarter of a training step.
      Eigen::Map<Eigen::ArrayXf>(out, len) = 0.5f * v * (1.0f + (kSqrt2OverPi * (v + 0.044715f * v.cube())).tanh());
    else  // Eigen's vectorised erf (a clamped rational approximation, within a few ulp of libm's
          // erff): the scalar erff was ~13% of a training step with the exact GELU.
      Eigen::Map<Eigen::ArrayXf>(out, len) = 0.5f * v * (1.0f + (v * kInvSqrt2).erf());
    ctx.prec.act(out, len);
    if (words) to_bf16_truncate(buf, 1, len, len, y.words + i0);
  }
  if (!y.tracked()) return y;
  // Each backward below rounds its chunk of dy (the tape leaves that to it) right before reading
  // it: the same values and counts as the tape's pass over the whole buffer, without the pass.
  const RoundFn round_grad = ctx.prec.grad;
  const auto backward = [x, y, n, kind, round_grad] {
    if (kind == GeluKind::Tanh) {
      const int64_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
      for (int64_t c = 0; c < nchunks; ++c) {
        const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
        alignas(64) float tbuf[kChunk];
        round_grad(y.grad + i0, len);
        Eigen::Map<const Eigen::ArrayXf> v(x.data + i0, len), dy(y.grad + i0, len);
        Eigen::Map<Eigen::ArrayXf> t(tbuf, len), dx(x.grad + i0, len);
        t = (kSqrt2OverPi * (v + 0.044715f * v.cube())).tanh();
        const auto d = dy * (0.5f * (1.0f + t) +
                             0.5f * v * (1.0f - t.square()) * kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * v.square()));
        if (x.one_reader) dx = 0.0f + d;  // grad_store's +0 + v, as Eigen's += on a zeroed buffer
        else dx += d;
      }
    } else {
      const int64_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
      for (int64_t c = 0; c < nchunks; ++c) {
        const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
        round_grad(y.grad + i0, len);
        Eigen::Map<const Eigen::ArrayXf> v(x.data + i0, len), dy(y.grad + i0, len);
        Eigen::Map<Eigen::ArrayXf> dx(x.grad + i0, len);
        const auto d = dy * (0.5f * (1.0f + (v * kInvSqrt2).erf()) + v * (kInvSqrt2Pi * (-0.5f * v.square()).exp()));
        if (x.one_reader) dx = 0.0f + d;
        else dx += d;
      }
    }
  };
  ctx.record(y, "gelu", backward, /*rounds_own_grad=*/true);
  return y;
}

Tensor add(Ctx& ctx, const Tensor& a, const Tensor& b) {
  assert(a.numel() == b.numel());
  const int64_t n = a.numel();
  Tensor y = ctx.make(a.shape, a.tracked() || b.tracked());
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t c = 0; c < nchunks; ++c) {
    const int64_t i0 = c * kChunk, i1 = std::min(n, i0 + kChunk);
    for (int64_t i = i0; i < i1; ++i) y.data[i] = a.data[i] + b.data[i];
    ctx.prec.act(y.data + i0, i1 - i0);
  }
  if (!y.tracked()) return y;
  // One tensor as both inputs reads it twice: it cannot be one_reader.
  assert(!(a.grad && a.grad == b.grad && a.one_reader));
  // dy is rounded chunk by chunk right before both stores read it (the tape leaves that to us).
  const RoundFn round_grad = ctx.prec.grad;
  const auto backward = [a, b, y, n, round_grad] {
    const int64_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t c = 0; c < nchunks; ++c) {
      const int64_t i0 = c * kChunk, i1 = std::min(n, i0 + kChunk);
      round_grad(y.grad + i0, i1 - i0);
      for (const Tensor* t : {&a, &b}) {
        if (!t->grad) continue;
        with_grad_store(*t, [&](auto assign) {
          for (int64_t i = i0; i < i1; ++i) grad_store<assign>(t->grad, i, y.grad[i]);
        });
      }
    }
  };
  ctx.record(y, "add", backward, /*rounds_own_grad=*/true);
  return y;
}

Tensor dropout(Ctx& ctx, const Tensor& x, float p, uint64_t key, bool one_reader) {
  if (p <= 0.0f || !ctx.training) return x;
  const int64_t n = x.numel();
  const CounterRng rng{key};
  const float keep_scale = 1.0f / (1.0f - p);
  Tensor y = ctx.make(x.shape, x.tracked(), one_reader);
  // With a tape the keep mask is stored, one byte per element (a quarter of the activation):
  // hashing every index again in backward cost as much as the forward.
  uint8_t* keep = y.tracked() ? reinterpret_cast<uint8_t*>(ctx.scratch((n + 3) / 4)) : nullptr;
  const bool wide = have_avx512dq();
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t c = 0; c < nchunks; ++c) {
    const int64_t i0 = c * kChunk, i1 = std::min(n, i0 + kChunk);
    if (wide) {
      dropout_avx512(rng, p, keep_scale, x.data, y.data, keep, i0, i1);
    } else {
      for (int64_t i = i0; i < i1; ++i) {
        const bool k = !(rng.uniform(uint64_t(i)) < p);
        y.data[i] = k ? x.data[i] * keep_scale : 0.0f;
        if (keep) keep[i] = k;
      }
    }
    ctx.prec.act(y.data + i0, i1 - i0);
  }
  if (!y.tracked()) return y;
  // dy is rounded chunk by chunk right before it is read (the tape leaves that to us).
  const RoundFn round_grad = ctx.prec.grad;
  const auto backward = [x, y, n, nchunks, keep, keep_scale, round_grad] {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t c = 0; c < nchunks; ++c) {
      const int64_t i0 = c * kChunk, i1 = std::min(n, i0 + kChunk);
      round_grad(y.grad + i0, i1 - i0);
      if (x.one_reader) {
        for (int64_t i = i0; i < i1; ++i) x.grad[i] = keep[i] ? 0.0f + y.grad[i] * keep_scale : 0.0f;
      } else {
        for (int64_t i = i0; i < i1; ++i)
          if (keep[i]) x.grad[i] += y.grad[i] * keep_scale;
      }
    }
  };
  ctx.record(y, "dropout", backward, /*rounds_own_grad=*/true);
  return y;
}

}  // namespace nurture::core
