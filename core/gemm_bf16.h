// Native bf16 GEMM for the bf16 mixed-precision policy (precision/policy.h).
//
// Under the bf16 policy every GEMM operand already holds a bf16-representable value in an fp32
// slot (activations and activation gradients are stored rounded, weights are a rounded working
// copy). core::sgemm computes on those values correctly but at fp32 speed; this path converts
// the operands to real bf16 (exact: the low 16 bits are zero) and runs oneDNN's bf16 matmul
// (AVX512_BF16 brgemm kernels, about twice the fp32 FLOP rate), accumulating and writing fp32.
// bench/bench_gemm.cpp measures it against sgemm at the benchmark model's linear-layer shapes.
//
// Semantics: a bf16×bf16 product is exact in fp32 and accumulation is fp32, so the result is
// the fp32 GEMM of the same values up to summation order — what sgemm gives, with an error of
// the same fp32-accumulation size (tests/core/gemm_bf16_test.cpp checks this bound).
// One difference: the bf16 dot-product instruction (VDPBF16PS) treats subnormal inputs as zero
// and flushes subnormal products and sums to zero (DAZ/FTZ, whatever MXCSR says), where sgemm
// keeps gradual underflow. bf16 has fp32's exponent range, so this only touches magnitudes
// below 2^-126 ≈ 1.2e-38 (e.g. 1e-20·1e-20 gives 0 here, 1e-40 in sgemm).
#pragma once

#include <cstdint>
#include <string>

