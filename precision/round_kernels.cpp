// Each kernel is instantiated per (format, flush, stats) so the plain path carries no counting
// and no branches. The wide paths use target attributes and are chosen at run time, so this
// file builds at any baseline (the project's is x86-64-v3) and still uses AVX-512 where present.
//
// fp16 uses the hardware conversion (VCVTPS2PH with an explicit round-to-nearest-even
// immediate, so MXCSR.RC does not matter; it assumes MXCSR.FTZ/DAZ are clear), then replaces
// NaNs by the canonical quiet NaN because the hardware keeps the upper payload bits. bf16 uses
// the same integer carry trick as the scalar code; AVX512_BF16's VCVTNEPS2BF16 is not used
// because it flushes subnormals (see tests/precision/hardware_test.cpp).
#include "precision/round_kernels.h"

// GCC 12's AVX-512 headers trip false (maybe-)uninitialized warnings (_mm512_undefined_*;
// GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "precision/format_scalar.h"

#define NURTURE_TARGET_AVX2 __attribute__((target("avx2,f16c")))
#define NURTURE_TARGET_AVX512 __attribute__((target("avx512f,avx2,f16c")))

namespace nurture::precision {
namespace kernels {
namespace {

using namespace scalar;

struct Counts {
  int64_t underflow = 0, overflow = 0, subnormal = 0, nan = 0, inf = 0;
};

using Kernel = void (*)(const float* src, float* dst, int64_t n, Counts& c);

// ---- scalar ---------------------------------------------------------------------------------

template <Format F>
inline void count1(uint32_t u, uint32_t r, Counts& c) {
  const uint32_t a = u & kAbs, b = r & kAbs;
  const bool finite = a < kInf;
  c.nan += a > kInf;
  c.inf += a == kInf;
  c.underflow += finite && a != 0 && b == 0;
  c.overflow += finite && b == kInf;
  c.subnormal += b != 0 && b < min_normal_bits(F);
}

template <Format F, bool kFtz, bool kStats>
void run_scalar(const float* src, float* dst, int64_t n, Counts& c) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = std::bit_cast<uint32_t>(src[i]);
    uint32_t r = round_bits(F, u);
    if constexpr (kFtz) r = flush_if_subnormal(F, r);
    dst[i] = std::bit_cast<float>(r);
    if constexpr (kStats) count1<F>(u, r, c);
  }
}

// ---- AVX2 + F16C: 8 lanes, compares on |bits| so signed integer compares are enough ----------

template <Format F, bool kFtz>
NURTURE_TARGET_AVX2 inline __m256i round8(__m256i u) {
  const __m256i abs = _mm256_set1_epi32(int(kAbs));
  __m256i r = u;
  if constexpr (F == Format::bf16) {
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    r = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF)));
    r = _mm256_and_si256(r, _mm256_set1_epi32(int(0xFFFF0000u)));
  } else if constexpr (F == Format::fp16) {
    const __m128i h = _mm256_cvtps_ph(_mm256_castsi256_ps(u), _MM_FROUND_TO_NEAREST_INT);
    r = _mm256_castps_si256(_mm256_cvtph_ps(h));
  }
  if constexpr (F != Format::fp32) {
    const __m256i inf = _mm256_set1_epi32(int(kInf)), quiet = _mm256_set1_epi32(int(kQuietNan));
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs), inf);
    r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_andnot_si256(abs, u), quiet), nan);
  }
  if constexpr (kFtz) {
    const __m256i min_normal = _mm256_set1_epi32(int(min_normal_bits(F)));
    const __m256i tiny = _mm256_cmpgt_epi32(min_normal, _mm256_and_si256(r, abs));
    r = _mm256_andnot_si256(_mm256_and_si256(tiny, abs), r);
  }
  return r;
}

// Per-lane counters: a compare gives -1 in matching lanes, so subtracting it counts. Lanes are
// 32-bit; round_inplace hands a kernel at most 2^30 elements, so even their sum fits.
struct Lanes8 {
  __m256i underflow, overflow, subnormal, nan, inf;
};

