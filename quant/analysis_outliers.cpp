#include "quant/analysis_outliers.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "quant/analysis_stats.h"

namespace nurture::quant {

const char* name(OutlierRule r) {
  switch (r) {
    case OutlierRule::llm_int8: return "llm_int8";
    case OutlierRule::fixed: return "fixed";
    case OutlierRule::adaptive: return "adaptive";
  }
  return "?";
}

std::string describe(OutlierRule r, double t) {
  std::ostringstream s;
  switch (r) {
    case OutlierRule::llm_int8: s << "|x| >= " << t; break;
    case OutlierRule::fixed: s << "|x| > " << t; break;
    case OutlierRule::adaptive: s << "|x| > mean_token + " << t << " * std_token"; break;
  }
  s << " in >= 25% of blocks and >= 6% of positions";
  return s.str();
}

OutlierCriteria default_criteria(OutlierRule r) {
  OutlierCriteria c;
  c.rule = r;
  c.threshold = r == OutlierRule::llm_int8 ? 6.0 : r == OutlierRule::fixed ? 4.2 : 4.0;
  return c;
}

OutlierCounter::OutlierCounter(OutlierCriteria c, int layers, int64_t positions, int64_t dim)
    : c_(c),
      layers_(layers),
      positions_(positions),
      dim_(dim),
      layer_hit_(size_t(layers) * size_t(dim), 0),
      position_hit_(size_t(positions) * size_t(dim), 0) {}

void OutlierCounter::add(int layer, int64_t first, const float* x, int64_t rows) {
  if (layer < 0 || layer >= layers_ || first < 0 || first + rows > positions_)
    throw std::out_of_range("OutlierCounter::add: layer or position out of range");
  std::vector<double> mean(static_cast<size_t>(rows)), sd(static_cast<size_t>(rows));
  if (c_.rule == OutlierRule::adaptive) row_mean_std(x, rows, dim_, mean.data(), sd.data());
  uint8_t* lh = layer_hit_.data() + size_t(layer) * size_t(dim_);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * dim_;
    uint8_t* ph = position_hit_.data() + size_t(first + r) * size_t(dim_);
    for (int64_t j = 0; j < dim_; ++j) {
      const double a = std::fabs(double(row[j]));
      bool hit = false;
      switch (c_.rule) {
        case OutlierRule::llm_int8: hit = a >= c_.threshold; break;
        case OutlierRule::fixed: hit = a > c_.threshold; break;
        case OutlierRule::adaptive: hit = a > mean[size_t(r)] + c_.threshold * sd[size_t(r)]; break;
      }
      if (hit) ph[j] = lh[j] = 1;
    }
  }
}

OutlierResult OutlierCounter::result() const {
  OutlierResult res;
  res.rule = c_.rule;
  res.description = describe(c_.rule, c_.threshold);
  for (int64_t j = 0; j < dim_; ++j) {
    int64_t nl = 0, np = 0;
    for (int l = 0; l < layers_; ++l) nl += layer_hit_[size_t(l) * size_t(dim_) + size_t(j)];
    for (int64_t t = 0; t < positions_; ++t) np += position_hit_[size_t(t) * size_t(dim_) + size_t(j)];
    if (nl > 0) res.candidates++;
    const double fl = layers_ > 0 ? double(nl) / layers_ : 0, fp = positions_ > 0 ? double(np) / positions_ : 0;
    if (nl > 0 && fl >= c_.min_layer_frac && fp >= c_.min_token_frac)
      res.dims.push_back({int(j), 100.0 * fp, 100.0 * fl});
  }
  for (const OutlierDim& d : res.dims) {
    res.pct_sequences += d.pct_tokens / double(res.dims.size());
    res.pct_layers += d.pct_layers / double(res.dims.size());
  }
  return res;
}

}  // namespace nurture::quant
