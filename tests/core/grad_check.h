// Central finite-difference check of an op's backward.
//
// L = Σ out ⊙ R for a fixed random R, so dL/dout = R. Forward runs in fp32, so a numeric
// derivative carries rounding error ≈ ulp(L)/eps: with |L| ~ 10, eps = 1e-2 that is ~1e-4,
// and the truncation error O(eps²·f''') is of the same order. Hence the tolerance
// |num − ana| ≤ atol + rtol·|ana| with atol = 2e-3, rtol = 1e-2 used by the tests, which is
// still orders of magnitude below the error of any real backward bug (wrong sign, missing term,
// wrong index: all O(1) relative).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace nurture::test {

inline void fill_normal(core::Buffer& b, uint64_t seed, double std = 1.0) {
  core::SeqRng rng(seed);
  for (int64_t i = 0; i < b.numel(); ++i) b.data()[i] = static_cast<float>(rng.normal() * std);
}

struct GradCheckOptions {
  double eps = 1e-2, atol = 2e-3, rtol = 1e-2;
  int samples_per_input = 48;  // random elements checked per input (all if fewer)
};

// `fwd` builds the op's output from the inputs (it is called with and without a tape).
inline void check_gradients(const std::function<core::Tensor(core::Ctx&)>& fwd,
                            std::vector<std::pair<std::string, core::Buffer*>> inputs,
                            GradCheckOptions opt = {}) {
  core::Arena acts, grads;
  core::Tape tape;
  // Analytic.
  for (auto& [n, b] : inputs) std::fill(b->grad(), b->grad() + b->numel(), 0.0f);
  core::Ctx ctx(acts, grads, &tape);
  ctx.training = true;
  core::Tensor out = fwd(ctx);
  ASSERT_TRUE(out.tracked());
  core::Buffer R(out.shape);
  fill_normal(R, 999);
  for (int64_t i = 0; i < out.numel(); ++i) out.grad[i] = R.data()[i];
  tape.backward(ctx.prec);

  auto loss = [&]() {
    core::Arena a2, g2;
    core::Ctx c2(a2, g2, nullptr);
    c2.training = true;
    core::Tensor o = fwd(c2);
    double L = 0;
    for (int64_t i = 0; i < o.numel(); ++i) L += double(o.data[i]) * R.data()[i];
    return L;
  };
  core::SeqRng pick(7);
  for (auto& [name, b] : inputs) {
    const int64_t n = b->numel();
    const int count = static_cast<int>(std::min<int64_t>(n, opt.samples_per_input));
    for (int s = 0; s < count; ++s) {
      const int64_t i = n <= opt.samples_per_input ? s : static_cast<int64_t>(pick.below(n));
      const float orig = b->data()[i];
      b->data()[i] = orig + static_cast<float>(opt.eps);
      const double lp = loss();
      b->data()[i] = orig - static_cast<float>(opt.eps);
      const double lm = loss();
      b->data()[i] = orig;
      const double num = (lp - lm) / (2 * opt.eps);
      const double ana = b->grad()[i];
      EXPECT_NEAR(num, ana, opt.atol + opt.rtol * std::abs(ana)) << name << "[" << i << "]";
    }
  }
}

}  // namespace nurture::test
