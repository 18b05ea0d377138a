#include "report/paired_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace nurture::report {

namespace {

// The continued fraction of I_x(a, b) (Numerical Recipes §6.4, modified Lentz), converging
// fast for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-16;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < eps) break;
  }
  return h;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
    throw std::invalid_argument("incomplete_beta: needs a, b > 0 and 0 <= x <= 1");
  if (x == 0 || x == 1) return x;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  // The symmetry I_x(a, b) = 1 − I_{1−x}(b, a) keeps the fraction in its fast region.
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double student_t_cdf(double t, double df) {
  if (!(df > 0)) throw std::invalid_argument("student_t_cdf: df must be > 0");
  if (std::isnan(t)) return t;
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2).
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (!(p > 0 && p < 1)) throw std::invalid_argument("student_t_quantile: p must be in (0, 1)");
  if (!(df > 0)) throw std::invalid_argument("student_t_quantile: df must be > 0");
  if (p == 0.5) return 0;
  if (p < 0.5) return -student_t_quantile(1 - p, df);
  // Bracket, then bisect: the CDF is monotone, so this cannot fail to converge.
  double lo = 0, hi = 1;
  while (student_t_cdf(hi, df) < p) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

std::string PairedDifference::verdict() const {
  if (n == 0) return "";
  if (!ci_low) return "one seed";
  return (*ci_low > 0 || *ci_high < 0) ? "effect" : "none detected";
}

PairedDifference paired_difference(const std::vector<double>& d, double confidence) {
  if (!(confidence > 0 && confidence < 1)) throw std::invalid_argument("paired_difference: confidence in (0, 1)");
  PairedDifference r;
  r.n = int(d.size());
  if (d.empty()) return r;
  double sum = 0;
  for (double x : d) sum += x;
  r.mean = sum / double(d.size());
  if (d.size() < 2) return r;
  double ss = 0;
  for (double x : d) ss += (x - r.mean) * (x - r.mean);
  const double df = double(d.size() - 1);
  r.sd = std::sqrt(ss / df);
  const double se = *r.sd / std::sqrt(double(d.size()));
  const double t = student_t_quantile(1 - (1 - confidence) / 2, df);
  r.half_width = t * se;
  r.ci_low = r.mean - *r.half_width;
  r.ci_high = r.mean + *r.half_width;
  r.mde80 = (t + student_t_quantile(0.8, df)) * se;
  // Identical differences (sd 0) give a zero-width interval: p is 0 unless the mean is 0 too.
  r.p_value = se > 0 ? 2 * (1 - student_t_cdf(std::fabs(r.mean) / se, df)) : (r.mean == 0 ? 1.0 : 0.0);
  return r;
}

std::vector<std::optional<double>> holm_adjusted(const std::vector<std::optional<double>>& p) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i]) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return *p[a] < *p[b]; });
  std::vector<std::optional<double>> out(p.size());
  const double m = double(order.size());
  double running = 0;
  for (size_t j = 0; j < order.size(); ++j) {
    running = std::max(running, std::min(1.0, (m - double(j)) * *p[order[j]]));
    out[order[j]] = running;
  }
  return out;
}

}  // namespace nurture::report
