#include "core/gemm_bf16.h"

// GCC 12's AVX-512 headers trip false (maybe-)uninitialized warnings (_mm512_undefined_*;
// GCC PR 105593), as in precision/round_kernels.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "core/dnnl_support.h"

namespace nurture::core {
namespace {

#ifdef NDEBUG
constexpr bool kCheckExact = false;
#else
constexpr bool kCheckExact = true;  // debug builds: assert no operand bits are dropped
#endif

// Conversion is memory-bound; below this many elements one thread does it (no fork cost).
constexpr int64_t kParallelConvert = int64_t{1} << 15;

// ---------------------------------------------------------------------------------------------
// fp32 → bf16 by truncation: the high 16 bits. Exact for bf16-representable values.
// Each packer returns nonzero iff some dropped low half was nonzero (only computed when Check).

template <bool Check>
uint32_t pack_rows_scalar(const float* src, int64_t rows, int64_t cols, int64_t ld, uint16_t* dst) {
  uint32_t dropped = 0;
#pragma omp parallel for schedule(static) reduction(| : dropped) if (rows * cols >= kParallelConvert)
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * ld;
    uint16_t* d = dst + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      uint32_t u;
      std::memcpy(&u, s + c, 4);
      if (Check) dropped |= u & 0xffffu;
      d[c] = static_cast<uint16_t>(u >> 16);
    }
  }
  return dropped;
}

template <bool Check>
__attribute__((target("avx512f,avx512bw,avx512vl"))) uint32_t pack_rows_avx512(const float* src, int64_t rows,
                                                                               int64_t cols, int64_t ld,
                                                                               uint16_t* dst) {
  uint32_t dropped = 0;
#pragma omp parallel for schedule(static) reduction(| : dropped) if (rows * cols >= kParallelConvert)
  for (int64_t r = 0; r < rows; ++r) {
    // Word j of the result is word 2j+1 (the high half of float j) of the pair (a, b).
    alignas(64) static constexpr uint16_t kOdd[32] = {1,  3,  5,  7,  9,  11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31,
                                                      33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63};
    const __m512i idx = _mm512_load_si512(kOdd);
    const __m512i low = _mm512_set1_epi32(0xffff);
    __m512i bits = _mm512_setzero_si512();
    const float* s = src + r * ld;
    uint16_t* d = dst + r * cols;
    int64_t c = 0;
    for (; c + 32 <= cols; c += 32) {
      const __m512i a = _mm512_loadu_si512(s + c), b = _mm512_loadu_si512(s + c + 16);
      if (Check) bits = _mm512_or_si512(bits, _mm512_and_si512(_mm512_or_si512(a, b), low));
      _mm512_storeu_si512(d + c, _mm512_permutex2var_epi16(a, idx, b));
    }
    if (c < cols) {  // 1..31 left: the same permute on masked loads, masked store
      const int n = static_cast<int>(cols - c);
      const __mmask16 lo = static_cast<__mmask16>(n >= 16 ? 0xffffu : (1u << n) - 1u);
      const __mmask16 hi = static_cast<__mmask16>(n > 16 ? (1u << (n - 16)) - 1u : 0u);
      const __m512i a = _mm512_maskz_loadu_epi32(lo, s + c);
      const __m512i b = _mm512_maskz_loadu_epi32(hi, s + c + 16);
      if (Check) bits = _mm512_or_si512(bits, _mm512_and_si512(_mm512_or_si512(a, b), low));
      _mm512_mask_storeu_epi16(d + c, static_cast<__mmask32>((1u << n) - 1u), _mm512_permutex2var_epi16(a, idx, b));
    }
    if (Check) dropped |= _mm512_test_epi32_mask(bits, bits) != 0 ? 1u : 0u;
  }
  return dropped;
}

bool have_avx512bw() {
  static const bool ok =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return ok;
}

}  // namespace

