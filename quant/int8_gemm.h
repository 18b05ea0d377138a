// Integer GEMM for the real int8 inference path: per-token int8 activations × per-output-channel
// int8 weights, int32 accumulation, dequantized to fp32 (the paper's vector-wise W8A8:
// XWᵀ ≈ s_x ⊙ (X_q W_qᵀ) ⊙ s_w; Ahmadian et al. 2023 section 2, LLM.int8() eq. 2).
//
// The products run in oneDNN's int8 matmul (AVX512_VNNI brgemm kernels, VPDPBUSD: u8 × s8 → s32),
// written as int32 into the output buffer itself; one vectorized pass then dequantizes in place,
// a block of rows at a time (a block stays in L2 between the two). With several OpenMP threads the
// blocks run side by side, one thread each (oneDNN single-threaded inside that parallel region):
// one parallel region per GEMM instead of two thread wake-ups per block.
// (oneDNN 2.6 can fuse the scales as binary post-ops, but its brgemm kernels run those 4-5×
// slower than the GEMM itself at N ≥ 768 — measured with bench_int8 — and a {M, 1} per-row
// operand even drops it to the reference kernel; runtime output scales select gemm:jit.)
//
// Semantics: y[m, n] = fl(fl(acc[m, n] · s_w[n]) · s_x[m]) + b[n], with acc the exact int32 sum
// of the code products. The fake-quant forward computes the same value as an fp32 GEMM of
// dequantized operands (q · s), so the two differ only by fp32 rounding: the order of the
// fp32 summation there, and where the scales are applied (tests/quant/int8_gemm_test.cpp).
// acc is exact as long as it fits int32 (K ≤ 2^31 / (255·127) ≈ 66 000 with the +128 shift) and
// the kernel accumulates in int32, as VNNI does; oneDNN's pre-VNNI kernels use saturating int16
// pair sums, which tests/quant/int8_gemm_test.cpp (ExtremeCodesDoNotSaturate) would catch.
#pragma once

#include <cstdint>
#include <string>

namespace nurture::quant {

// How the activation codes are fed to VPDPBUSD, which multiplies unsigned by signed bytes:
//   s8s8: signed codes; oneDNN adds 128 inside and subtracts 128·Σ_k w[n, k] (exact, int32).
//   u8s8: the caller stores codes + 128 as uint8 and oneDNN's source zero point (128) removes it
//         again (also exact, int32).
// Both give identical results; bench/bench_int8.cpp measures which is faster.
enum class Int8Kernel { s8s8, u8s8 };
const char* name(Int8Kernel k);

// Per-token (per-row) symmetric int8 quantization of x [M, K], bit-identical to
// quant::compute_params + quant::quantize with QuantSpec{bits 8, symmetric, row, clip}, but fused
// into one pass per row, vectorized (AVX-512 when present) and parallel over rows: the reference
// is scalar and would cost more than the int8 GEMM it feeds. `scale` gets M values. With
// `shift128` the codes are stored as uint8 q + 128 (Int8Kernel::u8s8), else as int8 q.
// A row holding a NaN or infinity gets a NaN scale (its codes are unspecified), so int8_gemm
// turns it into a NaN output row, as the fake-quant forward does (quant::compute_params).
void quantize_rows_int8(const float* x, int64_t M, int64_t K, float clip, void* q, float* scale, bool shift128);

// y [M, N] (row stride N) = dequantized (x_q [M, K] · w_qᵀ) + bias; w_q is [N, K] int8 (torch
// layout), x_q is int8 (s8s8) or uint8 codes + 128 (u8s8); bias may be null. Primitives are
// cached per (kernel, rows of a block, N, K, thread count) in a small thread-local cache, so after
// warm-up a call creates nothing. Called from inside an OpenMP parallel region, it runs on the
// calling thread alone.
void int8_gemm(Int8Kernel kernel, int64_t M, int64_t N, int64_t K, const void* x_q, const float* x_scale,
               const int8_t* w_q, const float* w_scale, const float* bias, float* y);

// The raw integer product acc [M, N] = x_q · w_qᵀ in int32 (no scales), for tests and benchmarks.
void int8_gemm_s32(Int8Kernel kernel, int64_t M, int64_t N, int64_t K, const void* x_q, const int8_t* w_q,
                   int32_t* acc);

// Diagnostics (this thread): primitives created so far, and oneDNN's implementation name of the
// last call's primitive ("brg:avx512_core_vnni" is the fast one; "ref:any" the slow fallback).
int64_t int8_gemm_primitives_created();
std::string int8_gemm_last_impl();

}  // namespace nurture::quant
