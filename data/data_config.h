// What data::prepare() reads: corpus, tokenizer and split settings. A header of its own so that
// config/ can build one from an experiment config without linking data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace nurture::data {

struct DataConfig {
  std::vector<std::string> corpus;  // files and/or directories of *.txt (see corpus.h)
  std::string cache_dir;            // empty: default_cache_dir(corpus), i.e. <corpus dir>/.nurture-cache
  int vocab_size = 4096;
  std::string tokenizer_type = "bpe";  // "bpe" or "unigram"
  // Set: encode with this tokenizer instead of training one (an imported model's fixed tokenizer,
  // e.g. GPT-2's); vocab_size and tokenizer_type are then unused. Header-only use of Tokenizer:
  // config/ fills DataConfig without linking data.
  std::optional<Tokenizer> tokenizer;
  double val_fraction = 0.05;          // tail of the token stream (split.h)
  int seq_len = 0;                     // > 0: require one window of seq_len+1 tokens in each split
  // Less common tokenizer settings (defaults as in TokenizerOptions).
  double character_coverage = 1.0;
  int64_t input_sentence_size = 2'000'000;
};

}  // namespace nurture::data