void to_bf16_truncate(const float* src, int64_t rows, int64_t cols, int64_t ld, uint16_t* dst) {
  uint32_t dropped;
  if (have_avx512bw())
    dropped = pack_rows_avx512<kCheckExact>(src, rows, cols, ld, dst);
  else
    dropped = pack_rows_scalar<kCheckExact>(src, rows, cols, ld, dst);
  assert(dropped == 0 && "gemm_bf16: operand value not bf16-representable (would be truncated)");
  (void)dropped;
}

namespace {

// ---------------------------------------------------------------------------------------------
using Scratch = core::AlignedScratch;
dnnl::engine& engine() { return core::dnnl_cpu_engine(); }

// The bf16 operands keep the orientation of the fp32 ones (conversion is a straight streaming
// copy); a transposed operand is described to oneDNN by swapped strides ("ba" layout). Measured
// on this machine (oneDNN 2.6.3): every NN/NT/TN/TT stride combination is served by
// brg:avx512_core_bf16 (the test checks it), "ba" weights run as fast as "ab", and a "ba" src is
// at most ~5-10% slower than "ab" in the matmul alone, much less than what transposing it during
// conversion costs. So no operand is transposed here.
struct Key {
  int64_t M, N, K, ldc;
  uint32_t alpha_bits, beta_bits;
  int threads;
  bool a_ba, b_ba;  // src M×K stored K×M (trans_a) / weights K×N stored N×K (trans_b)
  bool bias;        // a per-column fp32 bias added in the epilogue
  bool operator==(const Key&) const = default;
};

struct Entry {
  Key key;
  dnnl::matmul prim;
  dnnl::memory src, wei, bias, dst, scratchpad;
  size_t scratchpad_bytes = 0;
  std::string impl;
};

struct ThreadState {
  core::PrimitiveCache<Key, Entry> cache;
  Entry* last = nullptr;
  Scratch a, b, pad;
  dnnl::stream stream{engine()};
};

ThreadState& state() {
  thread_local ThreadState st;
  return st;
}

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

std::unique_ptr<Entry> make_entry(const Key& k, float alpha, float beta) {
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  const dnnl::memory::desc a_md({k.M, k.K}, dt::bf16, k.a_ba ? dims{1, k.M} : dims{k.K, 1});
  const dnnl::memory::desc b_md({k.K, k.N}, dt::bf16, k.b_ba ? dims{1, k.K} : dims{k.N, 1});
  const dnnl::memory::desc c_md({k.M, k.N}, dt::f32, dims{k.ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {
    dnnl::post_ops po;
    po.append_sum(beta);  // dst = alpha·acc + beta·dst
    attr.set_post_ops(po);
  }
  const dnnl::memory::desc bias_md({1, k.N}, dt::f32, dims{k.N, 1});
  const dnnl::matmul::desc md =
      k.bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
  const dnnl::matmul::primitive_desc pd(md, attr, engine());
  auto e = std::make_unique<Entry>();
  e->key = k;
  e->prim = dnnl::matmul(pd);
  e->src = dnnl::memory(a_md, engine(), DNNL_MEMORY_NONE);
  e->wei = dnnl::memory(b_md, engine(), DNNL_MEMORY_NONE);
  e->dst = dnnl::memory(c_md, engine(), DNNL_MEMORY_NONE);
  if (k.bias) e->bias = dnnl::memory(bias_md, engine(), DNNL_MEMORY_NONE);
  e->scratchpad = dnnl::memory(pd.scratchpad_desc(), engine(), DNNL_MEMORY_NONE);
  e->scratchpad_bytes = pd.scratchpad_desc().get_size();
  e->impl = pd.impl_info_str();
  return e;
}

}  // namespace

bool bf16_gemm_available() {
  static const bool ok = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto need = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & need) == need;  // ISA values are nested bit masks
  }();
  return ok;
}

int64_t gemm_bf16_primitives_created() { return state().cache.created(); }

std::string gemm_bf16_last_impl() {
  const ThreadState& st = state();
  return st.last ? st.last->impl : std::string();
}