namespace nurture::core {

// True when oneDNN's effective ISA has AVX512_BF16 (avx512_core_bf16 or better), i.e. when
// gemm_bf16 runs on native bf16 kernels. Callers use sgemm otherwise: gemm_bf16 still gives
// correct results without it, but oneDNN may then pick an emulated or reference kernel.
bool bf16_gemm_available();

// Same row-major contract as core::sgemm: C = alpha·op(A)·op(B) + beta·C, with op(A) M×K and
// op(B) K×N; A is M×K (K×M if trans_a) with row stride lda, B likewise with ldb; C is M×N fp32
// with row stride ldc. With beta == 0, C is write-only (NaN garbage in it is not propagated).
//
// A and B must hold bf16-representable fp32 values. Any other value is TRUNCATED to bf16
// (its low 16 bits are dropped: rounding toward zero, and a NaN whose payload lives only in
// the low bits becomes ±inf). Debug builds (no NDEBUG) assert that no bits are dropped.
//
// Any alpha and beta work (alpha as oneDNN output scale, beta as a sum post-op); each distinct
// value gets its own primitive. Operands are converted into thread-local scratch that only
// grows, and oneDNN primitives are cached per (M, N, K, transposes, alpha, beta, ldc, thread
// count) in a small thread-local cache (creation costs ~0.2-0.5 ms), so after warm-up a call
// allocates nothing of its own (oneDNN's execute still builds a small argument map inside).
// Threads may call it concurrently (each has its own cache). Like sgemm, it parallelises with
// OpenMP internally: call it from outside parallel regions.
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// C = op(A)·op(B) + bias, with bias[N] fp32 added to every row inside oneDNN's epilogue (no
// separate pass over C). Per element this is fl(acc + bias[j]) — what gemm_bf16 followed by a
// `C[i][j] += bias[j]` pass gives, up to the summation order of acc (tests/core/gemm_bf16_test.cpp).
void gemm_bf16_bias(bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                    int64_t ldb, const float* bias, float* C, int64_t ldc);

// For callers that feed one operand to two GEMMs (a linear layer's backward uses dy for both dx
// and dW): convert it once with to_bf16_truncate into gemm_bf16_operand_scratch (this thread's A
// scratch, valid until the next gemm_bf16 / gemm_bf16_bias call on this thread; packed as
// stored, i.e. rows × cols of the stored matrix, row stride cols), then call
// gemm_bf16_converted_a once per GEMM. It converts only B, never touches the A scratch, and
// otherwise behaves exactly as gemm_bf16 with the same arguments.
uint16_t* gemm_bf16_operand_scratch(int64_t n);
void gemm_bf16_converted_a(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const uint16_t* A16, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Operands already in bf16 (a Tensor stored as words, Ctx::make_bf16): gemm_bf16_bias with A given
// as words packed as stored (M×K, row stride K), and gemm_bf16 with both A and B given so (packed
// as stored, row stride their stored row length). Otherwise they behave exactly as those calls.
void gemm_bf16_bias_converted_a(bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A16, const float* B,
                                int64_t ldb, const float* bias, float* C, int64_t ldc);
void gemm_bf16_converted_ab(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                            const uint16_t* A16, const uint16_t* B16, float beta, float* C, int64_t ldc);

// The conversion gemm_bf16 applies to its operands, exposed for benchmarks and for callers that
// keep bf16 copies: src is rows × cols with row stride ld, dst is rows × cols packed. Truncating
// (see above; asserted exact in debug builds), AVX-512 where present, OpenMP-parallel for large
// inputs.
void to_bf16_truncate(const float* src, int64_t rows, int64_t cols, int64_t ld, uint16_t* dst);

// Tile products too small for a oneDNN call (attention's S = Q·Kᵀ and dP = dY·Vᵀ, 32 query rows at
// a time against an inner dimension of head_dim): the same contract as gemm_bf16 (bf16 values,
// exact products, fp32 accumulation in a fixed order, subnormal products flushed), computed by an
// AVX512_BF16 micro-kernel. VDPBF16PS takes the inner dimension in pairs, so B is packed once into
// words (word p of a row holds elements 2p in its low half and 2p+1 in its high half, as bf16) and
// then shared by every tile that multiplies against it.
constexpr int64_t kNtTileMaxWords = 128;  // inner dimension ≤ 256

// Rows [0, n) of B, an n × 2·kw matrix with row stride ld, into dst[p·ldp + j] = word p of row j:
// the layout whose 16-lane slices the micro-kernel multiplies against a broadcast word of A.
void pack_bf16_pairs(const float* src, int64_t ld, int64_t n, int64_t kw, uint32_t* dst, int64_t ldp);

// C[r × n] (row stride n) = A[r × 2·kw] (row stride lda) · Bᵀ, B packed by pack_bf16_pairs with
// ldp ≥ n rounded up to 16 (the last 16-lane load stays inside). kw ≤ kNtTileMaxWords. The sum over
// the inner dimension runs in pair order. Needs a CPU with AVX512_BF16 (bf16_gemm_available()).
void gemm_bf16_nt_tile(const float* A, int64_t lda, int64_t r, const uint32_t* Bp, int64_t ldp, int64_t n, int64_t kw,
                       float* C);

// The other attention products (P·V, dS·K, Pᵀ·dY, dSᵀ·Q) have the key or query index as their inner
// dimension, so their operands are packed by rows instead: the same contract (bf16 values, exact
// products, fp32 accumulation in pair order, subnormal products flushed), on word operands that
// the two packers below build, and with any A layout, so a transposed A needs no transpose.

// dst[i·ldw + p] = word(src[i][2p], src[i][2p+1]) for rows i < rows, p < ⌈cols/2⌉ (row stride ld):
// a row's consecutive pairs, the A operand of gemm_bf16_words for an untransposed A. An odd last
// column is paired with a zero.
void pack_bf16_row_words(const float* src, int64_t ld, int64_t rows, int64_t cols, uint32_t* dst, int64_t ldw);

// dst[p·ldd + c] = word(src[2p][c], src[2p+1][c]) for p < ⌈rows/2⌉, c < cols: pairs of consecutive
// rows, the B operand of gemm_bf16_words (and, read with a_row = 1, a_word = ldd, a transposed A).
// An odd last row is paired with a zero row.
void pack_bf16_row_pairs(const float* src, int64_t ld, int64_t rows, int64_t cols, uint32_t* dst, int64_t ldd);

// The transposed A of Pᵀ·dY and dSᵀ·Q as row words (what the AMX kernel wants):
// dst[j·ldw + p] = word(src[2p][j], src[2p+1][j]) for j < cols, p < ⌈rows/2⌉; an odd last row is
// paired with a zero row.
void pack_bf16_row_pairs_t(const float* src, int64_t ld, int64_t rows, int64_t cols, uint32_t* dst, int64_t ldw);

// C[M × N] (row stride ldc) = A·B, or C += A·B when accumulate, where word p of row i of A is
// A[i·a_row + p·a_word] and word p of column j of B is B[p·ldb + j] (p < kw). The tile product is
// summed in fp32 from zero in pair order, then (accumulate) added to C: C + Σ. Any M, N and kw;
// reads no B column at or past N. Needs a CPU with AVX512_BF16 (bf16_gemm_available()).
void gemm_bf16_words(const uint32_t* A, int64_t a_row, int64_t a_word, int64_t M, const uint32_t* B, int64_t ldb,
                     int64_t N, int64_t kw, bool accumulate, float* C, int64_t ldc);

// The same product on AMX tiles (TDPBF16PS) when the CPU has AMX-BF16 and the kernel grants this
// process the tile state; false (nothing done) otherwise or when the shape does not fit the
// tiles: M, N and kw must be multiples of 16 and A row words (word p of row i at A[i·lda + p]).
// The contract is gemm_bf16_words's (tile product from zero, then added to C when accumulate);
// only the fp32 summation order is AMX's own.
bool gemm_bf16_words_amx(const uint32_t* A, int64_t lda, int64_t M, const uint32_t* B, int64_t ldb, int64_t N,
                         int64_t kw, bool accumulate, float* C, int64_t ldc);
bool amx_bf16_available();

// Diagnostics for tests and benchmarks (this thread): primitives created so far (cache misses),
// and oneDNN's implementation name of the last call's primitive ("brg:avx512_core_bf16" is the
// fast one; "ref:any" would be the slow reference fallback).
int64_t gemm_bf16_primitives_created();
std::string gemm_bf16_last_impl();

}  // namespace nurture::core
