#include "quant/int8_gemm.h"

#include <immintrin.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "core/dnnl_support.h"

namespace nurture::quant {

const char* name(Int8Kernel k) {
  switch (k) {
    case Int8Kernel::s8s8: return "s8s8";
    case Int8Kernel::u8s8: return "u8s8";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Per-token quantization. Both paths compute the reference's float operations in the same order:
// amax = clip · max|x|, scale = amax > 0 ? amax / 127 : 1, q = clamp(rne(x / scale), -127, 127).
// Division (not multiplication by 1/scale) and round-half-even keep the codes bit-identical.

namespace {

constexpr int64_t kParallelRows = int64_t{1} << 14;  // elements below which one thread quantizes

// As quant::compute_params: a row holding a NaN or infinity gets a NaN scale, so it
// dequantizes to NaN whatever its codes are.
float row_scale(float amax, float clip, bool nonfinite) {
  if (nonfinite) return std::numeric_limits<float>::quiet_NaN();
  const float a = clip * amax;
  return a > 0.0f ? a / 127.0f : 1.0f;
}

void quantize_rows_scalar(const float* x, int64_t M, int64_t K, float clip, void* q, float* scale, bool shift) {
#pragma omp parallel for schedule(static) if (M * K >= kParallelRows)
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * K;
    float amax = 0.0f;
    bool nonfinite = false;
    for (int64_t k = 0; k < K; ++k) {
      amax = std::max(amax, std::fabs(xr[k]));
      nonfinite |= !std::isfinite(xr[k]);
    }
    const float s = row_scale(amax, clip, nonfinite);
    scale[m] = s;
    int8_t* qr = static_cast<int8_t*>(q) + m * K;
    for (int64_t k = 0; k < K; ++k) {
      const float r = std::clamp(std::nearbyint(xr[k] / s), -127.0f, 127.0f);
      const int v = std::isnan(r) ? 0 : static_cast<int>(r);
      qr[k] = static_cast<int8_t>(shift ? v ^ 0x80 : v);  // v + 128 as a byte == v with its top bit flipped
    }
  }
}

// GCC 12 reports the unmasked AVX-512 intrinsics' internal _mm512_undefined_*() operands as
// "may be used uninitialized" (a false positive inside <avx512fintrin.h>).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// 16 codes: clamp(rne(v / s), -127, 127) as bytes, top bits flipped when `flip` is 0x80.
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m128i codes16(__m512 v, __m512 vs, __m512 lo, __m512 hi,
                                                                            __m128i flip) {
  v = _mm512_roundscale_ps(_mm512_div_ps(v, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
  return _mm_xor_si128(_mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v)), flip);
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void quantize_rows_avx512(const float* x, int64_t M, int64_t K,
                                                                               float clip, void* q, float* scale,
                                                                               bool shift) {
#pragma omp parallel for schedule(static) if (M * K >= kParallelRows)
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * K;
    // max_ps may drop a NaN (it returns its second operand), so non-finite lanes (|x| not < inf,
    // NaN included) are flagged apart.
    const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
    __m512 vmax = _mm512_setzero_ps();
    __mmask16 bad = 0;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
      const __m512 a = _mm512_abs_ps(_mm512_loadu_ps(xr + k));
      vmax = _mm512_max_ps(vmax, a);
      bad |= _mm512_cmp_ps_mask(a, inf, _CMP_NLT_UQ);
    }
    if (k < K) {
      const __mmask16 mk = static_cast<__mmask16>((1u << (K - k)) - 1u);
      const __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(mk, xr + k));
      vmax = _mm512_max_ps(vmax, a);
      bad |= _mm512_cmp_ps_mask(a, inf, _CMP_NLT_UQ);
    }
    const float s = row_scale(_mm512_reduce_max_ps(vmax), clip, bad != 0);
    scale[m] = s;
    const __m512 vs = _mm512_set1_ps(s), lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    const __m128i flip = _mm_set1_epi8(shift ? static_cast<char>(0x80) : 0);
    int8_t* qr = static_cast<int8_t*>(q) + m * K;
    for (k = 0; k + 16 <= K; k += 16)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qr + k), codes16(_mm512_loadu_ps(xr + k), vs, lo, hi, flip));
    if (k < K) {
      const __mmask16 mk = static_cast<__mmask16>((1u << (K - k)) - 1u);
      _mm_mask_storeu_epi8(qr + k, mk, codes16(_mm512_maskz_loadu_ps(mk, xr + k), vs, lo, hi, flip));
    }
  }
}

