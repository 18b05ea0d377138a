#include "quant/spectral_norm.h"

#include <Eigen/Dense>
#include <cmath>

#include "core/rng.h"

namespace nurture::quant {

SpectralNorm spectral_norm(const float* w, int64_t rows, int64_t cols, const SpectralNormOptions& opt) {
  SpectralNorm r;
  if (rows <= 0 || cols <= 0) return r;
  // Double throughout: the estimate converges to ~1e-7 relative, below float's resolution.
  const Eigen::MatrixXd W =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(w, rows, cols)
          .cast<double>();
  // A random start has a component along the top right-singular vector with probability 1;
  // a constant start could be orthogonal to it (e.g. a W whose rows sum to zero).
  core::SeqRng rng(opt.seed);
  Eigen::VectorXd v(cols);
  for (int64_t i = 0; i < cols; ++i) v[i] = rng.uniform() - 0.5;
  v.normalize();
  double sigma = 0;
  for (int it = 1; it <= opt.max_iters; ++it) {
    const Eigen::VectorXd u = W * v;  // ‖W v‖ → σ_max as v → the top right-singular vector
    const double next = u.norm();
    r.iters = it;
    if (!std::isfinite(next)) {  // a diverged checkpoint: report it instead of iterating on NaN
      sigma = next;
      break;
    }
    if (next == 0) {  // W v = 0: W is zero (or v fell in its null space, which the random start makes measure-zero)
      sigma = 0;
      r.converged = true;
      break;
    }
    v = W.transpose() * u;
    v.normalize();
    const bool done = std::fabs(next - sigma) <= opt.rel_tol * next;
    sigma = next;
    if (done) {
      r.converged = true;
      break;
    }
  }
  r.value = sigma;
  return r;
}

}  // namespace nurture::quant
