// Training a SentencePiece tokenizer on corpus text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace nurture::data {

struct TokenizerOptions {
  int vocab_size = 4096;
  std::string model_type = "bpe";  // "bpe" or "unigram"
  // Fraction of characters covered by pieces; the rest go through byte fallback.
  double character_coverage = 1.0;
  // SentencePiece trains on at most this many lines, a seeded (deterministic) sample when the corpus
  // has more. The default is above every shipped corpus, so they are used whole.
  int64_t input_sentence_size = 2'000'000;
  // Lines longer than this (bytes) are skipped by the trainer (they are still encoded).
  int max_sentence_length = 16384;
  bool split_digits = false;
};

// The complete SentencePiece trainer settings derived from `options` (everything that can change
// the model). The cache key hashes this map, so a new setting here automatically invalidates caches.
std::map<std::string, std::string> trainer_args(const TokenizerOptions& options);

// Cache key of a tokenizer trained with `options` on the corpus with hash `corpus_hash`.
uint64_t tokenizer_key(uint64_t corpus_hash, const TokenizerOptions& options);

// Trains on `text` (lines are the trainer's sentences) and returns the serialized .model bytes.
// Deterministic: the same text and options give byte-identical output on any machine.
// Throws DataError for bad options, for vocab_size too large for the corpus (with the maximum
// SentencePiece reports) or too small for its characters.
std::string train_tokenizer(std::string_view text, const TokenizerOptions& options);

}  // namespace nurture::data