#pragma GCC diagnostic pop

bool have_avx512bw() {
  static const bool ok =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return ok;
}

}  // namespace

void quantize_rows_int8(const float* x, int64_t M, int64_t K, float clip, void* q, float* scale, bool shift128) {
  if (have_avx512bw())
    quantize_rows_avx512(x, M, K, clip, q, scale, shift128);
  else
    quantize_rows_scalar(x, M, K, clip, q, scale, shift128);
}

// ---------------------------------------------------------------------------------------------
// oneDNN matmul, primitives cached per thread (core::PrimitiveCache, as in core/gemm_bf16.cpp).

namespace {

using Scratch = core::AlignedScratch;
dnnl::engine& engine() { return core::dnnl_cpu_engine(); }

struct Key {
  Int8Kernel kernel;
  int64_t M, N, K;
  int threads;
  bool operator==(const Key&) const = default;
};

struct Entry {
  Key key;
  dnnl::matmul prim;
  dnnl::memory src, wei, dst, zp, scratchpad;
  size_t scratchpad_bytes = 0;
  std::string impl;
};

constexpr int64_t kBlockBytes = int64_t{256} << 10;  // int32 output block dequantized while in L2
constexpr int64_t kMinBlockRows = 256;               // but never fewer rows (see int8_gemm)

struct ThreadState {
  core::PrimitiveCache<Key, Entry> cache;
  Entry* last = nullptr;
  Scratch pad;
  dnnl::stream stream{engine()};
};

ThreadState& state() {
  thread_local ThreadState st;
  return st;
}

std::unique_ptr<Entry> make_entry(const Key& k) {
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::desc src_md({k.M, k.K}, k.kernel == Int8Kernel::u8s8 ? dt::u8 : dt::s8, tag::ab);
  const dnnl::memory::desc wei_md({k.K, k.N}, dt::s8, dims{1, k.K});  // [N, K] storage read as K×N
  const dnnl::memory::desc dst_md({k.M, k.N}, dt::s32, tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (k.kernel == Int8Kernel::u8s8) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, wei_md, dst_md), attr, engine());
  auto e = std::make_unique<Entry>();
  e->key = k;
  e->prim = dnnl::matmul(pd);
  e->src = dnnl::memory(src_md, engine(), DNNL_MEMORY_NONE);
  e->wei = dnnl::memory(wei_md, engine(), DNNL_MEMORY_NONE);
  e->dst = dnnl::memory(dst_md, engine(), DNNL_MEMORY_NONE);
  e->zp = dnnl::memory({{1}, dt::s32, tag::a}, engine(), DNNL_MEMORY_NONE);
  e->scratchpad = dnnl::memory(pd.scratchpad_desc(), engine(), DNNL_MEMORY_NONE);
  e->scratchpad_bytes = pd.scratchpad_desc().get_size();
  e->impl = pd.impl_info_str();
  return e;
}

// acc [M, N] = x_q · w_qᵀ, int32.
void run(const Key& key, const void* x_q, const int8_t* w_q, int32_t* acc) {
  ThreadState& st = state();
  Entry& e = st.cache.get(key, make_entry);
  st.last = &e;
  static int32_t zero_point = 128;  // read-only for oneDNN
  e.src.set_data_handle(const_cast<void*>(x_q));
  e.wei.set_data_handle(const_cast<int8_t*>(w_q));
  e.dst.set_data_handle(acc);
  e.scratchpad.set_data_handle(st.pad.get(e.scratchpad_bytes));
  // The C API takes a plain argument array (the C++ one wants an unordered_map per call).
  dnnl_exec_arg_t args[5];
  int n = 0;
  args[n++] = {DNNL_ARG_SRC, e.src.get()};
  args[n++] = {DNNL_ARG_WEIGHTS, e.wei.get()};
  args[n++] = {DNNL_ARG_DST, e.dst.get()};
  args[n++] = {DNNL_ARG_SCRATCHPAD, e.scratchpad.get()};
  if (key.kernel == Int8Kernel::u8s8) {
    e.zp.set_data_handle(&zero_point);
    args[n++] = {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, e.zp.get()};
  }
  dnnl::error::wrap_c_api(dnnl_primitive_execute(e.prim.get(), st.stream.get(), n, args),
                          "int8_gemm: matmul execution failed");
  dnnl::error::wrap_c_api(dnnl_stream_wait(st.stream.get()), "int8_gemm: stream wait failed");
}

