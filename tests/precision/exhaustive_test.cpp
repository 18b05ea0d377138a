// Every fp32 bit pattern, both formats, against the integer reference in reference.h: the
// scalar conversion function and every run-time vector path, plain, counting and flushing.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "precision/format.h"
#include "precision/round_kernels.h"
#include "tests/precision/exhaustive.h"
#include "tests/precision/print.h"
#include "tests/precision/reference.h"

namespace nurture::precision {
namespace {

// round_inplace's own path (kernels::best()) sees every pattern in every variant. The other
// paths see every 64th block plus the blocks where a counter's range starts or ends (zero,
// subnormal, overflow and inf/NaN boundaries): the scalar kernel is slow, and shares its
// per-element code with the scalar conversion functions, which do see every pattern.
constexpr int64_t kSampleStride = 64;

struct Variant {
  kernels::Isa isa;
  bool stats, ftz;
  std::string label() const {
    return std::string(kernels::name(isa)) + (stats ? "+stats" : "") + (ftz ? "+ftz" : "");
  }
};

std::vector<Variant> variants() {
  std::vector<Variant> v;
  for (auto isa : {kernels::Isa::avx512_bf16, kernels::Isa::avx512, kernels::Isa::avx2, kernels::Isa::scalar}) {
    if (!kernels::supported(isa)) continue;
    for (bool stats : {false, true}) {
      for (bool ftz : {false, true}) v.push_back({isa, stats, ftz});
    }
  }
  return v;
}

// Counters the kernels should report, from ranges of the reference rather than per-element
// classification: the reference is monotonic in |x|, so each counter covers one interval of
// positive patterns (mirrored for negative ones), found once by bisection.
template <class F>
class ExpectedStats {
 public:
  ExpectedStats()
      : zero_max_(last_where([](uint32_t h) { return h == 0; })),
        sub_max_(last_where([](uint32_t h) { return h < (1u << F::man_bits); })),
        inf_min_(last_where([](uint32_t h) { return h < F::inf; }) + 1) {}

  // Patterns [lo, lo + n) never straddle the sign bit (blocks divide 2^31).
  RoundStats block(uint32_t lo, int64_t n, bool ftz) const {
    const int64_t a = lo & 0x7FFFFFFFu, b = a + n - 1;
    auto overlap = [&](int64_t x, int64_t y) {
      return std::max<int64_t>(0, std::min(y, b) - std::max(x, a) + 1);
    };
    RoundStats s;
    s.elements = n;
    s.nan = overlap(0x7F800001, 0x7FFFFFFF);
    s.inf = overlap(0x7F800000, 0x7F800000);
    s.overflow = overlap(inf_min_, 0x7F7FFFFF);
    s.underflow = overlap(1, ftz ? sub_max_ : zero_max_);
    s.subnormal = ftz ? 0 : overlap(zero_max_ + 1, sub_max_);
    return s;
  }

  // Blocks holding a pattern on either side of a boundary between counters, for either sign.
  std::set<int64_t> boundary_blocks() const {
    std::set<int64_t> blocks;
    for (int64_t edge : {int64_t(0), zero_max_, sub_max_, inf_min_ - 1, int64_t(0x7F7FFFFF),
                         int64_t(0x7F800000)}) {
      for (int64_t u : {edge, edge + 1}) {
        blocks.insert(u / kBlock);
        blocks.insert((u | 0x80000000) / kBlock);
      }
    }
    return blocks;
  }