namespace {

// C = beta·C for an empty sum (beta == 0 overwrites, as in BLAS).
void scale_only(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

// C = bias in every row: an empty sum plus the bias.
void bias_only(int64_t M, int64_t N, const float* bias, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = bias[j];
}

// Runs the cached primitive on operands already in bf16 (packed as stored).
void run(ThreadState& st, const Key& key, float alpha, float beta, const uint16_t* a16, const uint16_t* b16,
         const float* bias, float* C) {
  Entry& e = st.cache.get(key, [&](const Key& k) { return make_entry(k, alpha, beta); });
  st.last = &e;
  e.src.set_data_handle(const_cast<uint16_t*>(a16));
  e.wei.set_data_handle(const_cast<uint16_t*>(b16));
  e.dst.set_data_handle(C);
  e.scratchpad.set_data_handle(st.pad.get(std::max<size_t>(e.scratchpad_bytes, 64)));
  // The C API takes a plain argument array (the C++ one wants an unordered_map per call).
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, e.src.get()},
                             {DNNL_ARG_WEIGHTS, e.wei.get()},
                             {DNNL_ARG_DST, e.dst.get()},
                             {DNNL_ARG_SCRATCHPAD, e.scratchpad.get()},
                             {DNNL_ARG_BIAS, nullptr}};
  int nargs = 4;
  if (bias) {
    e.bias.set_data_handle(const_cast<float*>(bias));
    args[4].memory = e.bias.get();
    nargs = 5;
  }
  dnnl::error::wrap_c_api(dnnl_primitive_execute(e.prim.get(), st.stream.get(), nargs, args),
                          "gemm_bf16: matmul execution failed");
  dnnl::error::wrap_c_api(dnnl_stream_wait(st.stream.get()), "gemm_bf16: stream wait failed");
}

Key make_key(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, float beta, int64_t ldc,
             bool bias) {
  // The key includes the thread count: oneDNN fixes a primitive's work split at creation.
  return Key{M, N, K, ldc, bits_of(alpha), bits_of(beta), omp_get_max_threads(), trans_a, trans_b, bias};
}

void gemm_impl(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, const float* bias, float beta, float* C, int64_t ldc) {
  ThreadState& st = state();
  auto* a16 = static_cast<uint16_t*>(st.a.get(static_cast<size_t>(M * K) * 2));
  auto* b16 = static_cast<uint16_t*>(st.b.get(static_cast<size_t>(K * N) * 2));
  // A is stored trans_a ? K×M : M×K, B is stored trans_b ? N×K : K×N; packed as stored.
  to_bf16_truncate(A, trans_a ? K : M, trans_a ? M : K, lda, a16);
  to_bf16_truncate(B, trans_b ? N : K, trans_b ? K : N, ldb, b16);
  run(st, make_key(trans_a, trans_b, M, N, K, alpha, beta, ldc, bias != nullptr), alpha, beta, a16, b16, bias, C);
}

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return scale_only(M, N, beta, C, ldc);
  gemm_impl(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, nullptr, beta, C, ldc);
}

void gemm_bf16_bias(bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                    int64_t ldb, const float* bias, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return bias_only(M, N, bias, C, ldc);
  gemm_impl(false, trans_b, M, N, K, 1.0f, A, lda, B, ldb, bias, 0.0f, C, ldc);
}

uint16_t* gemm_bf16_operand_scratch(int64_t n) {
  return static_cast<uint16_t*>(state().a.get(static_cast<size_t>(std::max<int64_t>(n, 1)) * 2));
}

void gemm_bf16_converted_a(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const uint16_t* A16, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return scale_only(M, N, beta, C, ldc);
  ThreadState& st = state();
  auto* b16 = static_cast<uint16_t*>(st.b.get(static_cast<size_t>(K * N) * 2));
  to_bf16_truncate(B, trans_b ? N : K, trans_b ? K : N, ldb, b16);
  run(st, make_key(trans_a, trans_b, M, N, K, alpha, beta, ldc, false), alpha, beta, A16, b16, nullptr, C);
}

