// Loglikelihood requests in the form of EleutherAI's lm-evaluation-harness.
//
// A request is a (context, continuation) pair of token lists; its answer is the summed log
// probability of the continuation given the context, and whether every continuation token is
// the argmax (lm-eval's is_greedy).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"

namespace nurture::eval {

struct Request {
  std::vector<int32_t> context;       // ≥ 1 token (an empty text context becomes the prefix token)
  std::vector<int32_t> continuation;  // ≥ 1 token for a scorable request
};

// The token that conditions an empty context: lm-eval uses the model's EOT/BOS, i.e. the
// document separator it was trained with: data::Tokenizer::document_start_id (the newline byte
// token for nurture's models, whose corpora separate documents by "\n\n"; <|endoftext|> for GPT-2).
int32_t prefix_token(const data::Tokenizer& tok);

// lm-eval `_encode_pair` (lm_eval/api/model.py): trailing whitespace of the context moves to the
// start of the continuation; whole = enc(ctx + cont), ctx_enc = enc(ctx), cont_enc =
// whole[len(ctx_enc):]. An empty context is encoded as [prefix_token] and the continuation on its own.
Request encode_pair(const data::Tokenizer& tok, std::string_view context, std::string_view continuation);

// lm-eval rolling loglikelihood (lm_eval/utils.py get_rolling_token_windows with context_len 1,
// then make_disjoint_window): every token of `tokens` is predicted exactly once. The first window
// predicts tokens[0, L) after [prefix]; each later one predicts the next ≤ L tokens with the
// preceding tokens as context, so the model input is always the L tokens before the last target.
std::vector<Request> rolling_windows(const std::vector<int32_t>& tokens, int32_t prefix, int max_len);

}  // namespace nurture::eval
