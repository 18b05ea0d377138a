// σ_max by power iteration against Eigen's SVD, on random matrices and on matrices whose
// singular values are planted.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "quant/spectral_norm.h"

using namespace nurture;
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

std::vector<float> gaussian(int64_t rows, int64_t cols, uint64_t seed, double std = 1.0) {
  core::SeqRng rng(seed);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (float& x : w) x = float(std * rng.normal());
  return w;
}

double svd_max(const std::vector<float>& w, int64_t rows, int64_t cols) {
  const RowMajor m =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(w.data(), rows, cols)
          .cast<double>();
  return Eigen::JacobiSVD<Eigen::MatrixXd>(m).singularValues()(0);
}

// U diag(s) Vᵀ with orthonormal U [rows, k] and V [cols, k] from QR of Gaussian matrices.
std::vector<float> planted(int64_t rows, int64_t cols, const std::vector<double>& s, uint64_t seed) {
  const int64_t k = int64_t(s.size());
  auto orthonormal = [&](int64_t n, uint64_t sd) {
    const std::vector<float> g = gaussian(n, k, sd);
    Eigen::MatrixXd a(n, k);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j) a(i, j) = g[size_t(i * k + j)];
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
    return Eigen::MatrixXd(qr.householderQ() * Eigen::MatrixXd::Identity(n, k));
  };
  const Eigen::MatrixXd U = orthonormal(rows, seed), V = orthonormal(cols, seed + 1);
  Eigen::VectorXd sv(k);
  for (int64_t i = 0; i < k; ++i) sv[i] = s[size_t(i)];
  const RowMajor W = U * sv.asDiagonal() * V.transpose();
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) w[size_t(i * cols + j)] = float(W(i, j));
  return w;
}

}  // namespace

TEST(SpectralNorm, MatchesSvdOnRandomMatrices) {
  // Shapes of the block linears ([out, in]: qkv 3d×d, fc 4d×d, mlp_proj d×4d) at width 32,
  // plus an odd one. Gaussian matrices have a small gap σ1 − σ2, the slow case for power
  // iteration.
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{96, 32}, {32, 32}, {128, 32}, {32, 128}, {37, 53}};
  uint64_t seed = 10;
  for (auto [r, c] : shapes) {
    const std::vector<float> w = gaussian(r, c, seed++, 0.02);
    const quant::SpectralNorm s = quant::spectral_norm(w.data(), r, c);
    const double ref = svd_max(w, r, c);
    EXPECT_NEAR(s.value, ref, 1e-4 * ref) << r << "x" << c << " after " << s.iters << " iterations";
  }
}

TEST(SpectralNorm, RecoversPlantedSingularValues) {
  const std::vector<float> w = planted(96, 32, {5.0, 2.0, 1.0, 0.5, 0.1}, 3);
  const quant::SpectralNorm s = quant::spectral_norm(w.data(), 96, 32);
  EXPECT_TRUE(s.converged);
  EXPECT_NEAR(s.value, 5.0, 1e-5);
  EXPECT_NEAR(s.value, svd_max(w, 96, 32), 1e-6);
  // A close second singular value converges slower, but still within the iteration budget.
  const std::vector<float> close = planted(64, 48, {3.0, 2.9, 1.0}, 5);
  EXPECT_NEAR(quant::spectral_norm(close.data(), 64, 48).value, 3.0, 1e-4);
}

TEST(SpectralNorm, RankOneAndDegenerateMatrices) {
  // u vᵀ has σ_max = ‖u‖·‖v‖.
  const std::vector<double> u = {1, 2, 2}, v = {3, 4};
  std::vector<float> w;
  for (double a : u)
    for (double b : v) w.push_back(float(a * b));
  EXPECT_NEAR(quant::spectral_norm(w.data(), 3, 2).value, 15.0, 1e-9);
  // Rows that sum to zero: orthogonal to a constant start vector, not to the random one.
  const std::vector<float> zero_sum = {1, -1, 1, -1};
  EXPECT_NEAR(quant::spectral_norm(zero_sum.data(), 2, 2).value, 2.0, 1e-9);
  const std::vector<float> zeros(12, 0.0f);
  const quant::SpectralNorm z = quant::spectral_norm(zeros.data(), 3, 4);
  EXPECT_EQ(z.value, 0.0);
  EXPECT_TRUE(z.converged);
  // A NaN weight (a diverged run) gives NaN at once, flagged as not converged.
  const std::vector<float> nan_w = {1, std::numeric_limits<float>::quiet_NaN(), 0, 1};
  const quant::SpectralNorm n = quant::spectral_norm(nan_w.data(), 2, 2);
  EXPECT_TRUE(std::isnan(n.value));
  EXPECT_FALSE(n.converged);
  EXPECT_EQ(n.iters, 1);
  // A diagonal matrix: the largest |entry|.
  const std::vector<float> diag = {0.5f, 0, 0, 0, -7.0f, 0, 0, 0, 3.0f};
  EXPECT_NEAR(quant::spectral_norm(diag.data(), 3, 3).value, 7.0, 1e-6);
}
