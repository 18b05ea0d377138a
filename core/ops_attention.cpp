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
#include <immintrin.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

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

// ---------------------------------------------------------------------------------------------
// Native bf16 for the two "NT" tile products (S = Q·Kᵀ and dP = dY·Vᵀ, inner dimension hd) when
// the policy runs its GEMMs natively in bf16 (OpPrecision::gemm == gemm_bf16). Their operands are
// then bf16 values already (q, k, v are slices of the rounded qkv activation, dY is a rounded
// activation gradient), so the products are exact in fp32 and only the summation order differs
// from the fp32 GEMM: the native-GEMM contract of the linear layers (core/gemm_bf16.h), including
// its flush of subnormal products. vdpbf16ps takes the inner dimension in pairs: word p of a row
// holds elements 2p (low half) and 2p+1 (high half) as bf16.
constexpr int64_t kMaxWords = 128;  // head_dim ≤ 256 (larger heads use the fp32 path)

uint32_t pair_word(const float* row, int64_t p) {
  uint32_t lo, hi;
  std::memcpy(&lo, row + 2 * p, 4);
  std::memcpy(&hi, row + 2 * p + 1, 4);
  return (hi & 0xffff0000u) | (lo >> 16);  // truncation: exact for bf16 values
}

// B rows [0, n) of a [n, 2·kw] matrix (row stride ld) into dst[p·ldp + j] = word p of row j: the
// layout whose 16-lane slices vdpbf16ps multiplies against a broadcast word of A.
void pack_pairs(const float* src, int64_t ld, int64_t n, int64_t kw, uint32_t* dst, int64_t ldp) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < kw; ++p) dst[p * ldp + j] = pair_word(src + j * ld, p);
}

// C[r × n] (row stride n) = A[r × 2kw] (row stride lda) · Bᵀ, B packed by pack_pairs. Four rows
// at a time against 16 columns; the summation order over the inner dimension is fixed.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void nt_tile_bf16(const float* A, int64_t lda,
                                                                                  int64_t r, const uint32_t* Bp,
                                                                                  int64_t ldp, int64_t n, int64_t kw,
                                                                                  float* C) {
  alignas(64) uint32_t aw[4][kMaxWords];
  for (int64_t i0 = 0; i0 < r; i0 += 4) {
    const int64_t ri = std::min<int64_t>(4, r - i0);
    for (int64_t a = 0; a < 4; ++a) {
      const float* row = A + (i0 + std::min(a, ri - 1)) * lda;  // tails repeat the last row
      for (int64_t p = 0; p < kw; ++p) aw[a][p] = pair_word(row, p);
    }
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
      __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
      for (int64_t p = 0; p < kw; ++p) {
        const __m512bh b = (__m512bh)_mm512_loadu_si512(Bp + p * ldp + j0);
        c0 = _mm512_dpbf16_ps(c0, (__m512bh)_mm512_set1_epi32(int(aw[0][p])), b);
        c1 = _mm512_dpbf16_ps(c1, (__m512bh)_mm512_set1_epi32(int(aw[1][p])), b);
        c2 = _mm512_dpbf16_ps(c2, (__m512bh)_mm512_set1_epi32(int(aw[2][p])), b);
        c3 = _mm512_dpbf16_ps(c3, (__m512bh)_mm512_set1_epi32(int(aw[3][p])), b);
      }
      const __mmask16 m = n - j0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - j0)) - 1u);
      float* c = C + i0 * n + j0;
      _mm512_mask_storeu_ps(c, m, c0);
      if (ri > 1) _mm512_mask_storeu_ps(c + n, m, c1);
      if (ri > 2) _mm512_mask_storeu_ps(c + 2 * n, m, c2);
      if (ri > 3) _mm512_mask_storeu_ps(c + 3 * n, m, c3);
    }
  }
}

// Packed K or V of one head for the native path: kw words × ldp columns (ldp ≥ T, a multiple of
// 16 so the last 16-lane load stays inside).
struct PackedHead {
  uint32_t* p = nullptr;  // null: fp32 path
  int64_t ldp = 0, kw = 0;
};

// Packs K (and with_v, V) of one head into words[0, 2·kw·ldp) (packed is kw·ldp; 0 = fp32 path).
void pack_head(const HeadView& hv, int64_t T, int64_t kw, int64_t ldp, int64_t packed, uint32_t* words, bool with_v,
               PackedHead& kp, PackedHead& vp) {
  if (packed == 0) return;
  kp = {words, ldp, kw};
  pack_pairs(hv.k.data(), hv.k.outerStride(), T, kw, kp.p, ldp);
  if (with_v) {
    vp = {words + packed, ldp, kw};
    pack_pairs(hv.v.data(), hv.v.outerStride(), T, kw, vp.p, ldp);
  }
}

// What the softmax needs besides the tile.
struct SoftmaxParams {
  float scale, slope;
  RoundFn round_op;  // null under fp32
  bool half_softmax;
  const float* ramp;  // 0, 1, 2, ... (ALiBi distances without a per-element int→float)
  PackedHead kp;      // K of this head when the scores are computed natively in bf16
};

// Probabilities of query rows [i0, i0 + r) (positions p0 + i0 ...) against keys [0, n), n = p0 + i0 + r:
// P is r×n, row stride n. Entries right of the diagonal are exactly 0.
void probs_tile(const HeadView& hv, int64_t i0, int64_t r, int64_t n, const SoftmaxParams& sp, float* P) {
  Tile S(P, r, n);
  if (sp.kp.p)
    nt_tile_bf16(hv.q.data() + i0 * hv.q.outerStride(), hv.q.outerStride(), r, sp.kp.p, sp.kp.ldp, n, sp.kp.kw, P);
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
  // Native bf16 tile products (see nt_tile_bf16) when the policy's GEMMs are native bf16.
  const bool native = ctx.prec.gemm == gemm_bf16 && hd % 2 == 0 && hd / 2 <= kMaxWords;
  kw = hd / 2;
  ldp = (keys + 15) / 16 * 16;
  tile = (kRows * keys + 15) / 16 * 16;
  packed = native ? kw * ldp : 0;
}

