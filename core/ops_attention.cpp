// Causal attention, blocked over query rows (FlashAttention-style recomputation, Dao et al. 2022).
//
// Per (batch, head), the query rows are cut into blocks of kRows; block [i0, i1) only needs the
// keys [0, i1), so the masked upper triangle is computed for at most one block-diagonal tile
// (56% of the full T×T work at T = 256). Nothing of size T×T is kept: backward recomputes each
// block's probabilities with the very same code, so they are bit-identical to the forward's.
// Memory: two kRows×T tiles per thread instead of [B, H, T, T] probabilities per layer.
//
// The rounding points are those of causal_attention_reference (core/attention_reference.cpp):
// scores rounded as a half GEMM output, exponentials rounded when the softmax is in half,
// probabilities rounded as a GEMM operand, dP and dS rounded as GEMM output / operand. Rounding
// is elementwise, so rounding a tile instead of the full matrix gives the same values; only the
// summation orders (GEMM blocking, vectorised row sums) and the exponential (Eigen's vectorised
// exp, not libm's) differ from the reference, by a few fp32 ulps.
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/attention_head.h"
#include "core/gemm_bf16.h"
#include "core/ops.h"

namespace nurture::core {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CStrided = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
using Strided = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
using Tile = Eigen::Map<RowMat, Eigen::Aligned64>;
using Arr = Eigen::Map<Eigen::ArrayXf>;

// Query rows per block. Smaller blocks skip more of the masked triangle but make each GEMM
// smaller; 32 was the fastest of 16/32/64 on the benchmark model (T = 256, head_dim 32).
constexpr int64_t kRows = 32;

struct HeadView {
  CStrided q;      // [nq, hd]: query rows at positions p0 .. p0+nq-1
  CStrided k, v;   // [p0+nq, hd]: keys and values at positions 0 .. p0+nq-1
  int64_t p0 = 0;  // position of the first query row
};

// The one place head views are built: the forward takes any row layout (eval's packed sequences),
// the backward the dense qkv one, and both must see the same rows the same way.
HeadView head_view(int64_t hd, const float* q, int64_t ldq, const float* k, const float* v, int64_t ldkv, int64_t p0,
                   int64_t nq) {
  const int64_t nk = p0 + nq;
  return HeadView{CStrided(q, nq, hd, Eigen::OuterStride<>(ldq)), CStrided(k, nk, hd, Eigen::OuterStride<>(ldkv)),
                  CStrided(v, nk, hd, Eigen::OuterStride<>(ldkv)), p0};
}

// Under the bf16 policy with native GEMMs, all six tile products run on core/gemm_bf16.h's
// AVX512_BF16 kernels: the two "NT" ones (S = Q·Kᵀ and dP = dY·Vᵀ) on gemm_bf16_nt_tile, the four
// whose inner dimension is a key or query index (P·V, dS·K, Pᵀ·dY, dSᵀ·Q) on gemm_bf16_words.
// Their operands are bf16 values already (q, k, v are slices of the rounded qkv activation, dY is
// a rounded activation gradient, P and dS are rounded as GEMM operands right before), so only the
// summation order differs from the fp32 GEMM: the native-GEMM contract of the linear layers.
// PackedHead is K or V of one head packed for the NT kernel: kw words × ldp columns (ldp ≥ T, a
// multiple of 16 so the last 16-lane load stays inside).
struct PackedHead {
  uint32_t* p = nullptr;  // null: fp32 path
  int64_t ldp = 0, kw = 0;
};

// Words per row of a tile of n keys packed by pack_bf16_row_words.
int64_t words_of(int64_t n) { return (n + 1) / 2; }

// On CPUs with AMX-BF16 the products whose A is untransposed run on AMX tiles when their shape
// fits (multiples of 16: every full 32-row block at T a multiple of 32), the rest on vdpbf16ps;
// the contract is the same, only the fp32 summation order is each kernel's own.
void words_product(bool amx, const uint32_t* A, int64_t lda, int64_t M, const uint32_t* B, int64_t ldb, int64_t N,
                   int64_t kw, bool accumulate, float* C, int64_t ldc) {
  if (amx && gemm_bf16_words_amx(A, lda, M, B, ldb, N, kw, accumulate, C, ldc)) return;
  gemm_bf16_words(A, lda, 1, M, B, ldb, N, kw, accumulate, C, ldc);
}

// C[n × hd] += Xᵀ·Y for a tile X (r × n, row stride n: P or dS) and Y (r query rows of dY or Q,
// packed in pairs of rows, hd columns), tw scratch for X packed (wtile words). On AMX X is packed
// transposed as row words; otherwise in pairs of rows, read transposed by gemm_bf16_words.
void transposed_product(bool amx, const float* X, int64_t r, int64_t n, uint32_t* tw, const uint32_t* Y, int64_t hd,
                        float* C, int64_t ldc) {
  const int64_t kw = words_of(r);
  if (amx && kw % 16 == 0 && n % 16 == 0 && hd % 16 == 0) {
    pack_bf16_row_pairs_t(X, n, r, n, tw, kw);
    if (gemm_bf16_words_amx(tw, kw, n, Y, hd, hd, kw, true, C, ldc)) return;
  }
  pack_bf16_row_pairs(X, n, r, n, tw, n);
  gemm_bf16_words(tw, 1, n, n, Y, hd, hd, kw, true, C, ldc);
}

// C[r × n] = A · Bᵀ for A (r rows of 2·kw bf16 values, row stride lda) and B packed by
// pack_head. With aw (AMX; kRows × kw words of scratch) A is packed as row words for the tiles.
void nt_product(const float* A, int64_t lda, int64_t r, const PackedHead& b, int64_t n, uint32_t* aw, float* C) {
  if (aw && r % 16 == 0 && n % 16 == 0 && b.kw % 16 == 0) {
    pack_bf16_row_words(A, lda, r, 2 * b.kw, aw, b.kw);
    if (gemm_bf16_words_amx(aw, b.kw, r, b.p, b.ldp, n, b.kw, false, C, n)) return;
  }
  gemm_bf16_nt_tile(A, lda, r, b.p, b.ldp, n, b.kw, C);
}

// Packs K (and with_v, V) of one head into words[0, 2·kw·ldp) (packed is kw·ldp; 0 = fp32 path).
void pack_head(const HeadView& hv, int64_t T, int64_t kw, int64_t ldp, int64_t packed, uint32_t* words, bool with_v,
               PackedHead& kp, PackedHead& vp) {
  if (packed == 0) return;
  kp = {words, ldp, kw};
  pack_bf16_pairs(hv.k.data(), hv.k.outerStride(), T, kw, kp.p, ldp);
  if (with_v) {
    vp = {words + packed, ldp, kw};
    pack_bf16_pairs(hv.v.data(), hv.v.outerStride(), T, kw, vp.p, ldp);
  }
}

// What the softmax needs besides the tile.
struct SoftmaxParams {
  float scale, slope;
  RoundFn round_op;  // null under fp32
  bool half_softmax;
  const float* ramp;  // 0, 1, 2, ... (ALiBi distances without a per-element int→float)
  PackedHead kp;      // K of this head when the scores are computed natively in bf16
  uint32_t* aw;       // AMX only: scratch for Q as row words
};

// Probabilities of query rows [i0, i0 + r) (positions p0 + i0 ...) against keys [0, n), n = p0 + i0 + r:
// P is r×n, row stride n. Entries right of the diagonal are exactly 0.
void probs_tile(const HeadView& hv, int64_t i0, int64_t r, int64_t n, const SoftmaxParams& sp, float* P) {
  Tile S(P, r, n);
  if (sp.kp.p)
    nt_product(hv.q.data() + i0 * hv.q.outerStride(), hv.q.outerStride(), r, sp.kp, n, sp.aw, P);
  else
    S.noalias() = hv.q.middleRows(i0, r) * hv.k.topRows(n).transpose();
  sp.round_op(P, r * n);  // a half GEMM output
  for (int64_t a = 0; a < r; ++a) {
    const int64_t i = hv.p0 + i0 + a, len = i + 1;
    Arr row(P + a * n, len);
    if (sp.slope != 0.0f)
      row = row * sp.scale - sp.slope * (float(i) - Eigen::Map<const Eigen::ArrayXf>(sp.ramp, len));
    else
      row = row * sp.scale;
    row = (row - row.maxCoeff()).exp();
    std::fill(P + a * n + len, P + (a + 1) * n, 0.0f);
  }
  if (sp.half_softmax) sp.round_op(P, r * n);  // exponentials stored in half
  for (int64_t a = 0; a < r; ++a) {
    Arr row(P + a * n, hv.p0 + i0 + a + 1);
    row *= 1.0f / row.sum();
  }
  sp.round_op(P, r * n);  // probabilities enter the P·V GEMM in half
}

// Softmax backward of a probs_tile tile whose first query row is at position i_first, in place on
// dP (r×n, row stride n): dS = P ⊙ (dP − rowsum(P ⊙ dP)), then the 1/sqrt(hd) scale; entries right
// of the diagonal exactly 0.
void softmax_backward_tile(const float* P, int64_t i_first, int64_t r, int64_t n, float scale, float* dS) {
  for (int64_t a = 0; a < r; ++a) {
    const int64_t len = i_first + a + 1;
    Eigen::Map<const Eigen::ArrayXf> p(P + a * n, len);
    Arr d(dS + a * n, len);
    const float dot = (p * d).sum();
    d = p * (d - dot) * scale;
    std::fill(dS + a * n + len, dS + (a + 1) * n, 0.0f);
  }
}

}  // namespace

