// σ_max(W), the paper's eq. (3): the largest factor by which W can amplify a token's
// quantization noise, ‖W x_δ‖ / ‖x_δ‖. Computed by power iteration on WᵀW, which needs only
// matrix-vector products, so it stays cheap for every linear of every checkpoint.
#pragma once

#include <cstdint>

namespace nurture::quant {

struct SpectralNormOptions {
  int max_iters = 1000;
  double rel_tol = 1e-9;  // stop when the estimate changes by less than this, relatively
  uint64_t seed = 1;      // the start vector: fixed, so reports are reproducible
};

struct SpectralNorm {
  double value = 0;
  int iters = 0;
  bool converged = false;
};

// W is [rows, cols] row-major (torch-style [out, in]).
SpectralNorm spectral_norm(const float* w, int64_t rows, int64_t cols, const SpectralNormOptions& opt = {});

}  // namespace nurture::quant
