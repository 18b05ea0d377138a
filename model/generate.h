// Autoregressive sampling: greedy (temperature 0) or temperature/top-k sampling. Recomputes
// the full window per token (no KV cache): meant for sanity-check samples, not throughput.
#pragma once

#include <cstdint>
#include <vector>

#include "model/gpt.h"

namespace nurture::model {

struct SampleOptions {
  int max_new_tokens = 100;
  double temperature = 0.8;  // 0: greedy
  int top_k = 0;             // 0: whole vocabulary
  uint64_t seed = 1;
  int stop_token = -1;       // stop after emitting this id (e.g. eos), -1: never
  // > 0: only ids below it are drawn. An imported model's embedding may be padded past its
  // tokenizer's vocabulary (a 50304-row GPT-2 with 50257 tokens); those rows decode to nothing.
  int vocab_limit = 0;
};

std::vector<int32_t> generate(GPT& gpt, std::vector<int32_t> context, const SampleOptions& opt);

}  // namespace nurture::model
