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
  // Whether it clipped: coef = max/(norm + 1e-6) < 1.
  bool clipped = false;
  std::vector<float> big = {3.0f, 4.0f};  // norm 5
  optim::clip_grad_norm(big.data(), 2, 1.0, &clipped);
  EXPECT_TRUE(clipped);
  std::vector<float> at = {3.0f, 4.0f};
  optim::clip_grad_norm(at.data(), 2, 5.0, &clipped);  // 5/(5 + 1e-6) < 1: torch scales too
  EXPECT_TRUE(clipped);
  std::vector<float> under = {3.0f, 4.0f};
  optim::clip_grad_norm(under.data(), 2, 5.1, &clipped);
  EXPECT_FALSE(clipped);
  std::vector<float> none = {3.0f, 4.0f};
  clipped = true;
  optim::clip_grad_norm(none.data(), 2, 0.0, &clipped);
  EXPECT_FALSE(clipped);
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

// wsd worked by hand: lr 1e-3, min_lr 1e-4, warmup 10, 110 steps, decay over the last 20
// (fraction 0.2 of 110 = 22 would round to 22; 20 is set directly here). The decay starts at
// index 90 at full lr and falls by 9e-4/20 = 4.5e-5 per step, reaching min_lr at 110.
TEST(Schedule, WarmupStableDecay) {
  optim::Schedule s{optim::ScheduleKind::wsd, 1e-3, 1e-4, 10, 110, 20};
  EXPECT_DOUBLE_EQ(s.at(0), 1e-3 * 1 / 11);  // the same warm-up as cosine
  EXPECT_DOUBLE_EQ(s.at(10), 1e-3);
  EXPECT_DOUBLE_EQ(s.at(89), 1e-3);  // stable
  EXPECT_DOUBLE_EQ(s.at(90), 1e-3);  // the decay's first step still uses lr
  EXPECT_NEAR(s.at(91), 1e-3 - 4.5e-5, 1e-15);
  EXPECT_NEAR(s.at(100), 5.5e-4, 1e-15);  // halfway: 1e-4 + 0.5 · 9e-4
  EXPECT_NEAR(s.at(109), 1.45e-4, 1e-15);  // the last step: 1e-4 + 1/20 · 9e-4
  EXPECT_DOUBLE_EQ(s.at(110), 1e-4);
  EXPECT_EQ(s.first_decayed_step(), 91);  // checkpoints at step <= 91 saw only lr
  // A decay longer than what follows the warm-up starts after the warm-up: plain linear decay.
  optim::Schedule overlap{optim::ScheduleKind::wsd, 1e-3, 0, 10, 20, 15};
  optim::Schedule linear{optim::ScheduleKind::linear, 1e-3, 0, 10, 20};
  for (int64_t i = 0; i < 21; ++i) EXPECT_DOUBLE_EQ(overlap.at(i), linear.at(i)) << i;
  // No decay phase: constant.
  optim::Schedule flat{optim::ScheduleKind::wsd, 1e-3, 1e-4, 0, 50, 0};
  EXPECT_DOUBLE_EQ(flat.at(49), 1e-3);
  EXPECT_EQ(flat.first_decayed_step(), 50);
  EXPECT_EQ(optim::wsd_decay_steps(0.2, 1200), 240);
  EXPECT_EQ(optim::wsd_decay_steps(0.25, 10), 3);  // 2.5 rounds away from zero
  EXPECT_EQ(optim::wsd_decay_steps(0.0, 1200), 0);
}
