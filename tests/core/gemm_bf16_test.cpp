// Native bf16 GEMM (core/gemm_bf16.h) against the double-accumulation reference and fp32 sgemm.
//
// Tolerance. Inputs are bf16 values, so every product a·b is exact in fp32 (8+8 significant
// bits ≤ 24) and in double. The only errors are the fp32 additions: any summation order of K
// terms (oneDNN's blocked vdpbf16ps order, sgemm's order) has |ŝ − s| ≤ (K−1)·u·Σ|a_k·b_k|
// with u = 2^-24 (Higham, "Accuracy and Stability of Numerical Algorithms" §4.2: each term
// takes part in at most K−1 rounded additions whatever the summation tree; the 1/(1−K·u)
// factor of γ is covered by the slack added next). alpha·acc, the beta·C sum post-op, and the
// reference's own double→float cast and "+ C" each add at most one more rounding of u relative
// to a quantity bounded by S = |alpha|·Σ|a_k·b_k| + |beta·C₀|. Hence per element
//     |gemm_bf16 − reference| ≤ (K + 4)·u·S,
// which is what `bound` computes (S itself from an fp32 GEMM of |A|·|B|, whose own relative
// error ≤ K·u is negligible against the slack). Observed errors are 0.01–20% of this worst-case
// bound and track sgemm's; a wrong transpose, stride or dropped/perturbed beta term gives O(S)
// errors (a 0.1% change of beta's scale already fails), far above it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/rng.h"

using namespace nurture;

