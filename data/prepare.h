// One call from corpus paths to train/val token arrays, with caching.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/data_config.h"
#include "data/tokenizer.h"

namespace nurture::data {

struct DataStats {
  size_t files = 0;
  uint64_t corpus_bytes = 0;  // bytes of the joined corpus text (documents + separators)
  uint64_t tokens = 0;
  uint64_t train_tokens = 0;
  uint64_t val_tokens = 0;
  uint64_t train_bytes = 0;  // bytes the train/val tokens decode to; train+val == corpus_bytes.
  uint64_t val_bytes = 0;    // bits per byte on validation = loss_nats * val_tokens / (val_bytes * ln 2)
  double bytes_per_token = 0;
  uint64_t corpus_hash = 0;
  uint64_t tokenizer_hash = 0;
  double tokenizer_seconds = 0;  // training time (0 on a cache hit)
  double encode_seconds = 0;     // encoding time (0 on a cache hit)
};

struct PreparedData {
  Tokenizer tokenizer;
  std::filesystem::path tokenizer_path;  // <cache>/tokenizer-<type>-v<vocab>-<key>.model (+ .json sidecar)
  std::filesystem::path tokens_path;     // <cache>/tokens-<key>.bin (token_shard.h)
  std::filesystem::path cache_dir;
  std::vector<int32_t> train_tokens;
  std::vector<int32_t> val_tokens;
  DataStats stats;
  bool tokenizer_cache_hit = false;
  bool tokens_cache_hit = false;
};

using ProgressLog = std::function<void(const std::string&)>;

// Reads the corpus, then loads or trains the tokenizer, then loads or encodes the tokens, then
// splits. Cache entries are keyed by content (corpus bytes + file names, every trainer setting,
// the tokenizer file's hash), so a rerun with the same inputs never retrains or re-encodes and any
// change to them produces new entries next to the old ones. Unreadable cache files are rebuilt.
// Throws DataError for every problem the user can fix.
PreparedData prepare(const DataConfig& config, const ProgressLog& log = {});

}  // namespace nurture::data
