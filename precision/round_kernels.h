// The vector paths behind round_inplace, exposed so tests and benchmarks can run each one.
// Every path gives the same bits as round_to, element by element.
#pragma once

#include <cstdint>

#include "precision/format.h"

namespace nurture::precision::kernels {

// avx2 also needs F16C; avx512 needs AVX512F; avx512_bf16 adds AVX512BW/VL/BF16 (bf16 only: it
// rounds with VCVTNEPS2BF16 where that gives the same bits; fp16 runs the avx512 path there).
enum class Isa { scalar, avx2, avx512, avx512_bf16 };

const char* name(Isa isa);
bool supported(Isa isa);  // run-time CPU check
Isa best();               // widest supported path; what round_inplace uses

// round_copy on a chosen path; isa must be supported(): there is no fallback here.
void round_copy(Isa isa, Format f, const float* src, float* dst, int64_t n,
                const RoundOptions& opts, RoundStats* stats);

}  // namespace nurture::precision::kernels
