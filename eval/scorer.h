// Batched loglikelihood scoring of lm-eval requests (lm-evaluation-harness,
// lm_eval/models/huggingface.py `_loglikelihood_tokens`), without a tape and without padding.
//
// For a request (ctx, cont) the model reads (ctx + cont)[-(L+1):][:-1] (contexts longer than the
// model's seq_len L are left-truncated) and the log-softmax at the last |cont| positions is
// gathered at the continuation tokens. Requests are packed, in the order given, into forwards of
// about `batch_tokens` tokens (eval/packed_forward.h), so a request's score does not depend on
// padding, and the same inputs with the same options give bit-identical scores.
//
// Shared contexts: score_shared() takes groups of continuations of one context (the choices of
// a multiple-choice item). When every choice fits without truncation the context runs once and
// each choice costs only |cont| - 1 extra tokens; the first continuation token of every choice is
// read from the context's last position. Otherwise the group falls back to independent requests,
// which is what lm-eval computes in both cases.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/graph.h"
#include "eval/packed_forward.h"
#include "eval/request.h"
#include "model/gpt.h"

namespace nurture::eval {

struct Score {
  double logprob = 0;      // Σ log p(continuation token | everything before it)
  bool greedy = true;      // every continuation token is the argmax (lm-eval is_greedy)
  int32_t tokens = 0;      // continuation length
  bool truncated = false;  // the context was left-truncated to fit seq_len
};

struct ScoreOptions {
  core::OpPrecision prec{};                    // the precision policy the ops run under; default fp32
  model::ForwardObserver* observer = nullptr;  // e.g. fake quantization of linear inputs
  int64_t batch_tokens = 4096;                 // tokens per packed forward (a soft cap)
};

// Continuations that share one context (the choices of a multiple-choice item).
struct SharedRequest {
  std::vector<int32_t> context;
  std::vector<std::vector<int32_t>> continuations;
};

class Scorer {
 public:
  explicit Scorer(model::GPT& gpt, ScoreOptions opt = {});

  // Whether a request can be scored: non-empty context and 1 ≤ |continuation| ≤ seq_len.
  bool scorable(const Request& r) const;

  // One Score per request, in order. Throws std::invalid_argument for unscorable requests.
  std::vector<Score> score(std::span<const Request> requests);
  // One vector of Scores per group (one per continuation), in order.
  std::vector<std::vector<Score>> score_shared(std::span<const SharedRequest> groups);

  int64_t forwards() const { return forwards_; }
  int64_t tokens_fed() const { return tokens_fed_; }  // tokens run through the model
  const ScoreOptions& options() const { return opt_; }

 private:
  struct Target {
    int64_t out;    // index among the batch's out_rows
    int32_t token;  // the continuation token it must predict
    int64_t slot;   // index of the Score it adds to
  };
  // Appends one plain request (truncated as lm-eval does) to the pending batch.
  void add_plain(const Request& r, int64_t slot, std::vector<Score>& scores);
  void flush(std::vector<Score>& scores);

  model::GPT& gpt_;
  ScoreOptions opt_;
  PackedForward forward_;
  core::Arena acts_, grads_;
  PackedBatch batch_;
  std::vector<Target> targets_;
  int64_t forwards_ = 0, tokens_fed_ = 0;
};

}  // namespace nurture::eval