// ALiBi head slopes for a power-of-two head count: 2^(-8(h+1)/H) (Press et al. 2022);
// other counts interleave the next power of two's slopes, as in the reference code.
float alibi_slope(int h, int H) {
  auto pow2_slopes = [](int n, int i) { return std::pow(2.0f, -8.0f * float(i + 1) / float(n)); };
  int p = 1;
  while (p * 2 <= H) p *= 2;
  if (h < p) return pow2_slopes(p, h);
  return pow2_slopes(2 * p, 2 * (h - p));
}

AttentionHeads::AttentionHeads(Ctx& ctx, int64_t head_dim, int heads, bool with_alibi, int64_t keys)
    : hd(head_dim),
      max_keys(keys),
      n_head(heads),
      alibi(with_alibi),
      scale(1.0f / std::sqrt(float(head_dim))),
      round_op(ctx.prec.gemm_operand),
      half_softmax(ctx.prec.gemm_operand && !ctx.prec.softmax_fp32) {
  float* r = ctx.scratch(keys);
  for (int64_t j = 0; j < keys; ++j) r[j] = float(j);
  ramp = r;
  // Native bf16 tile products (gemm_bf16_nt_tile) when the policy's GEMMs are native bf16.
  const bool native = ctx.prec.gemm == gemm_bf16 && hd % 2 == 0 && hd / 2 <= kNtTileMaxWords;
  kw = hd / 2;
  ldp = (keys + 15) / 16 * 16;
  tile = (kRows * keys + 15) / 16 * 16;
  packed = native ? kw * ldp : 0;
  auto up16 = [](int64_t f) { return (f + 15) / 16 * 16; };
  rowpacked = native ? up16(words_of(keys) * hd) : 0;
  wtile = native ? up16(kRows * std::max(words_of(keys), kw)) : 0;
  amx = native && amx_bf16_available();
  qtile = native ? up16(words_of(kRows) * hd) : 0;
}

