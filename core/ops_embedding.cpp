#include <cassert>
#include <stdexcept>
#include <string>

#include "core/ops.h"

namespace nurture::core {

Tensor embedding(Ctx& ctx, const int32_t* ids, int64_t B, int64_t T, const Tensor& wte, const Tensor* wpe) {
  const int64_t V = wte.shape[0], C = wte.shape[1];
  if (wpe) assert(wpe->shape[1] == C && wpe->shape[0] >= T);
  for (int64_t i = 0; i < B * T; ++i)
    if (ids[i] < 0 || ids[i] >= V)
      throw std::out_of_range("token id " + std::to_string(ids[i]) + " outside the vocabulary of " +
                              std::to_string(V) + " (tokenizer and model disagree?)");
  Tensor y = ctx.make(Shape{B, T, C}, wte.tracked() || (wpe && wpe->tracked()));
  const float* pos = wpe ? wpe->data : nullptr;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B * T; ++i) {
    const float* e = wte.data + int64_t(ids[i]) * C;
    const float* p = pos ? pos + (i % T) * C : nullptr;
    float* o = y.data + i * C;
    for (int64_t j = 0; j < C; ++j) o[j] = e[j] + (p ? p[j] : 0.0f);
  }
  ctx.prec.act(y.data, y.numel());
  if (!y.tracked()) return y;
  Tensor pe = wpe ? *wpe : Tensor{};
  ctx.record(y, "embedding", [ids, B, T, C, wte, pe, y] {
    // Parallel over channel blocks, tokens in order inside each: deterministic scatter-add.
    constexpr int64_t kBlock = 16;
    const int64_t nblocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
    for (int64_t cb = 0; cb < nblocks; ++cb) {
      const int64_t j0 = cb * kBlock, j1 = std::min(C, j0 + kBlock);
      for (int64_t i = 0; i < B * T; ++i) {
        const float* g = y.grad + i * C;
        if (wte.grad) {
          float* d = wte.grad + int64_t(ids[i]) * C;
          for (int64_t j = j0; j < j1; ++j) d[j] += g[j];
        }
        if (pe.grad) {
          float* d = pe.grad + (i % T) * C;
          for (int64_t j = j0; j < j1; ++j) d[j] += g[j];
        }
      }
    }
  });
  return y;
}

}  // namespace nurture::core