namespace {

constexpr double kU = 0x1.0p-24;

float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float trunc_bf16(float f) { return bits_to_float(float_to_bits(f) & 0xffff0000u); }

// Uniform values in (-2, 2), truncated to bf16 (every element exactly representable). Cheap:
// the transformer-shape problems need millions of them.
std::vector<float> random_bf16(int64_t n, uint64_t seed) {
  core::SeqRng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = trunc_bf16(4.0f * core::u01_from_bits(rng.next()) - 2.0f);
  return v;
}

std::vector<float> abs_of(const std::vector<float>& v) {
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = std::fabs(v[i]);
  return r;
}

struct Problem {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad = 0;  // extra elements per row of A, B and C (non-packed leading dimensions)
};

// Runs gemm_bf16 and sgemm on the same bf16 inputs and checks
//  1. every element of gemm_bf16 against sgemm_reference (all of C for small problems, a few
//     row/column blocks of it for large ones: the reference is a slow triple loop),
//  2. that gemm_bf16 is nowhere further from the reference than sgemm is, by more than bound,
//  3. every element of gemm_bf16 against sgemm: |bf16 − sgemm| ≤ 2·bound.
void check(const Problem& p) {
  SCOPED_TRACE(testing::Message() << (p.ta ? 'T' : 'N') << (p.tb ? 'T' : 'N') << " M=" << p.M << " N=" << p.N
                                  << " K=" << p.K << " alpha=" << p.alpha << " beta=" << p.beta << " pad=" << p.pad);
  const int64_t a_rows = p.ta ? p.K : p.M, a_cols = p.ta ? p.M : p.K;
  const int64_t b_rows = p.tb ? p.N : p.K, b_cols = p.tb ? p.K : p.N;
  const int64_t lda = a_cols + p.pad, ldb = b_cols + p.pad, ldc = p.N + p.pad;
  const std::vector<float> A = random_bf16(a_rows * lda, 11 + p.M);
  const std::vector<float> B = random_bf16(b_rows * ldb, 22 + p.N);
  const std::vector<float> C0 = random_bf16(p.M * ldc, 33 + p.K);

  std::vector<float> Cb = C0, Cs = C0;
  core::gemm_bf16(p.ta, p.tb, p.M, p.N, p.K, p.alpha, A.data(), lda, B.data(), ldb, p.beta, Cb.data(), ldc);
  core::sgemm(p.ta, p.tb, p.M, p.N, p.K, p.alpha, A.data(), lda, B.data(), ldb, p.beta, Cs.data(), ldc);
  // S = |alpha|·|A|·|B| + |beta·C0| per element.
  const std::vector<float> absA = abs_of(A), absB = abs_of(B);
  std::vector<float> S(C0.size(), 0.0f);
  core::sgemm(p.ta, p.tb, p.M, p.N, p.K, std::fabs(p.alpha), absA.data(), lda, absB.data(), ldb, 0.0f, S.data(), ldc);
  auto bound = [&](int64_t idx) { return (p.K + 4) * kU * (double(S[idx]) + std::fabs(double(p.beta) * C0[idx])); };
  // Padding of C (columns N..ldc) must be untouched.
  for (int64_t i = 0; i < p.M; ++i)
    for (int64_t j = p.N; j < ldc; ++j) ASSERT_EQ(Cb[i * ldc + j], C0[i * ldc + j]) << i << "," << j;

  // 3. Whole matrix against sgemm.
  for (int64_t i = 0; i < p.M; ++i)
    for (int64_t j = 0; j < p.N; ++j) {
      const int64_t idx = i * ldc + j;
      ASSERT_LE(std::fabs(double(Cb[idx]) - Cs[idx]), 2 * bound(idx)) << i << "," << j;
    }

  // 1 + 2. Blocks of C against the double-accumulation reference.
  struct Block {
    int64_t i0, j0, mb, nb;
  };
  std::vector<Block> blocks;
  if (p.M * p.N * p.K <= (int64_t{1} << 22)) {
    blocks.push_back({0, 0, p.M, p.N});
  } else {
    const int64_t bs = 48;
    for (auto [i0, j0] : {std::pair<int64_t, int64_t>{0, 0},
                          {p.M / 2, p.N / 3},
                          {std::max<int64_t>(0, p.M - bs), std::max<int64_t>(0, p.N - bs)}})
      blocks.push_back({i0, j0, std::min(bs, p.M - i0), std::min(bs, p.N - j0)});
  }
  for (const Block& b : blocks) {
    std::vector<float> R(C0);
    // Row block i0 of op(A) starts at A + i0·lda (N) or A + i0 (T); likewise columns of op(B).
    const float* Ab = A.data() + (p.ta ? b.i0 : b.i0 * lda);
    const float* Bb = B.data() + (p.tb ? b.j0 * ldb : b.j0);
    core::sgemm_reference(p.ta, p.tb, b.mb, b.nb, p.K, p.alpha, Ab, lda, Bb, ldb, p.beta, R.data() + b.i0 * ldc + b.j0,
                          ldc);
    for (int64_t i = b.i0; i < b.i0 + b.mb; ++i)
      for (int64_t j = b.j0; j < b.j0 + b.nb; ++j) {
        const int64_t idx = i * ldc + j;
        const double eb = std::fabs(double(Cb[idx]) - R[idx]);
        const double es = std::fabs(double(Cs[idx]) - R[idx]);
        ASSERT_LE(eb, bound(idx)) << i << "," << j << " bf16=" << Cb[idx] << " ref=" << R[idx];
        ASSERT_LE(eb, es + bound(idx)) << i << "," << j;
      }
  }
}

// The word kernels' check: within (K + 4)·u·S of the reference product `want`, S = |A|·|B| (+ |C0|
// when accumulating), and untouched past column N (the padding of ldc).
void expect_within_bound(const std::vector<float>& got, const std::vector<float>& want, const std::vector<float>& S,
                         const std::vector<float>& C0, int64_t M, int64_t N, int64_t ldc, int64_t K, bool acc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const size_t e = size_t(i * ldc + j);
      if (j >= N) {
        ASSERT_EQ(float_to_bits(got[e]), float_to_bits(C0[e])) << "wrote outside N at " << i << "," << j;
        continue;
      }
      const double s = S[e] + (acc ? std::fabs(C0[e]) : 0.0);
      ASSERT_LE(std::fabs(double(got[e]) - want[e]), double(K + 4) * kU * s) << i << "," << j;
    }
}

}  // namespace

TEST(GemmBf16, OddShapesAllTransposesAndBetas) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.0f, 1.0f}) {
        check({ta, tb, 37, 29, 53, 1.0f, beta});
        check({ta, tb, 1, 17, 5, 1.0f, beta});
        check({ta, tb, 65, 1, 300, 1.0f, beta});
      }
}