namespace {
SoftmaxParams softmax_params(const AttentionHeads& a, int h) {
  return SoftmaxParams{a.scale, a.alibi ? alibi_slope(h, a.n_head) : 0.0f, a.round_op, a.half_softmax, a.ramp, {},
                       nullptr};
}
}  // namespace

void AttentionHeads::forward(int head, const float* q, int64_t ldq, const float* k, const float* v, int64_t ldkv,
                             int64_t p0, int64_t nq, float* out, int64_t ldo, float* work) const {
  const int64_t nk = p0 + nq;
  assert(nk <= max_keys);
  const HeadView hv = head_view(hd, q, ldq, k, v, ldkv, p0, nq);
  SoftmaxParams sp = softmax_params(*this, head);
  float* P = work;
  PackedHead unused;
  pack_head(hv, nk, kw, ldp, packed, reinterpret_cast<uint32_t*>(P + tile), false, sp.kp, unused);
  // Native: V in pairs of rows (the B of P·V) and the probability tile as words.
  uint32_t* vr = reinterpret_cast<uint32_t*>(P + tile + packed);
  uint32_t* pw = vr + rowpacked;
  if (amx) sp.aw = pw;  // Q's words are done with before P's are packed
  if (packed) pack_bf16_row_pairs(hv.v.data(), hv.v.outerStride(), nk, hd, vr, hd);
  for (int64_t i0 = 0; i0 < nq; i0 += kRows) {
    const int64_t r = std::min(kRows, nq - i0), n = p0 + i0 + r;
    probs_tile(hv, i0, r, n, sp, P);
    // An odd n < nk would pair the tile's zero padding with key n's value (0·inf = NaN if that
    // value is not finite): such tiles (eval's packed sequences only) stay on Eigen.
    if (packed && (n % 2 == 0 || n == nk)) {
      pack_bf16_row_words(P, n, r, n, pw, words_of(n));
      words_product(amx, pw, words_of(n), r, vr, hd, hd, words_of(n), false, out + i0 * ldo, ldo);
    } else {
      Strided o(out + i0 * ldo, r, hd, Eigen::OuterStride<>(ldo));
      o.noalias() = Tile(P, r, n) * hv.v.topRows(n);
    }
  }
}