void gemm_bf16_bias_converted_a(bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A16, const float* B,
                                int64_t ldb, const float* bias, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return bias_only(M, N, bias, C, ldc);
  ThreadState& st = state();
  auto* b16 = static_cast<uint16_t*>(st.b.get(static_cast<size_t>(K * N) * 2));
  to_bf16_truncate(B, trans_b ? N : K, trans_b ? K : N, ldb, b16);
  run(st, make_key(false, trans_b, M, N, K, 1.0f, 0.0f, ldc, true), 1.0f, 0.0f, A16, b16, bias, C);
}

void gemm_bf16_converted_ab(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                            const uint16_t* A16, const uint16_t* B16, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return scale_only(M, N, beta, C, ldc);
  run(state(), make_key(trans_a, trans_b, M, N, K, alpha, beta, ldc, false), alpha, beta, A16, B16, nullptr, C);
}

namespace {

uint32_t pair_word(const float* row, int64_t p) {
  uint32_t lo, hi;
  std::memcpy(&lo, row + 2 * p, 4);
  std::memcpy(&hi, row + 2 * p + 1, 4);
  return (hi & 0xffff0000u) | (lo >> 16);  // truncation: exact for bf16 values
}

}  // namespace

namespace {

__mmask16 first_lanes(int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xffffu : n <= 0 ? 0u : (1u << n) - 1u); }

// 16 × 16 words in registers: on return r[k][i] is what r[i][k] was (32-bit interleave, 64-bit
// interleave, then two rounds of 128-bit lane shuffles).
__attribute__((target("avx512f"))) inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  __m512i u[16];  // u[4g + m], lane L: rows 4g .. 4g+3 at element 4L + m
  for (int g = 0; g < 4; ++g) {
    u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512i a = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44), b = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xEE);
    const __m512i c = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44),
                  d = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xEE);
    r[m] = _mm512_shuffle_i32x4(a, c, 0x88);
    r[4 + m] = _mm512_shuffle_i32x4(a, c, 0xDD);
    r[8 + m] = _mm512_shuffle_i32x4(b, d, 0x88);
    r[12 + m] = _mm512_shuffle_i32x4(b, d, 0xDD);
  }
}

}  // namespace

// 16 rows × 16 words at a time: each row's words by a permute of 32 floats, then a transpose.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void pack_bf16_pairs(const float* src, int64_t ld, int64_t n,
                                                                          int64_t kw, uint32_t* dst, int64_t ldp) {
  alignas(64) static constexpr uint16_t kOdd[32] = {1,  3,  5,  7,  9,  11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31,
                                                    33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63};
  const __m512i idx = _mm512_load_si512(kOdd);
  for (int64_t j0 = 0; j0 < n; j0 += 16) {
    const int64_t nj = std::min<int64_t>(16, n - j0);
    for (int64_t p0 = 0; p0 < kw; p0 += 16) {
      const int64_t np = std::min<int64_t>(16, kw - p0);  // words; floats 2·np
      const __mmask16 lo = first_lanes(2 * np), hi = first_lanes(2 * np - 16);
      __m512i r[16];
      for (int64_t i = 0; i < 16; ++i) {
        if (i >= nj) {
          r[i] = _mm512_setzero_si512();
          continue;
        }
        const float* row = src + (j0 + i) * ld + 2 * p0;
        r[i] =
            _mm512_permutex2var_epi16(_mm512_maskz_loadu_epi32(lo, row), idx, _mm512_maskz_loadu_epi32(hi, row + 16));
      }
      transpose16(r);
      const __mmask16 m = first_lanes(nj);
      for (int64_t k = 0; k < np; ++k) _mm512_mask_storeu_epi32(dst + (p0 + k) * ldp + j0, m, r[k]);
    }
  }
}