TEST(GemmBf16, StridedOperandsAlphaAndGeneralBeta) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check({ta, tb, 37, 29, 53, 1.0f, 1.0f, /*pad=*/7});
      check({ta, tb, 37, 29, 53, 0.5f, 0.0f, /*pad=*/3});
      check({ta, tb, 40, 33, 64, -2.0f, 0.25f});
    }
}

// The benchmark model's linear layers (d=256, 4096 tokens): forward x·Wᵀ (NT, beta 0),
// dx += dy·W (NN, beta 1), dW += dyᵀ·x (TN, beta 1), plus every other combination.
TEST(GemmBf16, TransformerShapes) {
  const int64_t shapes[][3] = {{4096, 768, 256}, {4096, 256, 768}, {768, 256, 4096}};
  for (auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 1.0f}) check({ta, tb, s[0], s[1], s[2], 1.0f, beta});
}

TEST(GemmBf16, UsesFastKernelAndCachesPrimitives) {
  if (!core::bf16_gemm_available()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  const int64_t M = 256, N = 96, K = 128;
  std::vector<float> A = random_bf16(M * K, 1), B = random_bf16(K * N, 2), C(M * N);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int64_t lda = ta ? M : K, ldb = tb ? K : N;
      core::gemm_bf16(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 1.0f, C.data(), N);
      const std::string impl = core::gemm_bf16_last_impl();
      EXPECT_NE(impl.find("brg"), std::string::npos) << ta << tb << ": slow kernel " << impl;
      const int64_t created = core::gemm_bf16_primitives_created();
      for (int r = 0; r < 3; ++r)
        core::gemm_bf16(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 1.0f, C.data(), N);
      EXPECT_EQ(core::gemm_bf16_primitives_created(), created) << "primitive not cached";
    }
}