template <Format F>
NURTURE_TARGET_AVX2 inline void count8(__m256i u, __m256i r, Lanes8& c) {
  const __m256i abs = _mm256_set1_epi32(int(kAbs)), inf = _mm256_set1_epi32(int(kInf));
  const __m256i zero = _mm256_setzero_si256();
  const __m256i a = _mm256_and_si256(u, abs), b = _mm256_and_si256(r, abs);
  const __m256i finite = _mm256_cmpgt_epi32(inf, a);
  const __m256i b_zero = _mm256_cmpeq_epi32(b, zero);
  const __m256i below = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(min_normal_bits(F))), b);
  c.nan = _mm256_sub_epi32(c.nan, _mm256_cmpgt_epi32(a, inf));
  c.inf = _mm256_sub_epi32(c.inf, _mm256_cmpeq_epi32(a, inf));
  const __m256i a_zero = _mm256_cmpeq_epi32(a, zero);
  const __m256i underflow = _mm256_andnot_si256(a_zero, _mm256_and_si256(finite, b_zero));
  c.underflow = _mm256_sub_epi32(c.underflow, underflow);
  c.overflow = _mm256_sub_epi32(c.overflow, _mm256_and_si256(finite, _mm256_cmpeq_epi32(b, inf)));
  c.subnormal = _mm256_sub_epi32(c.subnormal, _mm256_andnot_si256(b_zero, below));
}

NURTURE_TARGET_AVX2 inline int64_t sum8(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return uint32_t(_mm_cvtsi128_si32(s));
}

template <Format F, bool kFtz, bool kStats>
NURTURE_TARGET_AVX2 void run_avx2(const float* src, float* dst, int64_t n, Counts& c) {
  const __m256i zero = _mm256_setzero_si256();
  Lanes8 lanes{zero, zero, zero, zero, zero};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m256i r = round8<F, kFtz>(u);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), r);
    if constexpr (kStats) count8<F>(u, r, lanes);
  }
  if constexpr (kStats) {
    c.underflow += sum8(lanes.underflow);
    c.overflow += sum8(lanes.overflow);
    c.subnormal += sum8(lanes.subnormal);
    c.nan += sum8(lanes.nan);
    c.inf += sum8(lanes.inf);
  }
  run_scalar<F, kFtz, kStats>(src + i, dst + i, n - i, c);
}

// ---- AVX-512F: 16 lanes, mask registers, masked tail ----------------------------------------

template <Format F, bool kFtz>
NURTURE_TARGET_AVX512 inline __m512i round16(__m512i u) {
  const __m512i abs = _mm512_set1_epi32(int(kAbs));
  __m512i r = u;
  if constexpr (F == Format::bf16) {
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF)));
    r = _mm512_and_si512(r, _mm512_set1_epi32(int(0xFFFF0000u)));
  } else if constexpr (F == Format::fp16) {
    const __m256i h = _mm512_cvtps_ph(_mm512_castsi512_ps(u), _MM_FROUND_TO_NEAREST_INT);
    r = _mm512_castps_si512(_mm512_cvtph_ps(h));
  }
  if constexpr (F != Format::fp32) {
    const __m512i inf = _mm512_set1_epi32(int(kInf)), quiet = _mm512_set1_epi32(int(kQuietNan));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs), inf);
    r = _mm512_mask_or_epi32(r, nan, _mm512_andnot_si512(abs, u), quiet);
  }
  if constexpr (kFtz) {
    const __m512i min_normal = _mm512_set1_epi32(int(min_normal_bits(F)));
    const __mmask16 tiny = _mm512_cmplt_epu32_mask(_mm512_and_si512(r, abs), min_normal);
    r = _mm512_mask_andnot_epi32(r, tiny, abs, r);
  }
  return r;
}

struct Lanes16 {
  __m512i underflow, overflow, subnormal, nan, inf;
};

NURTURE_TARGET_AVX512 inline __m512i bump(__m512i acc, __mmask16 m) {
  return _mm512_mask_sub_epi32(acc, m, acc, _mm512_set1_epi32(-1));
}

