// report/paired_stats: the incomplete beta and Student t functions against closed forms and
// published table values, and paired differences worked out by hand.
#include "report/paired_stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nurture::report {
namespace {

TEST(PairedStatsTest, IncompleteBetaMatchesClosedForms) {
  for (double x : {0.0, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0}) {
    EXPECT_NEAR(incomplete_beta(1, 1, x), x, 1e-14) << x;                       // uniform
    EXPECT_NEAR(incomplete_beta(3, 1, x), x * x * x, 1e-14) << x;               // I_x(a,1) = x^a
    EXPECT_NEAR(incomplete_beta(1, 4, x), 1 - std::pow(1 - x, 4), 1e-14) << x;  // I_x(1,b) = 1-(1-x)^b
    EXPECT_NEAR(incomplete_beta(2.5, 0.5, x), 1 - incomplete_beta(0.5, 2.5, 1 - x), 1e-14) << x;  // symmetry
  }
  EXPECT_NEAR(incomplete_beta(7.3, 7.3, 0.5), 0.5, 1e-14);
  EXPECT_THROW(incomplete_beta(0, 1, 0.5), std::invalid_argument);
  EXPECT_THROW(incomplete_beta(1, 1, 1.5), std::invalid_argument);
}

TEST(PairedStatsTest, TQuantileMatchesPublishedTables) {
  // Two-sided 95% critical values (any t table) and one-sided 80% ones used for power.
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706205, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.302653, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.776445, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 9), 2.262157, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 30), 2.042272, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 1e6), 1.959966, 1e-5);  // -> the normal quantile
  EXPECT_NEAR(student_t_quantile(0.8, 4), 0.940965, 1e-6);
  // Closed forms: df 1 is Cauchy, tan(π(p − ½)); df 2 is (2p − 1) / √(2p(1 − p)).
  EXPECT_NEAR(student_t_quantile(0.9, 1), std::tan(M_PI * 0.4), 1e-9);
  EXPECT_NEAR(student_t_quantile(0.8, 2), 0.6 / std::sqrt(0.32), 1e-12);
  EXPECT_NEAR(student_t_quantile(0.025, 2), -4.302653, 1e-6);
  EXPECT_EQ(student_t_quantile(0.5, 3), 0.0);
  for (double df : {1.0, 2.0, 5.0, 17.0})
    for (double p : {0.6, 0.9, 0.975, 0.999}) EXPECT_NEAR(student_t_cdf(student_t_quantile(p, df), df), p, 1e-12);
  EXPECT_THROW(student_t_quantile(1.0, 3), std::invalid_argument);
  EXPECT_THROW(student_t_quantile(0.9, 0), std::invalid_argument);
}

// d = {1, 2, 3}: mean 2, sd 1, se 1/√3; t(0.975, 2) = 4.302653 -> half width 2.484138, the
// interval [−0.484, 4.484] contains 0.
TEST(PairedStatsTest, ThreeSeedsWithoutAnEffect) {
  const PairedDifference d = paired_difference({1, 2, 3});
  EXPECT_EQ(d.n, 3);
  EXPECT_DOUBLE_EQ(d.mean, 2);
  EXPECT_NEAR(*d.sd, 1, 1e-15);
  EXPECT_NEAR(*d.half_width, 4.302653 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(*d.ci_low, -0.484138, 1e-6);
  EXPECT_NEAR(*d.ci_high, 4.484138, 1e-6);
  // MDE at 80% power: (4.302653 + 1.060660) / √3 = 5.363313 / 1.732051 = 3.096510.
  EXPECT_NEAR(*d.mde80, 3.096510, 1e-6);
  EXPECT_EQ(d.verdict(), "none detected");
}

// d = {2, 2.5, 3}: mean 2.5, sd 0.5, half width 4.302653 · 0.5 / √3 = 1.242069 -> [1.258, 3.742].
TEST(PairedStatsTest, ThreeSeedsWithAnEffect) {
  const PairedDifference d = paired_difference({2, 2.5, 3});
  EXPECT_NEAR(*d.ci_low, 1.257931, 1e-6);
  EXPECT_NEAR(*d.ci_high, 3.742069, 1e-6);
  EXPECT_EQ(d.verdict(), "effect");
  // A negative effect counts too: five seeds, t(0.975, 4) = 2.776445, sd = √2.5.
  const PairedDifference e = paired_difference({-1, -2, -3, -4, -5});
  EXPECT_NEAR(*e.ci_high, -3 + 2.776445 * std::sqrt(2.5 / 5), 1e-6);
  EXPECT_EQ(e.verdict(), "effect");
}

TEST(PairedStatsTest, OneSeedHasNoInterval) {
  const PairedDifference d = paired_difference({0.7});
  EXPECT_EQ(d.n, 1);
  EXPECT_DOUBLE_EQ(d.mean, 0.7);
  EXPECT_FALSE(d.ci_low.has_value());
  EXPECT_FALSE(d.mde80.has_value());
  EXPECT_EQ(d.verdict(), "one seed");
  EXPECT_EQ(paired_difference({}).verdict(), "");
  // Identical differences: zero width, and an interval that excludes 0.
  EXPECT_EQ(paired_difference({1, 1}).verdict(), "effect");
}

// The t-test's p agrees with the interval: with df = 2 the t CDF is 0.5 + t / (2 √(2 + t²)).
// {1, 2, 3}: t = 2 / (1/√3) = 3.464102 -> p = 2 · (0.5 − 3.464102 / (2 √14)) = 0.074180 (> 0.05,
// interval contains 0); {2, 2.5, 3}: t = 8.660254 -> p = 1 − 8.660254 / √77 = 0.013072.
TEST(PairedStatsTest, PValueMatchesTheInterval) {
  EXPECT_NEAR(*paired_difference({1, 2, 3}).p_value, 0.074180, 1e-6);
  EXPECT_NEAR(*paired_difference({2, 2.5, 3}).p_value, 0.013072, 1e-6);
  EXPECT_FALSE(paired_difference({0.7}).p_value.has_value());
  EXPECT_DOUBLE_EQ(*paired_difference({1, 1}).p_value, 0.0);
  EXPECT_DOUBLE_EQ(*paired_difference({0, 0}).p_value, 1.0);
}

// Holm by hand: four p-values (one missing) sorted 0.01, 0.03, 0.04, 0.5 -> 4·0.01 = 0.04,
// max(0.04, 3·0.03) = 0.09, max(0.09, 2·0.04) = 0.09, max(0.09, 0.5) = 0.5.
TEST(PairedStatsTest, HolmAdjustment) {
  const auto a = holm_adjusted({0.01, 0.04, std::nullopt, 0.03, 0.5});
  ASSERT_EQ(a.size(), 5u);
  EXPECT_NEAR(*a[0], 0.04, 1e-15);
  EXPECT_NEAR(*a[1], 0.09, 1e-15);
  EXPECT_FALSE(a[2].has_value());
  EXPECT_NEAR(*a[3], 0.09, 1e-15);
  EXPECT_NEAR(*a[4], 0.5, 1e-15);
  EXPECT_NEAR(*holm_adjusted({0.9, 0.8})[0], 1.0, 1e-15);  // capped at 1
  EXPECT_TRUE(holm_adjusted({}).empty());
}

}  // namespace
}  // namespace nurture::report
