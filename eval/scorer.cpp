#include "eval/scorer.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace nurture::eval {

Scorer::Scorer(model::GPT& gpt, ScoreOptions opt) : gpt_(gpt), opt_(opt), forward_(gpt) {
  // A large vocabulary makes every packed row cost a logits row: keep a pass's memory bounded.
  opt_.batch_tokens = std::min(opt_.batch_tokens, gpt.inference_tokens());
}

bool Scorer::scorable(const Request& r) const {
  return !r.context.empty() && !r.continuation.empty() &&
         static_cast<int64_t>(r.continuation.size()) <= gpt_.config().seq_len;
}

void Scorer::add_plain(const Request& r, int64_t slot, std::vector<Score>& scores) {
  if (!scorable(r))
    throw std::invalid_argument("unscorable request: context " + std::to_string(r.context.size()) +
                                " tokens, continuation " + std::to_string(r.continuation.size()) + " tokens, seq_len " +
                                std::to_string(gpt_.config().seq_len));
  const int64_t L = gpt_.config().seq_len;
  const int64_t nc = static_cast<int64_t>(r.context.size()), nk = static_cast<int64_t>(r.continuation.size());
  // input = (ctx + cont)[-(L+1):][:-1]
  const int64_t total = nc + nk, n_in = std::min(L, total - 1), start = total - 1 - n_in;
  std::vector<int32_t> input(static_cast<size_t>(n_in));
  for (int64_t i = 0; i < n_in; ++i) {
    const int64_t k = start + i;
    input[i] = k < nc ? r.context[k] : r.continuation[k - nc];
  }
  scores[slot].tokens = static_cast<int32_t>(nk);
  scores[slot].truncated = start > 0;
  const int64_t seg = batch_.add_sequence(input.data(), n_in);
  const int64_t b = batch_.segments[seg].begin;
  for (int64_t j = 0; j < nk; ++j) targets_.push_back({batch_.want(b + n_in - nk + j), r.continuation[j], slot});
}

void Scorer::flush(std::vector<Score>& scores) {
  if (batch_.tokens() == 0) return;
  acts_.reset();
  core::Ctx ctx(acts_, grads_, nullptr);
  ctx.prec = opt_.prec;
  core::Tensor logits = forward_(ctx, batch_, opt_.observer);
  ++forwards_;
  tokens_fed_ += batch_.tokens();

  // Log-softmax statistics per wanted row: log-sum-exp and the (first) argmax.
  const int64_t R = logits.rows(), V = logits.cols();
  std::vector<double> lse(static_cast<size_t>(R));
  std::vector<int32_t> argmax(static_cast<size_t>(R));
  // loss_fp32 off: the log-sum-exp and per-token losses are stored in half, as in cross_entropy.
  const core::RoundFn round_op = opt_.prec.loss_fp32 ? core::RoundFn{} : opt_.prec.gemm_operand;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < R; ++i) {
    const float* x = logits.data + i * V;
    int64_t best = 0;
    for (int64_t j = 1; j < V; ++j)
      if (x[j] > x[best]) best = j;
    const float mx = x[best];
    Eigen::Map<const Eigen::ArrayXf> row(x, V);
    const float s = (row - mx).exp().sum();
    float l = mx + static_cast<float>(std::log(double(s)));
    round_op(&l, 1);
    lse[i] = l;
    argmax[i] = static_cast<int32_t>(best);
  }
  for (const Target& t : targets_) {  // serial, in order: deterministic sums
    float nll = static_cast<float>(lse[t.out]) - logits.data[t.out * V + t.token];
    round_op(&nll, 1);
    scores[t.slot].logprob -= nll;
    scores[t.slot].greedy = scores[t.slot].greedy && argmax[t.out] == t.token;
  }
  batch_.clear();
  targets_.clear();
}

std::vector<Score> Scorer::score(std::span<const Request> requests) {
  std::vector<Score> scores(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    add_plain(requests[i], static_cast<int64_t>(i), scores);
    if (batch_.tokens() >= opt_.batch_tokens) flush(scores);
  }
  flush(scores);
  return scores;
}

std::vector<std::vector<Score>> Scorer::score_shared(std::span<const SharedRequest> groups) {
  const int64_t L = gpt_.config().seq_len;
  std::vector<int64_t> first(groups.size() + 1, 0);  // slot of each group's first continuation
  for (size_t g = 0; g < groups.size(); ++g) first[g + 1] = first[g] + int64_t(groups[g].continuations.size());
  std::vector<Score> scores(static_cast<size_t>(first.back()));
  for (size_t g = 0; g < groups.size(); ++g) {
    const SharedRequest& G = groups[g];
    const int64_t nc = static_cast<int64_t>(G.context.size());
    int64_t longest = 0;
    for (const auto& c : G.continuations) longest = std::max<int64_t>(longest, int64_t(c.size()));
    const bool shared = nc >= 1 && nc + longest - 1 <= L && !G.continuations.empty();
    if (!shared) {
      for (size_t k = 0; k < G.continuations.size(); ++k)
        add_plain(Request{G.context, G.continuations[k]}, first[g] + int64_t(k), scores);
    } else {
      for (const auto& c : G.continuations)
        if (c.empty()) throw std::invalid_argument("unscorable request: empty continuation");
      const int64_t root = batch_.add_sequence(G.context.data(), nc);
      const int64_t last = batch_.want(batch_.segments[root].end - 1);
      for (size_t k = 0; k < G.continuations.size(); ++k) {
        const auto& c = G.continuations[k];
        const int64_t slot = first[g] + int64_t(k), nk = int64_t(c.size());
        scores[slot].tokens = static_cast<int32_t>(nk);
        targets_.push_back({last, c[0], slot});
        if (nk == 1) continue;
        const int64_t seg = batch_.add_continuation(root, c.data(), nk - 1);
        const int64_t b = batch_.segments[seg].begin;
        for (int64_t j = 1; j < nk; ++j) targets_.push_back({batch_.want(b + j - 1), c[j], slot});
      }
    }
    if (batch_.tokens() >= opt_.batch_tokens) flush(scores);
  }
  flush(scores);
  std::vector<std::vector<Score>> out(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) out[g].assign(scores.begin() + first[g], scores.begin() + first[g + 1]);
  return out;
}

}  // namespace nurture::eval