// Four rows of A at a time against 16 columns of B.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void gemm_bf16_nt_tile(const float* A, int64_t lda,
                                                                                       int64_t r, const uint32_t* Bp,
                                                                                       int64_t ldp, int64_t n,
                                                                                       int64_t kw, float* C) {
  alignas(64) uint32_t aw[4][kNtTileMaxWords];
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

__attribute__((target("avx512f,avx512bw,avx512vl"))) void pack_bf16_row_words(const float* src, int64_t ld,
                                                                              int64_t rows, int64_t cols, uint32_t* dst,
                                                                              int64_t ldw) {
  // Word j of the permute is the high halves of floats 2j and 2j+1 of the 32 loaded: (lo, hi).
  alignas(64) static constexpr uint16_t kOdd[32] = {1,  3,  5,  7,  9,  11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31,
                                                    33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63};
  const __m512i idx = _mm512_load_si512(kOdd);
  for (int64_t i = 0; i < rows; ++i) {
    const float* s = src + i * ld;
    uint32_t* d = dst + i * ldw;
    for (int64_t c = 0; c < cols; c += 32) {
      const int64_t n = std::min<int64_t>(32, cols - c);  // floats left; missing ones load as 0
      const __mmask16 lo = static_cast<__mmask16>(n >= 16 ? 0xffffu : (1u << n) - 1u);
      const __mmask16 hi = static_cast<__mmask16>(n >= 32 ? 0xffffu : n > 16 ? (1u << (n - 16)) - 1u : 0u);
      const __m512i a = _mm512_maskz_loadu_epi32(lo, s + c), b = _mm512_maskz_loadu_epi32(hi, s + c + 16);
      const int64_t words = (n + 1) / 2;
      const __mmask16 m = static_cast<__mmask16>(words >= 16 ? 0xffffu : (1u << words) - 1u);
      _mm512_mask_storeu_epi32(d + c / 2, m, _mm512_permutex2var_epi16(a, idx, b));
    }
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void pack_bf16_row_pairs(const float* src, int64_t ld,
                                                                              int64_t rows, int64_t cols, uint32_t* dst,
                                                                              int64_t ldd) {
  const __m512i high = _mm512_set1_epi32(int(0xffff0000u));
  for (int64_t p = 0; 2 * p < rows; ++p) {
    const float* r0 = src + 2 * p * ld;
    const float* r1 = 2 * p + 1 < rows ? r0 + ld : nullptr;
    for (int64_t c = 0; c < cols; c += 16) {
      const __mmask16 m = static_cast<__mmask16>(cols - c >= 16 ? 0xffffu : (1u << (cols - c)) - 1u);
      const __m512i a = _mm512_maskz_loadu_epi32(m, r0 + c);
      const __m512i b = r1 ? _mm512_maskz_loadu_epi32(m, r1 + c) : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(dst + p * ldd + c, m,
                               _mm512_or_si512(_mm512_and_si512(b, high), _mm512_srli_epi32(a, 16)));
    }
  }
}

// 16 pairs of rows × 16 columns at a time: pair words as in pack_bf16_row_pairs, then a transpose.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void pack_bf16_row_pairs_t(const float* src, int64_t ld,
                                                                                int64_t rows, int64_t cols,
                                                                                uint32_t* dst, int64_t ldw) {
  const __m512i high = _mm512_set1_epi32(int(0xffff0000u));
  const int64_t pairs = (rows + 1) / 2;
  for (int64_t j0 = 0; j0 < cols; j0 += 16) {
    const int64_t nj = std::min<int64_t>(16, cols - j0);
    const __mmask16 mj = first_lanes(nj);
    for (int64_t p0 = 0; p0 < pairs; p0 += 16) {
      const int64_t np = std::min<int64_t>(16, pairs - p0);
      __m512i r[16];
      for (int64_t i = 0; i < 16; ++i) {
        const int64_t p = p0 + i;
        if (i >= np) {
          r[i] = _mm512_setzero_si512();
          continue;
        }
        const float* r0 = src + 2 * p * ld + j0;
        const __m512i a = _mm512_maskz_loadu_epi32(mj, r0);
        const __m512i b = 2 * p + 1 < rows ? _mm512_maskz_loadu_epi32(mj, r0 + ld) : _mm512_setzero_si512();
        r[i] = _mm512_or_si512(_mm512_and_si512(b, high), _mm512_srli_epi32(a, 16));
      }
      transpose16(r);
      const __mmask16 m = first_lanes(np);
      for (int64_t k = 0; k < nj; ++k) _mm512_mask_storeu_epi32(dst + (j0 + k) * ldw + p0, m, r[k]);
    }
  }
}

namespace {

// Four rows of A against 32 columns of B (two 16-lane accumulators per row).
template <bool Acc>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void words_kernel(const uint32_t* A, int64_t a_row,
                                                                                  int64_t a_word, int64_t M,
                                                                                  const uint32_t* B, int64_t ldb,
                                                                                  int64_t N, int64_t kw, float* C,
                                                                                  int64_t ldc) {
  for (int64_t i0 = 0; i0 < M; i0 += 4) {
    const int64_t ri = std::min<int64_t>(4, M - i0);
    const uint32_t* a0 = A + i0 * a_row;  // tails repeat the last row
    const uint32_t* a1 = A + (i0 + std::min<int64_t>(1, ri - 1)) * a_row;
    const uint32_t* a2 = A + (i0 + std::min<int64_t>(2, ri - 1)) * a_row;
    const uint32_t* a3 = A + (i0 + std::min<int64_t>(3, ri - 1)) * a_row;
    for (int64_t j0 = 0; j0 < N; j0 += 32) {
      const int64_t nj = std::min<int64_t>(32, N - j0);
      const __mmask16 m0 = static_cast<__mmask16>(nj >= 16 ? 0xffffu : (1u << nj) - 1u);
      const __mmask16 m1 = static_cast<__mmask16>(nj >= 32 ? 0xffffu : nj > 16 ? (1u << (nj - 16)) - 1u : 0u);
      __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      for (int64_t p = 0; p < kw; ++p) {
        const uint32_t* b = B + p * ldb + j0;
        const __m512bh b0 = (__m512bh)_mm512_maskz_loadu_epi32(m0, b);
        const __m512bh b1 = (__m512bh)_mm512_maskz_loadu_epi32(m1, b + 16);
        const int64_t o = p * a_word;
        __m512bh w = (__m512bh)_mm512_set1_epi32(int(a0[o]));
        c00 = _mm512_dpbf16_ps(c00, w, b0);
        c01 = _mm512_dpbf16_ps(c01, w, b1);
        w = (__m512bh)_mm512_set1_epi32(int(a1[o]));
        c10 = _mm512_dpbf16_ps(c10, w, b0);
        c11 = _mm512_dpbf16_ps(c11, w, b1);
        w = (__m512bh)_mm512_set1_epi32(int(a2[o]));
        c20 = _mm512_dpbf16_ps(c20, w, b0);
        c21 = _mm512_dpbf16_ps(c21, w, b1);
        w = (__m512bh)_mm512_set1_epi32(int(a3[o]));
        c30 = _mm512_dpbf16_ps(c30, w, b0);
        c31 = _mm512_dpbf16_ps(c31, w, b1);
      }
      const __m512 acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
      for (int64_t x = 0; x < ri; ++x) {
        float* c = C + (i0 + x) * ldc + j0;
        __m512 v0 = acc[x][0], v1 = acc[x][1];
        if (Acc) {
          v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), v0);
          v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), v1);
        }
        _mm512_mask_storeu_ps(c, m0, v0);
        _mm512_mask_storeu_ps(c + 16, m1, v1);
      }
    }
  }
}

}  // namespace

