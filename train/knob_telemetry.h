// What the optimization knobs do to the model, measured cheaply enough to log during training
// (issue 16: at this scale weight decay, clipping and the loss scaler may not act at all, so each
// run shows whether they did). Nothing here runs inside the training step's hot path: the trainer
// calls weight_stats() at log intervals and hangs ResidualStats on the first validation batch.
#pragma once

#include <cstdint>
#include <vector>

#include "model/gpt.h"

namespace nurture::train {

// Global L2 norms of the fp32 master weights, by kind, and the spread of the LayerNorm gains.
struct WeightStats {
  double all = 0;
  double matrix = 0;     // the block linears' weights and lm_head (what weight decay acts on, besides embeddings)
  double embedding = 0;  // wte, wpe
  double ln_gain = 0;    // every LayerNorm weight (ln_1, ln_2 of each block, ln_f)
  double bias = 0;       // linear and LayerNorm biases
  // Population standard deviation of each block's ln_1 / ln_2 gain vector (1 block = 1 entry).
  std::vector<double> ln1_gain_std, ln2_gain_std;
};
WeightStats weight_stats(const model::GPT& gpt);

// Pearson kurtosis E[(x−μ)⁴]/σ⁴ of n values (3 for a Gaussian, 1 for ±1 values); 0 when σ = 0.
double kurtosis(const float* x, int64_t n);

// Statistics of the residual stream after each block, over one forward pass: max |x| and the mean
// over tokens of the kurtosis across the d_model channels of each token (Bondarenko et al. 2023's
// outlier measure: a few outlier channels make it large; per-token int8 quantization suffers then).
class ResidualStats : public model::ForwardObserver {
 public:
  void residual(int layer, const core::Tensor& x) override;
  const std::vector<double>& max_abs() const { return max_abs_; }
  const std::vector<double>& kurtosis() const { return kurtosis_; }
  double seconds() const { return seconds_; }  // spent in residual(): the overhead on the forward

 private:
  std::vector<double> max_abs_, kurtosis_;
  double seconds_ = 0;
};

}  // namespace nurture::train
