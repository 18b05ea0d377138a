// Outlier feature dimensions of the linear inputs, under the three rules of the paper's
// Table 5 (Ahmadian et al. 2023, section 4 "Outlier Analysis" and Appendix B.3).
//
// The paper, section 4: "Activation feature dimensions are classified as outlier dimensions
// when the activation values (denoted as α) are greater than 6.0 at more than 25% of layers and
// 6% of tokens. However, we find that a threshold of 6.0 is too high [...] we also explored
// various adaptations of this outlier detection recipe". Table 5: "Top Table: constant
// threshold α > 4.2. Bottom Table: adaptive threshold α > 4σ_token + μ_token".
// LLM.int8() (Dettmers et al. 2022, §4.1): "the magnitude of the feature is at least 6.0,
// affects at least 25% of layers, and affects at least 6% of the sequence dimensions"; formally
// a feature h_i counts if |x| ≥ 6 occurs in the same h_i in ≥ 25% of transformer layers and in
// ≥ 6% of all sequence dimensions s across all hidden states X_l, where X_l are the inputs of
// the attention projections and the first feed-forward layer (not fc2).
//
// How this file reads them (one mechanism, three per-element tests):
// - The hidden states are the inputs of qkv, attn_proj and fc of every block: the
//   d_model-wide ones. mlp_proj's input (4·d_model wide, LLM.int8()'s ignored fc2) is left out.
// - α is the magnitude |x| of one element, as in LLM.int8().
//     llm_int8:  |x| ≥ 6.0
//     fixed:     |x| > 4.2
//     adaptive:  |x| > μ_token + 4·σ_token, with μ_token and σ_token the mean and population
//                standard deviation of that token's own row of X (all of its features).
// - A "layer" is a transformer block: block l is hit in dimension j if any of its three
//   hidden states has a hit in column j. A "sequence dimension" is one token position of the
//   calibration set: position t is hit in j if any layer has a hit at (t, j).
// - Dimension j is an outlier when (blocks hit)/(blocks) ≥ 25% and (positions hit)/(positions)
//   ≥ 6%, for all three rules (the paper adapts only the threshold).
// - Table 5's "% sequences affected" and "% layers affected" are these two fractions averaged
//   over the outlier dimensions (0 when there are none); per-dimension values are kept too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nurture::quant {

enum class OutlierRule { llm_int8, fixed, adaptive };
const char* name(OutlierRule r);  // "llm_int8", "fixed", "adaptive"
std::string describe(OutlierRule r, double threshold);

struct OutlierCriteria {
  OutlierRule rule = OutlierRule::llm_int8;
  double threshold = 6.0;  // llm_int8 and fixed: the magnitude; adaptive: the number of σ
  double min_layer_frac = 0.25;
  double min_token_frac = 0.06;
};
// The paper's three: {llm_int8, 6.0}, {fixed, 4.2}, {adaptive, 4σ}.
OutlierCriteria default_criteria(OutlierRule r);

struct OutlierDim {
  int dim = 0;
  double pct_tokens = 0;  // % of calibration positions hit in this dimension
  double pct_layers = 0;  // % of blocks hit in this dimension
};

struct OutlierResult {
  OutlierRule rule = OutlierRule::llm_int8;
  std::string description;
  std::vector<OutlierDim> dims;  // ascending dimension
  double pct_sequences = 0;      // mean pct_tokens over dims (Table 5 "% Seq Affected")
  double pct_layers = 0;         // mean pct_layers over dims (Table 5 "% Layers Affected")
  int candidates = 0;            // dimensions with at least one hit anywhere (before the 25%/6% filter)
};

// Collects hits for one rule over the calibration set. Positions are numbered globally
// (batch offset + row), so batches can arrive in any order and each hidden state once.
class OutlierCounter {
 public:
  OutlierCounter(OutlierCriteria c, int layers, int64_t positions, int64_t dim);
  // x: [rows, dim] for positions first_position .. first_position + rows - 1 of `layer`.
  void add(int layer, int64_t first_position, const float* x, int64_t rows);
  OutlierResult result() const;

 private:
  OutlierCriteria c_;
  int layers_;
  int64_t positions_, dim_;
  std::vector<uint8_t> layer_hit_;     // [layers, dim]
  std::vector<uint8_t> position_hit_;  // [positions, dim]
};

}  // namespace nurture::quant