namespace {
// Backward of one head over T dense positions, the forward's tiles recomputed one by one:
// accumulates dq, dk, dv (row stride ldg) from dy (row stride ldy). work holds the probability
// tile, the dS tile, then packed K and V (one thread's slot, see causal_attention).
void attention_head_backward(const AttentionHeads& heads, int h, const HeadView& hv, int64_t T, float* dq_, float* dk_,
                             float* dv_, int64_t ldg, const float* dy_, int64_t ldy, float* work) {
  const int64_t hd = heads.hd;
  SoftmaxParams sp = softmax_params(heads, h);
  PackedHead vp;
  Strided dq(dq_, T, hd, Eigen::OuterStride<>(ldg));
  Strided dk(dk_, T, hd, Eigen::OuterStride<>(ldg));
  Strided dv(dv_, T, hd, Eigen::OuterStride<>(ldg));
  float* P = work;
  float* dS = P + heads.tile;
  pack_head(hv, T, heads.kw, heads.ldp, heads.packed, reinterpret_cast<uint32_t*>(P + 2 * heads.tile), true, sp.kp, vp);
  // Native: K in pairs of rows (the B of dS·K); per tile, P and dS in pairs of rows (the
  // transposed A of Pᵀ·dY and dSᵀ·Q), dS as words (the A of dS·K), dY and Q rows in pairs (the B
  // of Pᵀ·dY and dSᵀ·Q). In dense training every tile's n is even or T, so no padding meets a key.
  const bool native = heads.packed != 0;
  uint32_t* kr = reinterpret_cast<uint32_t*>(P + 2 * heads.tile + 2 * heads.packed);
  uint32_t* tw = kr + heads.rowpacked;  // P or dS in pairs of rows
  uint32_t* sw = tw + heads.wtile;      // dS as words
  uint32_t* yr = sw + heads.wtile;      // dY rows in pairs
  uint32_t* qr = yr + heads.qtile;      // Q rows in pairs
  if (native) pack_bf16_row_pairs(hv.k.data(), hv.k.outerStride(), T, hd, kr, hd);
  if (heads.amx) sp.aw = sw;  // Q's and dY's words are done with before dS's are packed
  for (int64_t i0 = 0; i0 < T; i0 += kRows) {
    const int64_t r = std::min(kRows, T - i0), n = i0 + r;
    probs_tile(hv, i0, r, n, sp, P);
    Tile Pt(P, r, n), dSt(dS, r, n);
    CStrided dy(dy_ + i0 * ldy, r, hd, Eigen::OuterStride<>(ldy));
    if (native) {
      pack_bf16_row_pairs(dy.data(), ldy, r, hd, yr, hd);
      transposed_product(heads.amx, P, r, n, tw, yr, hd, dv_, ldg);
    } else {
      dv.topRows(n).noalias() += Pt.transpose() * dy;
    }
    if (vp.p)
      nt_product(dy.data(), ldy, r, vp, n, sp.aw, dS);
    else
      dSt.noalias() = dy * hv.v.topRows(n).transpose();
    heads.round_op(dS, r * n);  // a half GEMM output
    softmax_backward_tile(P, i0, r, n, heads.scale, dS);
    heads.round_op(dS, r * n);  // dS enters two half GEMMs
    if (native) {
      pack_bf16_row_words(dS, n, r, n, sw, words_of(n));
      words_product(heads.amx, sw, words_of(n), r, kr, hd, hd, words_of(n), true, dq_ + i0 * ldg, ldg);
      pack_bf16_row_pairs(hv.q.data() + i0 * hv.q.outerStride(), hv.q.outerStride(), r, hd, qr, hd);
      transposed_product(heads.amx, dS, r, n, tw, qr, hd, dk_, ldg);
    } else {
      dq.middleRows(i0, r).noalias() += dSt * hv.k.topRows(n);
      dk.topRows(n).noalias() += dSt.transpose() * hv.q.middleRows(i0, r);
    }
  }
}
}  // namespace