template <Format F>
NURTURE_TARGET_AVX512 inline void count16(__m512i u, __m512i r, __mmask16 live, Lanes16& c) {
  const __m512i abs = _mm512_set1_epi32(int(kAbs)), inf = _mm512_set1_epi32(int(kInf));
  const __m512i zero = _mm512_setzero_si512();
  const __m512i a = _mm512_and_si512(u, abs), b = _mm512_and_si512(r, abs);
  const __mmask16 finite = _mm512_mask_cmplt_epu32_mask(live, a, inf);
  const __mmask16 b_nonzero = _mm512_mask_cmpneq_epu32_mask(live, b, zero);
  const __m512i mn = _mm512_set1_epi32(int(min_normal_bits(F)));
  c.nan = bump(c.nan, _mm512_mask_cmpgt_epu32_mask(live, a, inf));
  c.inf = bump(c.inf, _mm512_mask_cmpeq_epu32_mask(live, a, inf));
  c.underflow = bump(c.underflow, finite & ~b_nonzero & _mm512_cmpneq_epu32_mask(a, zero));
  c.overflow = bump(c.overflow, _mm512_mask_cmpeq_epu32_mask(finite, b, inf));
  c.subnormal = bump(c.subnormal, _mm512_mask_cmplt_epu32_mask(b_nonzero, b, mn));
}

// |x| (as bits) below which rounding to F cannot overflow: a power of two under F's largest value.
constexpr uint32_t safe_below_bits(Format f) {
  switch (f) {
    case Format::bf16: return 0x7F000000u;  // 2^127
    case Format::fp16: return 0x47000000u;  // 2^15
    case Format::fp32: break;
  }
  return kInf;
}

// Lanes whose value can count as something: nonzero and outside [min normal of F, safe_below).
// Every other lane rounds to a normal finite value (or is ±0) and adds nothing to any counter, so
// count16 is only needed when this is nonzero. In training data that is rare, so the counting
// kernels, which run over every activation and gradient, mostly skip their ~14 counting
// instructions per 16 lanes for 4. The counts are the same (tests/precision/exhaustive_test.cpp).
template <Format F>
NURTURE_TARGET_AVX512 inline __mmask16 countable16(__m512i u) {
  const __m512i a = _mm512_and_si512(u, _mm512_set1_epi32(int(kAbs)));
  const __m512i lo = _mm512_set1_epi32(int(min_normal_bits(F)));
  const __m512i span = _mm512_set1_epi32(int(safe_below_bits(F) - min_normal_bits(F)));
  return _mm512_mask_cmpge_epu32_mask(_mm512_test_epi32_mask(a, a), _mm512_sub_epi32(a, lo), span);
}

// The last n − i < 16 elements with masked loads and stores, then the lane counters into c: the
// end of every AVX-512 kernel.
template <Format F, bool kFtz, bool kStats>
NURTURE_TARGET_AVX512 inline void finish16(const float* src, float* dst, int64_t i, int64_t n, Lanes16& lanes,
                                           Counts& c) {
  if (i < n) {
    const __mmask16 live = __mmask16((1u << (n - i)) - 1);
    const __m512i u = _mm512_maskz_loadu_epi32(live, src + i);
    const __m512i r = round16<F, kFtz>(u);
    _mm512_mask_storeu_epi32(dst + i, live, r);
    if constexpr (kStats) count16<F>(u, r, live, lanes);
  }
  if constexpr (kStats) {
    c.underflow += uint32_t(_mm512_reduce_add_epi32(lanes.underflow));
    c.overflow += uint32_t(_mm512_reduce_add_epi32(lanes.overflow));
    c.subnormal += uint32_t(_mm512_reduce_add_epi32(lanes.subnormal));
    c.nan += uint32_t(_mm512_reduce_add_epi32(lanes.nan));
    c.inf += uint32_t(_mm512_reduce_add_epi32(lanes.inf));
  }
}

template <Format F, bool kFtz, bool kStats>
NURTURE_TARGET_AVX512 void run_avx512(const float* src, float* dst, int64_t n, Counts& c) {
  const __m512i zero = _mm512_setzero_si512();
  Lanes16 lanes{zero, zero, zero, zero, zero};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i u = _mm512_loadu_si512(src + i);
    const __m512i r = round16<F, kFtz>(u);
    _mm512_storeu_si512(dst + i, r);
    if constexpr (kStats)
      if (countable16<F>(u)) count16<F>(u, r, 0xFFFF, lanes);
  }
  finish16<F, kFtz, kStats>(src, dst, i, n, lanes, c);
}

// ---- AVX512_BF16: the hardware conversion for the common lanes --------------------------------

#define NURTURE_TARGET_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,f16c")))