 private:
  // Largest positive finite pattern whose reference encoding satisfies pred (true up to it).
  template <class Pred>
  static int64_t last_where(Pred pred) {
    int64_t lo = 0, hi = 0x7F7FFFFF;  // pred(lo) holds
    while (lo < hi) {
      const int64_t mid = (lo + hi + 1) / 2;
      if (pred(ref::encode<F>(uint32_t(mid)))) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  int64_t zero_max_, sub_max_, inf_min_;
};

// One thread's share: results plus its scratch buffers (merge ignores those).
struct Sweep {
  Mismatch fn;
  std::vector<Mismatch> kernel;
  std::vector<RoundStats> got, want;
  std::vector<uint16_t> ref;
  std::vector<uint32_t> want_bits, want_ftz_bits, buf;

  explicit Sweep(size_t variants)
      : kernel(variants), got(variants), want(variants), ref(kBlock), want_bits(kBlock),
        want_ftz_bits(kBlock), buf(kBlock) {}
  void merge(const Sweep& o) {
    fn.merge(o.fn);
    for (size_t k = 0; k < kernel.size(); ++k) {
      kernel[k].merge(o.kernel[k]);
      got[k] += o.got[k];
      want[k] += o.want[k];
    }
  }
};

template <class F>
void exhaustive(Format f, uint16_t (*to_bits)(float)) {
  const std::vector<Variant> vs = variants();
  const std::vector<uint32_t> decoded = decode_table<F>();
  const ExpectedStats<F> expected;
  const std::set<int64_t> boundaries = expected.boundary_blocks();

  auto check = [&](Sweep& s, int64_t b, const uint32_t* in, int64_t n) {
    encode_block<F>(in, s.ref.data(), n);
    for (int64_t i = 0; i < n; ++i) s.want_bits[i] = decoded[s.ref[i]];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t h = s.ref[i];  // flushing keeps just the sign, i.e. ±0 when widened
      s.want_ftz_bits[i] = ref::flush<F>(h) != h ? (h >> F::sign_shift) << 31 : s.want_bits[i];
    }
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t g = to_bits(std::bit_cast<float>(in[i]));
      if (g != s.ref[i]) s.fn.note(in[i], g, s.ref[i]);
    }
    const bool sampled = b % kSampleStride == 0 || boundaries.count(b);
    for (size_t k = 0; k < vs.size(); ++k) {
      const Variant& v = vs[k];
      if (v.isa != kernels::best() && !sampled) continue;
      kernels::round_copy(v.isa, f, reinterpret_cast<const float*>(in),
                          reinterpret_cast<float*>(s.buf.data()), n, {.flush_subnormals = v.ftz},
                          v.stats ? &s.got[k] : nullptr);
      compare(in, s.buf.data(), (v.ftz ? s.want_ftz_bits : s.want_bits).data(), n, s.kernel[k]);
      if (v.stats) s.want[k] += expected.block(in[0], n, v.ftz);
    }
  };
  const Sweep total = for_all_fp32_blocks(Sweep(vs.size()), check);

  const std::string fn_name = std::string("fp32_to_") + name(f) + "_bits";
  EXPECT_EQ(total.fn.count, 0) << describe(fn_name, total.fn);
  for (size_t k = 0; k < vs.size(); ++k) {
    EXPECT_EQ(total.kernel[k].count, 0) << describe(vs[k].label(), total.kernel[k]);
    EXPECT_EQ(total.got[k], total.want[k]) << vs[k].label();
  }
}

TEST(precision_exhaustive, bf16) { exhaustive<ref::Bf16>(Format::bf16, fp32_to_bf16_bits); }
TEST(precision_exhaustive, fp16) { exhaustive<ref::Fp16>(Format::fp16, fp32_to_fp16_bits); }

// Widening is checked on all 2^16 patterns, NaN payloads included (widening keeps them).
template <class F>
void all_decodes(float (*from_bits)(uint16_t)) {
  const std::vector<uint32_t> want = decode_table<F>();
  for (uint32_t h = 0; h < 65536; ++h) {
    ASSERT_EQ(std::bit_cast<uint32_t>(from_bits(uint16_t(h))), want[h]) << std::hex << "0x" << h;
  }
}

TEST(precision_exhaustive, bf16_decode) { all_decodes<ref::Bf16>(bf16_bits_to_fp32); }
TEST(precision_exhaustive, fp16_decode) { all_decodes<ref::Fp16>(fp16_bits_to_fp32); }

}  // namespace
}  // namespace nurture::precision