Tensor causal_attention(Ctx& ctx, const Tensor& qkv, int n_head, bool alibi, bool one_reader) {
  const int64_t B = qkv.shape[0], T = qkv.shape[1], C3 = qkv.shape[2], C = C3 / 3;
  const int64_t H = n_head, hd = C / H;
  assert(C3 == 3 * C && C % H == 0);
  Tensor y = ctx.make(Shape{B, T, C}, qkv.tracked(), one_reader);
  const AttentionHeads heads(ctx, hd, n_head, alibi, T);

  // Per thread: the forward's probability tile (+ the native path's packed K, V and P), or in
  // backward the probability tile, the dP/dS tile and (native) the packed K, V, P, dS, dY and Q;
  // every part a multiple of 16 floats, so 64-byte aligned.
  const int nthreads = omp_get_max_threads();
  const int64_t slot = 2 * heads.tile + 2 * heads.packed + heads.rowpacked + 2 * heads.wtile + 2 * heads.qtile;
  float* work = ctx.scratch(int64_t(nthreads) * slot);

  // Head h of batch b: q, k, v at columns h·hd, C + h·hd, 2C + h·hd of qkv's rows (stride 3C).
#pragma omp parallel for schedule(static)
  for (int64_t bh = 0; bh < B * H; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    const float* base = qkv.data + b * T * C3 + h * hd;
    heads.forward(int(h), base, C3, base + C, base + 2 * C, C3, 0, T, y.data + b * T * C + h * hd, C,
                  work + int64_t(omp_get_thread_num()) * slot);
  }
  ctx.prec.act(y.data, y.numel());
  if (!y.tracked()) return y;

  ctx.record(y, "causal_attention", [qkv, y, work, heads, slot, B, T, C, C3] {
    const int64_t H = heads.n_head, hd = heads.hd;
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, h = bh % H, at = b * T * C3 + h * hd;
      const float* base = qkv.data + at;
      float* gbase = qkv.grad + at;
      // The heads' tiles add into dqkv. A one-reader qkv's gradient was never zeroed: each head
      // clears its own slices here, while they are about to be used, instead.
      if (qkv.one_reader)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t part = 0; part < 3; ++part) std::fill_n(gbase + t * C3 + part * C, hd, 0.0f);
      attention_head_backward(heads, int(h), head_view(hd, base, C3, base + C, base + 2 * C, C3, 0, T), T, gbase,
                              gbase + C, gbase + 2 * C, C3, y.grad + b * T * C + h * hd, C,
                              work + int64_t(omp_get_thread_num()) * slot);
    }
  });
  return y;
}

}  // namespace nurture::core
