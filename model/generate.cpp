#include "model/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/rng.h"

namespace nurture::model {

std::vector<int32_t> generate(GPT& gpt, std::vector<int32_t> ctx_ids, const SampleOptions& opt) {
  const int V_model = gpt.config().vocab_size, Tmax = gpt.config().seq_len;
  const int V = opt.vocab_limit > 0 ? std::min(opt.vocab_limit, V_model) : V_model;
  core::SeqRng rng(opt.seed);
  core::Arena acts, grads;
  std::vector<int32_t> out;
  std::vector<double> p(V);
  for (int n = 0; n < opt.max_new_tokens; ++n) {
    const int64_t T = std::min<int64_t>(Tmax, int64_t(ctx_ids.size()));
    const int32_t* window = ctx_ids.data() + ctx_ids.size() - T;
    acts.reset();
    core::Ctx ctx(acts, grads, nullptr);
    core::Tensor logits = gpt.forward(ctx, window, 1, T);
    const float* last = logits.data + (T - 1) * V_model;
    int32_t next = 0;
    if (opt.temperature <= 0) {
      next = static_cast<int32_t>(std::max_element(last, last + V) - last);
    } else {
      std::vector<int> idx(V);
      std::iota(idx.begin(), idx.end(), 0);
      int k = opt.top_k > 0 ? std::min(opt.top_k, V) : V;
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) { return last[a] > last[b]; });
      const double mx = last[idx[0]];
      double sum = 0;
      for (int i = 0; i < k; ++i) sum += (p[i] = std::exp((last[idx[i]] - mx) / opt.temperature));
      double u = rng.uniform() * sum;
      int pick = k - 1;
      for (int i = 0; i < k; ++i)
        if ((u -= p[i]) <= 0) {
          pick = i;
          break;
        }
      next = idx[pick];
    }
    out.push_back(next);
    ctx_ids.push_back(next);
    if (next == opt.stop_token) break;
  }
  return out;
}

}  // namespace nurture::model