TEST(GemmBf16, BetaZeroIgnoresNanInC) {
  const int64_t M = 9, N = 7, K = 5;
  std::vector<float> A = random_bf16(M * K, 1), B = random_bf16(K * N, 2);
  std::vector<float> C(M * N, std::nanf("")), R(M * N, 0.0f);
  core::gemm_bf16(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
  core::sgemm_reference(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, R.data(), N);
  for (int64_t i = 0; i < M * N; ++i) EXPECT_NEAR(C[i], R[i], (K + 4) * kU * 64) << i;
}

TEST(GemmBf16, ConversionIsExactTruncation) {
  // Every length mod 32 exercises the vector body and the masked tail.
  for (int64_t n : {1, 15, 16, 17, 31, 32, 33, 100}) {
    std::vector<float> v = random_bf16(n, n);
    std::vector<uint16_t> out(n + 1, 0xabcd);
    core::to_bf16_truncate(v.data(), 1, n, n, out.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(out[i], float_to_bits(v[i]) >> 16) << n << " " << i;
    EXPECT_EQ(out[n], 0xabcd) << "wrote past the end, n=" << n;
  }
  // Rows with a leading dimension larger than the row.
  const int64_t rows = 3, cols = 37, ld = 40;
  std::vector<float> m = random_bf16(rows * ld, 9);
  std::vector<uint16_t> out(rows * cols);
  core::to_bf16_truncate(m.data(), rows, cols, ld, out.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      EXPECT_EQ(out[r * cols + c], float_to_bits(m[r * ld + c]) >> 16) << r << "," << c;
}

// Contract for inputs that are not bf16 values: release builds truncate them (drop the low 16
// bits, i.e. round toward zero) — bit-identical to passing the truncated values; debug builds
// assert instead.
TEST(GemmBf16, NonBf16InputsAreTruncated) {
  const int64_t M = 13, N = 11, K = 19;
  core::SeqRng rng(5);
  std::vector<float> A(M * K), B(K * N), At(M * K), Bt(K * N);
  for (size_t i = 0; i < A.size(); ++i) A[i] = float(rng.normal()), At[i] = trunc_bf16(A[i]);
  for (size_t i = 0; i < B.size(); ++i) B[i] = float(rng.normal()), Bt[i] = trunc_bf16(B[i]);
#ifdef NDEBUG
  std::vector<float> C(M * N), Ct(M * N);
  core::gemm_bf16(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, C.data(), N);
  core::gemm_bf16(false, true, M, N, K, 1.0f, At.data(), K, Bt.data(), K, 0.0f, Ct.data(), N);
  for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(float_to_bits(C[i]), float_to_bits(Ct[i])) << i;
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<float> C(M * N);
  EXPECT_DEATH(core::gemm_bf16(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, C.data(), N),
               "not bf16-representable");
#endif
}

// Documented difference from sgemm (see gemm_bf16.h): VDPBF16PS flushes subnormal inputs,
// products and sums to zero, so results below 2^-126 differ.
TEST(GemmBf16, SubnormalsFlushToZero) {
  if (!core::bf16_gemm_available()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  const float tiny = bits_to_float(0x1e3c0000u);  // ≈ 1e-20, normal
  const float sub = bits_to_float(0x00400000u);   // 2^-127, a bf16 subnormal
  for (auto [a, b] : {std::pair{tiny, tiny}, std::pair{sub, 1024.0f}}) {
    std::vector<float> A(32, 0.0f), B(32, 0.0f);
    A[0] = a, B[0] = b;
    float cs = -1.0f, cb = -1.0f;
    core::sgemm(false, false, 1, 1, 32, 1.0f, A.data(), 32, B.data(), 1, 0.0f, &cs, 1);
    core::gemm_bf16(false, false, 1, 1, 32, 1.0f, A.data(), 32, B.data(), 1, 0.0f, &cb, 1);
    EXPECT_GT(cs, 0.0f) << a << "*" << b;  // gradual underflow / exact product in fp32
    EXPECT_EQ(cb, 0.0f) << a << "*" << b;
  }
}

TEST(GemmBf16, EmptyInnerDimension) {
  std::vector<float> C = {1.0f, 2.0f, 3.0f, 4.0f};
  core::gemm_bf16(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 1.0f, C.data(), 2);
  EXPECT_EQ(C[3], 4.0f);
  core::gemm_bf16(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.0f, C.data(), 2);
  EXPECT_EQ(C[3], 0.0f);
}

// gemm_bf16_words with its two packers, as attention uses them: C (+)= A·B with A untransposed
// (packed as row words) or transposed (packed in pairs of rows, read with a_row = 1), B packed in
// pairs of rows; odd inner dimensions (zero-padded pairs), row and column tails of the 4×32
// register block, strided C, and C untouched outside M × N. Against the double reference on bf16
// values with the (K + 4)·u·S bound above (the "+ C" of accumulate is the beta = 1 term).
TEST(GemmBf16Words, MatchesReferenceWithPackedOperands) {
  if (!core::bf16_gemm_available()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  struct Case {
    int64_t M, N, K;
    bool trans_a, acc;
  };
  uint64_t seed = 100;
  for (const Case c : {Case{32, 32, 64, false, false}, Case{7, 10, 9, false, true}, Case{45, 33, 13, true, true},
                       Case{70, 16, 32, true, false}, Case{1, 1, 1, false, true}, Case{5, 64, 45, false, true},
                       Case{3, 17, 2, true, true}}) {
    SCOPED_TRACE(testing::Message() << "M=" << c.M << " N=" << c.N << " K=" << c.K << " trans_a=" << c.trans_a
                                    << " acc=" << c.acc);
    const int64_t lda = (c.trans_a ? c.M : c.K) + 3, ldb = c.N + 5, ldc = c.N + 7, kw = (c.K + 1) / 2;
    const auto A = random_bf16((c.trans_a ? c.K : c.M) * lda, seed++);
    const auto B = random_bf16(c.K * ldb, seed++);
    const auto C0 = random_bf16(c.M * ldc, seed++);
    // Packed: A as words (M × kw) or in pairs of rows (kw × M); B in pairs of rows (kw × N).
    std::vector<uint32_t> Ap(size_t(kw * (c.trans_a ? c.M : kw) + c.M * kw), 0xdeadbeefu), Bp(size_t(kw * c.N));
    int64_t a_row, a_word;
    if (c.trans_a) {
      core::pack_bf16_row_pairs(A.data(), lda, c.K, c.M, Ap.data(), c.M);
      a_row = 1, a_word = c.M;
    } else {
      core::pack_bf16_row_words(A.data(), lda, c.M, c.K, Ap.data(), kw);
      a_row = kw, a_word = 1;
    }
    core::pack_bf16_row_pairs(B.data(), ldb, c.K, c.N, Bp.data(), c.N);
    std::vector<float> got = C0, want = C0;
    core::gemm_bf16_words(Ap.data(), a_row, a_word, c.M, Bp.data(), c.N, c.N, kw, c.acc, got.data(), ldc);
    core::sgemm_reference(c.trans_a, false, c.M, c.N, c.K, 1.0f, A.data(), lda, B.data(), ldb, c.acc ? 1.0f : 0.0f,
                          want.data(), ldc);
    std::vector<float> S(C0.size(), 0.0f);
    const auto absA = abs_of(A), absB = abs_of(B);
    core::sgemm_reference(c.trans_a, false, c.M, c.N, c.K, 1.0f, absA.data(), lda, absB.data(), ldb, 0.0f, S.data(),
                          ldc);
    expect_within_bound(got, want, S, C0, c.M, c.N, ldc, c.K, c.acc);
  }
}

// The packers' layouts, word by word: truncation to the high halves, (low, high) = (even, odd)
// element, and zero padding of an odd last column / row.
TEST(GemmBf16Words, PackersLayoutAndPadding) {
  const float x[2][3] = {{1.5f, -2.0f, 3.25f}, {0.5f, 4.0f, -1.0f}};
  auto hi = [](float f) { return float_to_bits(f) >> 16; };
  std::vector<uint32_t> w(4, 0xffffffffu);
  core::pack_bf16_row_words(&x[0][0], 3, 2, 3, w.data(), 2);
  EXPECT_EQ(w[0], hi(x[0][0]) | hi(x[0][1]) << 16);
  EXPECT_EQ(w[1], hi(x[0][2]));  // odd column paired with 0
  EXPECT_EQ(w[2], hi(x[1][0]) | hi(x[1][1]) << 16);
  EXPECT_EQ(w[3], hi(x[1][2]));
  std::vector<uint32_t> p(6, 0xffffffffu);
  core::pack_bf16_row_pairs(&x[0][0], 3, 2, 3, p.data(), 3);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(p[size_t(c)], hi(x[0][c]) | hi(x[1][c]) << 16);
  core::pack_bf16_row_pairs(&x[1][0], 3, 1, 3, p.data() + 3, 3);  // one row: paired with zeros
  for (int c = 0; c < 3; ++c) EXPECT_EQ(p[size_t(3 + c)], hi(x[1][c]));
  std::vector<uint32_t> t(6, 0xffffffffu);  // transposed: column j's pair of rows is word j·ldw + 0
  core::pack_bf16_row_pairs_t(&x[0][0], 3, 2, 3, t.data(), 2);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(t[size_t(2 * c)], hi(x[0][c]) | hi(x[1][c]) << 16);
  core::pack_bf16_row_pairs_t(&x[1][0], 3, 1, 3, t.data(), 2);  // one row: paired with zeros
  for (int c = 0; c < 3; ++c) EXPECT_EQ(t[size_t(2 * c)], hi(x[1][c]));
  EXPECT_EQ(t[1], 0xffffffffu);  // the stride's gap is not written
}

// The AMX variant: the same product and bound on shapes that fit its tiles (multiples of 16,
// one and two 16-row / 16-column blocks, several 16-word steps), overwrite and accumulate; and
// it declines (returns false, C untouched) shapes that do not fit.
TEST(GemmBf16Words, AmxMatchesReference) {
  if (!core::amx_bf16_available()) GTEST_SKIP() << "no AMX-BF16 on this CPU (or not granted)";
  struct Case {
    int64_t M, N, kw;
    bool acc;
  };
  uint64_t seed = 300;
  for (const Case c :
       {Case{32, 32, 16, false}, Case{48, 16, 32, true}, Case{16, 48, 48, true}, Case{64, 32, 128, false}}) {
    SCOPED_TRACE(testing::Message() << "M=" << c.M << " N=" << c.N << " kw=" << c.kw << " acc=" << c.acc);
    const int64_t K = 2 * c.kw, lda = K + 2, ldb = c.N + 3, ldc = c.N + 16;
    const auto A = random_bf16(c.M * lda, seed++);
    const auto B = random_bf16(K * ldb, seed++);
    const auto C0 = random_bf16(c.M * ldc, seed++);
    std::vector<uint32_t> Ap(size_t(c.M * c.kw)), Bp(size_t(c.kw * c.N));
    core::pack_bf16_row_words(A.data(), lda, c.M, K, Ap.data(), c.kw);
    core::pack_bf16_row_pairs(B.data(), ldb, K, c.N, Bp.data(), c.N);
    std::vector<float> got = C0, want = C0, S(C0.size(), 0.0f);
    ASSERT_TRUE(core::gemm_bf16_words_amx(Ap.data(), c.kw, c.M, Bp.data(), c.N, c.N, c.kw, c.acc, got.data(), ldc));
    core::sgemm_reference(false, false, c.M, c.N, K, 1.0f, A.data(), lda, B.data(), ldb, c.acc ? 1.0f : 0.0f,
                          want.data(), ldc);
    const auto absA = abs_of(A), absB = abs_of(B);
    core::sgemm_reference(false, false, c.M, c.N, K, 1.0f, absA.data(), lda, absB.data(), ldb, 0.0f, S.data(), ldc);
    expect_within_bound(got, want, S, C0, c.M, c.N, ldc, K, c.acc);
  }
  std::vector<uint32_t> w(16 * 16, 0);
  std::vector<float> C(16 * 16, 7.0f);
  EXPECT_FALSE(core::gemm_bf16_words_amx(w.data(), 8, 16, w.data(), 16, 16, 8, false, C.data(), 16));   // kw = 8
  EXPECT_FALSE(core::gemm_bf16_words_amx(w.data(), 16, 8, w.data(), 16, 16, 16, false, C.data(), 16));  // M = 8
  EXPECT_EQ(C[0], 7.0f);
}

// The two transposing packers (16 × 16 word transposes in registers) against a scalar statement of
// their layouts, on sizes with row, column and word tails, strided sources, and the destination's
// gaps left alone.
TEST(GemmBf16Words, TransposingPackersMatchTheirLayouts) {
  auto word = [](float lo, float hi) { return (float_to_bits(hi) & 0xffff0000u) | (float_to_bits(lo) >> 16); };
  uint64_t seed = 500;
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{45, 70}, {32, 32}, {1, 3}, {17, 16}, {64, 33}}) {
    SCOPED_TRACE(testing::Message() << rows << " x " << cols);
    const int64_t ld = cols + 5;
    const auto src = random_bf16(rows * ld, seed++);
    // pack_bf16_pairs: n = rows, kw = cols / 2 (pairs of columns), dst[p·ldp + j].
    const int64_t kw = cols / 2, ldp = rows + 3;
    std::vector<uint32_t> got(size_t(std::max<int64_t>(kw, 1) * ldp), 0xabababab), want = got;
    for (int64_t j = 0; j < rows; ++j)
      for (int64_t p = 0; p < kw; ++p) want[size_t(p * ldp + j)] = word(src[j * ld + 2 * p], src[j * ld + 2 * p + 1]);
    core::pack_bf16_pairs(src.data(), ld, rows, kw, got.data(), ldp);
    EXPECT_EQ(got, want) << "pack_bf16_pairs";
    // pack_bf16_row_pairs_t: dst[j·ldw + p] = word(src[2p][j], src[2p+1][j]).
    const int64_t pairs = (rows + 1) / 2, ldw = pairs + 2;
    std::vector<uint32_t> got_t(size_t(cols * ldw), 0xabababab), want_t = got_t;
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t p = 0; p < pairs; ++p)
        want_t[size_t(j * ldw + p)] = word(src[2 * p * ld + j], 2 * p + 1 < rows ? src[(2 * p + 1) * ld + j] : 0.0f);
    core::pack_bf16_row_pairs_t(src.data(), ld, rows, cols, got_t.data(), ldw);
    EXPECT_EQ(got_t, want_t) << "pack_bf16_row_pairs_t";
  }
}
