// eval's packed attention runs core's per-head kernel (core/attention_head.h), so a sequence packed
// with others gets exactly the bits causal_attention gives it alone, under every precision
// policy; a continuation of a shared context gets the concatenated sequence's rows (to fp32
// rounding: its keys are a gathered copy).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/ops.h"
#include "core/rng.h"
#include "eval/packed_forward.h"
#include "precision/policy.h"

using namespace nurture;

namespace {

constexpr int64_t kC = 64, kH = 4;  // head_dim 16

// Random qkv rows for a sequence of n tokens, rounded to the policy's storage format as the qkv
// linear's output would be.
std::vector<float> random_qkv(int64_t n, uint64_t seed, const core::OpPrecision& prec) {
  core::SeqRng r(seed);
  std::vector<float> v(size_t(n * 3 * kC));
  for (auto& x : v) x = float(r.uniform() * 4.0 - 2.0);
  prec.act(v.data(), int64_t(v.size()));
  return v;
}

// causal_attention of one sequence alone: [n, C].
std::vector<float> dense(const std::vector<float>& qkv, int64_t n, bool alibi, const core::OpPrecision& prec) {
  core::Arena a, g;
  core::Ctx ctx(a, g, nullptr);
  ctx.prec = prec;
  core::Tensor t{const_cast<float*>(qkv.data()), nullptr, core::Shape{1, n, 3 * kC}};
  core::Tensor y = core::causal_attention(ctx, t, int(kH), alibi);
  return std::vector<float>(y.data, y.data + n * kC);
}

struct Case {
  std::string name;
  precision::PolicyConfig policy;
};

std::vector<Case> cases() {
  precision::PolicyConfig fp32, fp16, bf16;
  fp16.dtype = precision::Format::fp16;
  fp16.softmax_fp32 = false;             // the exponentials rounded too
  bf16.dtype = precision::Format::bf16;  // native tile products where the CPU has AVX512_BF16
  return {{"fp32", fp32}, {"fp16_half_softmax", fp16}, {"bf16", bf16}};
}

TEST(PackedAttention, EachSegmentGetsTheBitsOfItsSequenceAlone) {
  for (const Case& c : cases())
    for (bool alibi : {false, true}) {
      SCOPED_TRACE(c.name + (alibi ? " alibi" : ""));
      precision::MixedPrecision mp(c.policy);
      const core::OpPrecision prec = mp.op_precision(false);
      // Three roots of different lengths (one longer than a 32-row block, one a single token),
      // and a continuation of the first that spans two query blocks.
      const std::vector<int64_t> lens = {45, 1, 17};
      const int64_t cont = 40;
      std::vector<std::vector<float>> seq;
      for (size_t s = 0; s < lens.size(); ++s) seq.push_back(random_qkv(lens[s], 11 + s, prec));
      const std::vector<float> tail = random_qkv(cont, 99, prec);

      std::vector<float> packed;
      std::vector<eval::Segment> segments;
      for (size_t s = 0; s < lens.size(); ++s) {
        const int64_t begin = int64_t(packed.size()) / (3 * kC);
        packed.insert(packed.end(), seq[s].begin(), seq[s].end());
        segments.push_back({begin, begin + lens[s], -1});
      }
      const int64_t begin = int64_t(packed.size()) / (3 * kC);
      packed.insert(packed.end(), tail.begin(), tail.end());
      segments.push_back({begin, begin + cont, 0});

      core::Arena a, g;
      core::Ctx ctx(a, g, nullptr);
      ctx.prec = prec;
      const int64_t N = begin + cont;
      core::Tensor qkv{packed.data(), nullptr, core::Shape{1, N, 3 * kC}};
      const core::Tensor y = eval::segment_attention(ctx, qkv, segments, int(kH), alibi);

      for (size_t s = 0; s < lens.size(); ++s) {
        const std::vector<float> want = dense(seq[s], lens[s], alibi, prec);
        const float* got = y.data + segments[s].begin * kC;
        for (int64_t i = 0; i < lens[s] * kC; ++i) ASSERT_EQ(got[i], want[size_t(i)]) << "segment " << s << " at " << i;
      }
      // The continuation: rows of the parent followed by its own, attended as one sequence.
      std::vector<float> joined = seq[0];
      joined.insert(joined.end(), tail.begin(), tail.end());
      const std::vector<float> want = dense(joined, lens[0] + cont, alibi, prec);
      const float* got = y.data + begin * kC;
      for (int64_t i = 0; i < cont * kC; ++i) {
        const float w = want[size_t(lens[0] * kC + i)];
        // Its keys are gathered into a contiguous copy: the GEMMs may block them differently.
        ASSERT_NEAR(got[i], w, 1e-6f * (1.0f + std::abs(w))) << "continuation at " << i;
      }
    }
}

}  // namespace
