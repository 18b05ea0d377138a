#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/params.h"
#include "optim/adamw.h"
#include "optim/clip.h"
#include "optim/schedule.h"

using namespace nurture;

namespace {
// Two parameters: a 2-D weight (decayed) and a bias (not decayed), one element each used.
struct TwoParams {
  model::ParamStore store;
  int w, b;
  TwoParams() {
    w = store.add("w", {1, 1}, /*decay=*/true);
    b = store.add("b", {1}, /*decay=*/false);
    store.finalize();
    store.master(w)[0] = 1.0f;
    store.master(b)[0] = 1.0f;
  }
};
}  // namespace

// Two steps worked by hand (lr 0.1, wd 0.1, β = (0.9, 0.999), ε = 1e-8, grads 0.5 then -0.25):
// step 1: p = 1·(1−0.01) = 0.99; m = 0.05; v = 2.5e-4; m̂ = 0.5; √v̂ = 0.5;
//         p −= 0.1·0.5/(0.5+1e-8)  → 0.890000002
// step 2: p = 0.890000002·0.99 = 0.88110000198; m = 0.02; v = 3.1225e-4;
//         m̂ = 0.02/0.19; √v̂ = √(3.1225e-4/0.001999) = 0.3952254; p −= 0.1·m̂/(√v̂+ε) → 0.8544662987
// The bias gets the same Adam update without the decay factor.
TEST(AdamW, TwoHandComputedSteps) {
  TwoParams t;
  optim::AdamW opt(t.store, {0.9, 0.999, 1e-8, 0.1});
  t.store.grad()[t.store.info(t.w).offset] = 0.5f;
  t.store.grad()[t.store.info(t.b).offset] = 0.5f;
  opt.step(0.1);
  EXPECT_NEAR(t.store.master(t.w)[0], 0.890000002, 2e-7);
  EXPECT_NEAR(t.store.master(t.b)[0], 1.0 - 0.099999998, 2e-7);
  t.store.grad()[t.store.info(t.w).offset] = -0.25f;
  t.store.grad()[t.store.info(t.b).offset] = -0.25f;
  opt.step(0.1);
  EXPECT_NEAR(t.store.master(t.w)[0], 0.8544662987, 2e-7);
  // Bias: p2 = 0.900000002 − 0.1·(0.02/0.19)/(0.3952254+1e-8) = 0.873366…; computed independently:
  const double mhat = 0.02 / 0.19, vhat = 3.1225e-4 / (1 - 0.999 * 0.999);
  EXPECT_NEAR(t.store.master(t.b)[0], 0.900000002 - 0.1 * mhat / (std::sqrt(vhat) + 1e-8), 2e-7);
  EXPECT_EQ(opt.steps_taken(), 2);
}

TEST(Clip, GlobalNormAndCoefficient) {
  std::vector<float> g = {3.0f, 4.0f, 0.0f, 12.0f};  // norm 13
  EXPECT_DOUBLE_EQ(optim::global_norm(g.data(), 4), 13.0);
  const double n = optim::clip_grad_norm(g.data(), 4, 1.0);
  EXPECT_DOUBLE_EQ(n, 13.0);
  const float c = static_cast<float>(1.0 / (13.0 + 1e-6));
  EXPECT_FLOAT_EQ(g[0], 3.0f * c);
  EXPECT_FLOAT_EQ(g[3], 12.0f * c);
  std::vector<float> small = {0.1f, 0.2f};
  optim::clip_grad_norm(small.data(), 2, 1.0);  // below max_norm: untouched
  EXPECT_EQ(small[0], 0.1f);
  std::vector<float> off = {30.0f};
  optim::clip_grad_norm(off.data(), 1, 0.0);  // disabled
  EXPECT_EQ(off[0], 30.0f);
}

TEST(Schedule, CosineWarmupFloor) {
  optim::Schedule s{optim::ScheduleKind::cosine, 1e-3, 1e-4, 10, 110};
  EXPECT_DOUBLE_EQ(s.at(0), 1e-3 * 1 / 11);  // nanoGPT warm-up: lr·(it+1)/(warmup+1)
  EXPECT_DOUBLE_EQ(s.at(9), 1e-3 * 10 / 11);
  EXPECT_DOUBLE_EQ(s.at(10), 1e-3);
  EXPECT_NEAR(s.at(60), 1e-4 + 0.5 * 9e-4, 1e-15);  // halfway through the cosine
  EXPECT_DOUBLE_EQ(s.at(110), 1e-4);
  EXPECT_DOUBLE_EQ(s.at(500), 1e-4);
  optim::Schedule c{optim::ScheduleKind::constant, 1e-3, 0, 0, 100};
  EXPECT_DOUBLE_EQ(c.at(50), 1e-3);
}
