#include "data/prepare.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "data/corpus.h"
#include "data/error.h"
#include "data/file_io.h"
#include "data/hash.h"
#include "data/split.h"
#include "data/token_shard.h"
#include "data/tokenizer_trainer.h"

namespace nurture::data {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One number into a printf format, e.g. fmt("%.2f s", secs).
std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

TokenizerOptions tokenizer_options(const DataConfig& c) {
  TokenizerOptions o;
  o.vocab_size = c.vocab_size;
  o.model_type = c.tokenizer_type;
  o.character_coverage = c.character_coverage;
  o.input_sentence_size = c.input_sentence_size;
  return o;
}

// Human-readable record of how a cached tokenizer was made; never read back by the code.
std::string tokenizer_sidecar(const Corpus& corpus, const TokenizerOptions& o, const std::string& model, double secs) {
  nlohmann::json j;
  j["format"] = "nurture-tokenizer-v1";
  j["corpus_hash"] = to_hex(corpus.hash);
  j["corpus_bytes"] = corpus.text.size();
  for (const auto& f : corpus.files) j["corpus_files"].push_back(f.filename().string());
  j["trainer_args"] = trainer_args(o);
  j["model_hash"] = to_hex(fnv1a64(model));
  j["train_seconds"] = secs;
  return j.dump(2) + "\n";
}

Tokenizer load_or_train_tokenizer(const Corpus& corpus, const TokenizerOptions& opts, const fs::path& path, bool& hit,
                                  double& secs, const ProgressLog& log) {
  hit = false;
  secs = 0;
  if (fs::exists(path)) {
    try {
      Tokenizer tok = Tokenizer::load(path);
      hit = true;
      log("tokenizer: cached " + path.string());
      return tok;
    } catch (const DataError& e) {
      log(std::string("tokenizer: rebuilding unreadable cache file (") + e.what() + ")");
    }
  }
  log("tokenizer: training " + opts.model_type + " vocab " + std::to_string(opts.vocab_size) + " on " +
      fmt("%.2f MB", corpus.text.size() / 1e6) + " ...");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string model = train_tokenizer(corpus.text, opts);
  secs = seconds_since(t0);
  // Sidecar first, model last: the model file's existence is what marks the entry complete.
  fs::path sidecar = path;
  sidecar.replace_extension(".json");
  core::write_file_atomic(sidecar, tokenizer_sidecar(corpus, opts, model, secs));
  core::write_file_atomic(path, model);
  log("tokenizer: trained in " + fmt("%.2f s", secs) + " -> " + path.string());
  return Tokenizer::load(path);
}

std::vector<int32_t> load_or_encode(const Corpus& corpus, const Tokenizer& tok, const fs::path& path, bool& hit,
                                    double& secs, const ProgressLog& log) {
  hit = false;
  secs = 0;
  if (fs::exists(path)) {
    try {
      TokenShard shard = read_shard(path);
      if (shard.tokenizer_hash == tok.hash() && shard.corpus_hash == corpus.hash) {
        hit = true;
        log("tokens: cached " + path.string() + " (" + std::to_string(shard.tokens.size()) + " tokens)");
        return std::move(shard.tokens);
      }
      log("tokens: rebuilding cache file with mismatching hashes " + path.string());
    } catch (const DataError& e) {
      log(std::string("tokens: rebuilding unreadable cache file (") + e.what() + ")");
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  TokenShard shard{encode_corpus(tok, corpus.text), tok.hash(), corpus.hash};
  secs = seconds_since(t0);
  write_shard(path, shard, tok.vocab_size());
  log("tokens: encoded " + std::to_string(shard.tokens.size()) + " tokens in " + fmt("%.2f s", secs) + " -> " +
      path.string());
  return std::move(shard.tokens);
}

}  // namespace

PreparedData prepare(const DataConfig& config, const ProgressLog& log_fn) {
  const ProgressLog log = log_fn ? log_fn : [](const std::string&) {};
  const TokenizerOptions opts = tokenizer_options(config);
  split_tokens({}, config.val_fraction);  // validates val_fraction before any expensive work

  const Corpus corpus = read_corpus(config.corpus);
  log("corpus: " + std::to_string(corpus.files.size()) + " file(s), " + std::to_string(corpus.text.size()) +
      " bytes, hash " + to_hex(corpus.hash));

  const fs::path cache_dir = config.cache_dir.empty() ? default_cache_dir(config.corpus) : fs::path(config.cache_dir);
  ensure_directory(cache_dir);

  DataStats stats;
  bool tokenizer_hit = false, tokens_hit = false;
  const fs::path tokenizer_path =
      config.tokenizer ? config.tokenizer->path()
                       : cache_dir / ("tokenizer-" + opts.model_type + "-v" + std::to_string(opts.vocab_size) + "-" +
                                      to_hex(tokenizer_key(corpus.hash, opts)) + ".model");
  Tokenizer tokenizer = config.tokenizer ? *config.tokenizer
                                         : load_or_train_tokenizer(corpus, opts, tokenizer_path, tokenizer_hit,
                                                                   stats.tokenizer_seconds, log);

  const uint64_t tokens_key =
      Fnv1a64().update("nurture-tokens-v1").update_u64(corpus.hash).update_u64(tokenizer.hash()).digest();
  const fs::path tokens_path = cache_dir / ("tokens-" + to_hex(tokens_key) + ".bin");
  std::vector<int32_t> tokens = load_or_encode(corpus, tokenizer, tokens_path, tokens_hit, stats.encode_seconds, log);

  const TokenSplit split = split_tokens(tokens, config.val_fraction);
  if (config.seq_len > 0) check_split_fits(split, config.seq_len, config.val_fraction);

  stats.files = corpus.files.size();
  stats.corpus_bytes = corpus.text.size();
  stats.tokens = tokens.size();
  stats.train_tokens = split.train.size();
  stats.val_tokens = split.val.size();
  stats.train_bytes = tokenizer.count_bytes(split.train);
  stats.val_bytes = tokenizer.count_bytes(split.val);
  stats.bytes_per_token =
      tokens.empty() ? 0.0 : static_cast<double>(stats.corpus_bytes) / static_cast<double>(tokens.size());
  stats.corpus_hash = corpus.hash;
  stats.tokenizer_hash = tokenizer.hash();
  log("split: " + std::to_string(stats.train_tokens) + " train / " + std::to_string(stats.val_tokens) +
      " val tokens, " + fmt("%.3f bytes/token", stats.bytes_per_token));

  std::vector<int32_t> val_tokens(split.val.begin(), split.val.end());
  tokens.resize(split.train.size());  // the train part stays in place; no second copy of the bulk
  return PreparedData{
      .tokenizer = std::move(tokenizer),
      .tokenizer_path = tokenizer_path,
      .tokens_path = tokens_path,
      .cache_dir = cache_dir,
      .train_tokens = std::move(tokens),
      .val_tokens = std::move(val_tokens),
      .stats = stats,
      .tokenizer_cache_hit = tokenizer_hit,
      .tokens_cache_hit = tokens_hit,
  };
}

}  // namespace nurture::data