void gemm_bf16_words(const uint32_t* A, int64_t a_row, int64_t a_word, int64_t M, const uint32_t* B, int64_t ldb,
                     int64_t N, int64_t kw, bool accumulate, float* C, int64_t ldc) {
  if (accumulate)
    words_kernel<true>(A, a_row, a_word, M, B, ldb, N, kw, C, ldc);
  else
    words_kernel<false>(A, a_row, a_word, M, B, ldb, N, kw, C, ldc);
}

bool amx_bf16_available() {
  static const bool ok = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto need = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_amx);
    if ((isa & need) != need) return false;
    // Linux hands out the AMX tile data state only on request (ARCH_REQ_XCOMP_PERM for
    // XFEATURE_XTILEDATA), once per process; oneDNN asks the same way.
    constexpr long kReqXcompPerm = 0x1023, kXtileData = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
  }();
  return ok;
}

namespace {

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0-3: C blocks (2 × 2 of 16 × 16 fp32), 4-5: A (16 rows × 16 words), 6-7: B (16 pair rows ×
// 16 columns). Every tile 16 rows of 64 bytes.
const TileConfig& tile_config() {
  static const TileConfig cfg = [] {
    TileConfig c;
    for (int t = 0; t < 8; ++t) c.colsb[t] = 64, c.rows[t] = 16;
    return c;
  }();
  return cfg;
}

__attribute__((target("avx512f"))) void add_block(const float* t, float* c, int64_t ldc) {
  for (int i = 0; i < 16; ++i)
    _mm512_storeu_ps(c + i * ldc, _mm512_add_ps(_mm512_loadu_ps(c + i * ldc), _mm512_load_ps(t + 16 * i)));
}

}  // namespace

__attribute__((target("amx-tile,amx-bf16,avx512f"))) bool gemm_bf16_words_amx(const uint32_t* A, int64_t lda, int64_t M,
                                                                              const uint32_t* B, int64_t ldb, int64_t N,
                                                                              int64_t kw, bool accumulate, float* C,
                                                                              int64_t ldc) {
  if (M % 16 || N % 16 || kw % 16 || M <= 0 || N <= 0 || kw <= 0 || !amx_bf16_available()) return false;
  // Loaded on every call: oneDNN's AMX kernels load their own configuration on this thread.
  _tile_loadconfig(&tile_config());
  alignas(64) float t[4][256];
  const int64_t sa = lda * 4, sb = ldb * 4, sc = ldc * 4;
  for (int64_t i0 = 0; i0 < M; i0 += 32) {
    const bool two_i = M - i0 >= 32;
    for (int64_t j0 = 0; j0 < N; j0 += 32) {
      const bool two_j = N - j0 >= 32;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t k0 = 0; k0 < kw; k0 += 16) {
        _tile_loadd(4, A + i0 * lda + k0, sa);
        _tile_loadd(6, B + k0 * ldb + j0, sb);
        _tile_dpbf16ps(0, 4, 6);
        if (two_j) {
          _tile_loadd(7, B + k0 * ldb + j0 + 16, sb);
          _tile_dpbf16ps(1, 4, 7);
        }
        if (two_i) {
          _tile_loadd(5, A + (i0 + 16) * lda + k0, sa);
          _tile_dpbf16ps(2, 5, 6);
          if (two_j) _tile_dpbf16ps(3, 5, 7);
        }
      }
      float* c = C + i0 * ldc + j0;
      if (!accumulate) {
        _tile_stored(0, c, sc);
        if (two_j) _tile_stored(1, c + 16, sc);
        if (two_i) _tile_stored(2, c + 16 * ldc, sc);
        if (two_i && two_j) _tile_stored(3, c + 16 * ldc + 16, sc);
        continue;
      }
      _tile_stored(0, t[0], 64);
      add_block(t[0], c, ldc);
      if (two_j) {
        _tile_stored(1, t[1], 64);
        add_block(t[1], c + 16, ldc);
      }
      if (two_i) {
        _tile_stored(2, t[2], 64);
        add_block(t[2], c + 16 * ldc, ldc);
      }
      if (two_i && two_j) {
        _tile_stored(3, t[3], 64);
        add_block(t[3], c + 16 * ldc + 16, ldc);
      }
    }
  }
  return true;
}

}  // namespace nurture::core