// In place over y: y[m, n] = fl(fl(acc[m, n] · s_w[n]) · s_x[m]) + b[n], acc read from the same
// memory as int32.
void dequantize_scalar(float* y, int64_t M, int64_t N, const float* sx, const float* sw, const float* bias) {
#pragma omp parallel for schedule(static) if (M * N >= kParallelRows)
  for (int64_t m = 0; m < M; ++m) {
    float* row = y + m * N;
    for (int64_t n = 0; n < N; ++n) {
      int32_t a;
      std::memcpy(&a, row + n, 4);
      const float v = float(a) * sw[n] * sx[m];
      row[n] = bias ? v + bias[n] : v;
    }
  }
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // as for quantize_rows_avx512
__attribute__((target("avx512f"))) void dequantize_avx512(float* y, int64_t M, int64_t N, const float* sx,
                                                          const float* sw, const float* bias) {
#pragma omp parallel for schedule(static) if (M * N >= kParallelRows)
  for (int64_t m = 0; m < M; ++m) {
    float* row = y + m * N;
    const __m512 vx = _mm512_set1_ps(sx[m]);
    for (int64_t n = 0; n < N; n += 16) {
      const __mmask16 mk = N - n >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (N - n)) - 1u);
      const __m512 a = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mk, row + n));
      __m512 v = _mm512_mul_ps(_mm512_mul_ps(a, _mm512_maskz_loadu_ps(mk, sw + n)), vx);
      if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, bias + n));
      _mm512_mask_storeu_ps(row + n, mk, v);
    }
  }
}
#pragma GCC diagnostic pop

}  // namespace

void int8_gemm(Int8Kernel kernel, int64_t M, int64_t N, int64_t K, const void* x_q, const float* x_scale,
               const int8_t* w_q, const float* w_scale, const float* bias, float* y) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // empty sum: only the bias remains
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) y[m * N + n] = bias ? bias[n] : 0.0f;
    return;
  }
  // The int32 sums go into y itself (same size), then are dequantized in place, one block of
  // rows at a time so that the block is still in L2 when the dequantization reads it back
  // (bench_int8, 1 thread: fc at M=4096 took 6.5 ms unblocked, 3.3 ms in 256 KiB blocks, 2.7 ms
  // for the int32 GEMM alone).
  // Each call also repacks the weights (oneDNN's copy_B), so a block has at least kMinBlockRows
  // rows to keep that copy small next to the products.
  const int64_t rows = std::max<int64_t>(kMinBlockRows, kBlockBytes / 4 / N);
  const int64_t blocks = (M + rows - 1) / rows;
  auto block = [&](int64_t b, int threads) {
    const int64_t m0 = b * rows, mc = std::min(rows, M - m0);
    const void* xq = static_cast<const int8_t*>(x_q) + m0 * K;
    float* yc = y + m0 * N;
    run(Key{kernel, mc, N, K, threads}, xq, w_q, reinterpret_cast<int32_t*>(yc));
    if (have_avx512bw())
      dequantize_avx512(yc, mc, N, x_scale + m0, w_scale, bias);
    else
      dequantize_scalar(yc, mc, N, x_scale + m0, w_scale, bias);
  };
  const int nthr = omp_get_max_threads();
  if (nthr > 1 && blocks > 1 && !omp_in_parallel()) {
    // Blocks side by side, one thread each: oneDNN runs a primitive single-threaded inside a
    // parallel region (its primitives here are created there, for one thread), and the
    // dequantization's own parallel loop becomes serial. One parallel region per GEMM instead of
    // two per block: with 2 threads the per-block regions cost more than they saved (bench_int8:
    // the int8 GEMMs were slower on 2 threads than on 1).
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; ++b) block(b, 1);
  } else {
    for (int64_t b = 0; b < blocks; ++b) block(b, omp_in_parallel() ? 1 : nthr);
  }
}

void int8_gemm_s32(Int8Kernel kernel, int64_t M, int64_t N, int64_t K, const void* x_q, const int8_t* w_q,
                   int32_t* acc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    std::fill(acc, acc + M * N, 0);
    return;
  }
  run(Key{kernel, M, N, K, omp_get_max_threads()}, x_q, w_q, acc);
}

int64_t int8_gemm_primitives_created() { return state().cache.created(); }

std::string int8_gemm_last_impl() {
  const ThreadState& st = state();
  return st.last ? st.last->impl : std::string();
}

}  // namespace nurture::quant