namespace {
SoftmaxParams softmax_params(const AttentionHeads& a, int h) {
  return SoftmaxParams{a.scale, a.alibi ? alibi_slope(h, a.n_head) : 0.0f, a.round_op, a.half_softmax, a.ramp, {}};
}
}  // namespace

void AttentionHeads::forward(int head, const float* q, int64_t ldq, const float* k, const float* v, int64_t ldkv,
                             int64_t p0, int64_t nq, float* out, int64_t ldo, float* work) const {
  const int64_t nk = p0 + nq;
  assert(nk <= max_keys);
  const HeadView hv{CStrided(q, nq, hd, Eigen::OuterStride<>(ldq)), CStrided(k, nk, hd, Eigen::OuterStride<>(ldkv)),
                    CStrided(v, nk, hd, Eigen::OuterStride<>(ldkv)), p0};
  SoftmaxParams sp = softmax_params(*this, head);
  float* P = work;
  PackedHead unused;
  pack_head(hv, nk, kw, ldp, packed, reinterpret_cast<uint32_t*>(P + tile), false, sp.kp, unused);
  for (int64_t i0 = 0; i0 < nq; i0 += kRows) {
    const int64_t r = std::min(kRows, nq - i0), n = p0 + i0 + r;
    probs_tile(hv, i0, r, n, sp, P);
    Strided o(out + i0 * ldo, r, hd, Eigen::OuterStride<>(ldo));
    o.noalias() = Tile(P, r, n) * hv.v.topRows(n);
  }
}

Tensor causal_attention(Ctx& ctx, const Tensor& qkv, int n_head, bool alibi) {
  const int64_t B = qkv.shape[0], T = qkv.shape[1], C3 = qkv.shape[2], C = C3 / 3;
  const int64_t H = n_head, hd = C / H;
  assert(C3 == 3 * C && C % H == 0);
  Tensor y = ctx.make(Shape{B, T, C}, qkv.tracked());
  const AttentionHeads heads(ctx, hd, n_head, alibi, T);

  // Per thread: the forward's probability tile (+ packed K), or in backward the probability tile,
  // the dP/dS tile and packed K and V; every part a multiple of 16 floats, so 64-byte aligned.
  const int nthreads = omp_get_max_threads();
  const int64_t slot = 2 * heads.tile + 2 * heads.packed;
  float* work = ctx.scratch(int64_t(nthreads) * slot);

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
    const int64_t H = heads.n_head, hd = heads.hd, tile = heads.tile;
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const float* base = qkv.data + b * T * C3 + h * hd;
      const HeadView hv{CStrided(base, T, hd, Eigen::OuterStride<>(C3)),
                        CStrided(base + C, T, hd, Eigen::OuterStride<>(C3)),
                        CStrided(base + 2 * C, T, hd, Eigen::OuterStride<>(C3)), 0};
      SoftmaxParams sp = softmax_params(heads, int(h));
      const float scale = heads.scale;
      const RoundFn round_op = heads.round_op;
      PackedHead vp;
      float* gbase = qkv.grad + b * T * C3 + h * hd;
      Strided dq(gbase, T, hd, Eigen::OuterStride<>(C3));
      Strided dk(gbase + C, T, hd, Eigen::OuterStride<>(C3));
      Strided dv(gbase + 2 * C, T, hd, Eigen::OuterStride<>(C3));
      float* P = work + int64_t(omp_get_thread_num()) * slot;
      float* dS = P + tile;
      pack_head(hv, T, heads.kw, heads.ldp, heads.packed, reinterpret_cast<uint32_t*>(P + 2 * tile), true, sp.kp, vp);
      for (int64_t i0 = 0; i0 < T; i0 += kRows) {
        const int64_t r = std::min(kRows, T - i0), n = i0 + r;
        probs_tile(hv, i0, r, n, sp, P);
        Tile Pt(P, r, n), dSt(dS, r, n);
        CStrided dy(y.grad + b * T * C + i0 * C + h * hd, r, hd, Eigen::OuterStride<>(C));
        dv.topRows(n).noalias() += Pt.transpose() * dy;
        if (vp.p)
          nt_tile_bf16(dy.data(), C, r, vp.p, vp.ldp, n, vp.kw, dS);
        else
          dSt.noalias() = dy * hv.v.topRows(n).transpose();
        round_op(dS, r * n);  // a half GEMM output
        // Softmax backward: dS = P ⊙ (dP − rowsum(P ⊙ dP)), then the 1/sqrt(hd) scale.
        for (int64_t a = 0; a < r; ++a) {
          const int64_t len = i0 + a + 1;
          Eigen::Map<const Eigen::ArrayXf> p(P + a * n, len);
          Arr d(dS + a * n, len);
          const float dot = (p * d).sum();
          d = p * (d - dot) * scale;
          std::fill(dS + a * n + len, dS + (a + 1) * n, 0.0f);
        }
        round_op(dS, r * n);  // dS enters two half GEMMs
        dq.middleRows(i0, r).noalias() += dSt * hv.k.topRows(n);
        dk.topRows(n).noalias() += dSt.transpose() * hv.q.middleRows(i0, r);
      }
    }
  });
  return y;
}

}  // namespace nurture::core