// VCVTNEPS2BF16 rounds to nearest even like round16, in 3 instructions instead of 5 (with the
// NaN fix-up 8), but treats subnormal inputs as zero and keeps NaN payloads. Both cases, and every
// lane that could overflow, are countable16 lanes, so a vector with none of them takes the
// conversion and any other goes through round16 and count16: the same bits and counts as
// run_avx512 (tests/precision/exhaustive_test.cpp). fp16 has nothing to gain here.
template <bool kFtz, bool kStats>
NURTURE_TARGET_AVX512BF16 void run_avx512_bf16(const float* src, float* dst, int64_t n, Counts& c) {
  constexpr Format F = Format::bf16;
  const __m512i zero = _mm512_setzero_si512();
  Lanes16 lanes{zero, zero, zero, zero, zero};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i u = _mm512_loadu_si512(src + i);
    __m512i r;
    if (countable16<F>(u)) [[unlikely]] {
      r = round16<F, kFtz>(u);
      if constexpr (kStats) count16<F>(u, r, 0xFFFF, lanes);
    } else {
      const __m256bh h = _mm512_cvtneps_pbh(_mm512_castsi512_ps(u));
      r = _mm512_slli_epi32(_mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(h)), 16);
    }
    _mm512_storeu_si512(dst + i, r);
  }
  finish16<F, kFtz, kStats>(src, dst, i, n, lanes, c);
}

// ---- selection ------------------------------------------------------------------------------

template <Format F, bool kFtz, bool kStats>
Kernel for_isa(Isa isa) {
  switch (isa) {
    case Isa::avx512_bf16:
      if constexpr (F == Format::bf16) return run_avx512_bf16<kFtz, kStats>;
      return run_avx512<F, kFtz, kStats>;
    case Isa::avx512: return run_avx512<F, kFtz, kStats>;
    case Isa::avx2: return run_avx2<F, kFtz, kStats>;
    case Isa::scalar: break;
  }
  return run_scalar<F, kFtz, kStats>;
}

template <Format F>
Kernel for_format(Isa isa, bool ftz, bool stats) {
  if (ftz) return stats ? for_isa<F, true, true>(isa) : for_isa<F, true, false>(isa);
  return stats ? for_isa<F, false, true>(isa) : for_isa<F, false, false>(isa);
}

Kernel select(Isa isa, Format f, bool ftz, bool stats) {
  switch (f) {
    case Format::bf16: return for_format<Format::bf16>(isa, ftz, stats);
    case Format::fp16: return for_format<Format::fp16>(isa, ftz, stats);
    case Format::fp32: break;
  }
  return for_format<Format::fp32>(isa, ftz, stats);
}

}  // namespace

const char* name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512_bf16: return "avx512_bf16";
  }
  return "?";
}

bool supported(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    case Isa::avx512: return __builtin_cpu_supports("avx512f") && supported(Isa::avx2);
    case Isa::avx512_bf16:
      return supported(Isa::avx512) && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bf16");
  }
  return false;
}

Isa best() {
  static const Isa isa = supported(Isa::avx512_bf16) ? Isa::avx512_bf16
                         : supported(Isa::avx512)    ? Isa::avx512
                         : supported(Isa::avx2)      ? Isa::avx2
                                                     : Isa::scalar;
  return isa;
}

void round_copy(Isa isa, Format f, const float* src, float* dst, int64_t n, const RoundOptions& opts,
                RoundStats* stats) {
  if (f == Format::fp32 && !opts.flush_subnormals && !stats) {
    if (src != dst && n > 0) std::memmove(dst, src, size_t(n) * sizeof(float));
    return;
  }
  Counts c;
  const Kernel kernel = select(isa, f, opts.flush_subnormals, stats != nullptr);
  constexpr int64_t kMaxCall = int64_t(1) << 30;
  for (int64_t i = 0; i < n; i += kMaxCall) kernel(src + i, dst + i, std::min(kMaxCall, n - i), c);
  if (stats) *stats += RoundStats{n, c.underflow, c.overflow, c.subnormal, c.nan, c.inf};
}

}  // namespace kernels

void round_inplace(Format f, float* p, int64_t n, const RoundOptions& opts, RoundStats* stats) {
  kernels::round_copy(kernels::best(), f, p, p, n, opts, stats);
}

void round_copy(Format f, const float* src, float* dst, int64_t n, const RoundOptions& opts, RoundStats* stats) {
  kernels::round_copy(kernels::best(), f, src, dst, n, opts, stats);
}

}  // namespace nurture::precision
