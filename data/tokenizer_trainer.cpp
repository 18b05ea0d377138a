#include "data/tokenizer_trainer.h"

#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <unordered_map>

#include "data/error.h"
#include "data/hash.h"

namespace nurture::data {

namespace {

constexpr std::string_view kTokenizerFormat = "nurture-tokenizer-v1";

// Feeds the corpus to the trainer line by line from memory. Preferred over a temporary input file:
// the trainer records its input path inside the model, which would make the bytes (and the
// tokenizer hash) depend on where the temp file lived.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(std::string_view text) : text_(text) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    if (pos_ >= text_.size()) {
      done_ = true;
      return;
    }
    size_t nl = text_.find('\n', pos_);
    if (nl == std::string_view::npos) nl = text_.size();
    line_.assign(text_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
  }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  std::string line_;
  bool done_ = false;
};

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string human_bytes(size_t n) {
  char buf[32];
  if (n >= 1000000)
    std::snprintf(buf, sizeof buf, "%.2f MB", n / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f KB", n / 1e3);
  return buf;
}

void validate(const TokenizerOptions& o) {
  if (o.model_type != "bpe" && o.model_type != "unigram")
    throw DataError("tokenizer type '" + o.model_type + "' is not supported; use \"bpe\" or \"unigram\"");
  if (o.vocab_size < 2)
    throw DataError("vocab_size " + std::to_string(o.vocab_size) + " is invalid; use a positive size such as 4096");
  if (!(o.character_coverage > 0.0 && o.character_coverage <= 1.0))
    throw DataError("character_coverage " + format_double(o.character_coverage) + " is invalid; use a value in (0, 1]");
  if (o.input_sentence_size < 0 || o.max_sentence_length <= 0)
    throw DataError("input_sentence_size must be >= 0 and max_sentence_length > 0");
}

// SentencePiece reports errors as "file(line) [check] message"; turn the ones users cause into
// one-line messages that say what to change.
[[noreturn]] void rethrow_training_error(const std::string& msg, std::string_view text, const TokenizerOptions& o) {
  const std::string corpus_size =
      human_bytes(text.size()) + ", " + std::to_string(std::count(text.begin(), text.end(), '\n') + 1) + " lines";
  std::smatch m;
  if (msg.find("Vocabulary size too high") != std::string::npos) {
    std::string limit;
    if (std::regex_search(msg, m, std::regex(R"(<=\s*(\d+))"))) limit = m[1];
    throw DataError("vocab_size " + std::to_string(o.vocab_size) + " is too large for this corpus (" + corpus_size +
                    "): SentencePiece can build at most " + (limit.empty() ? "fewer" : limit) +
                    " pieces from it; set vocab_size" + (limit.empty() ? " smaller" : " <= " + limit) +
                    " or use a larger corpus");
  }
  if (msg.find("smaller than required_chars") != std::string::npos) {
    std::string need;
    if (std::regex_search(msg, m, std::regex(R"((\d+)\s+vs\s+(\d+))"))) need = m[2];
    throw DataError("vocab_size " + std::to_string(o.vocab_size) +
                    " is too small: the corpus's distinct characters plus the 256 byte and 3 control pieces need " +
                    (need.empty() ? "more" : "vocab_size >= " + need) +
                    "; raise vocab_size");
  }
  throw DataError("SentencePiece training failed on the corpus (" + corpus_size + "): " + msg);
}

}  // namespace

std::map<std::string, std::string> trainer_args(const TokenizerOptions& o) {
  return {
      {"model_type", o.model_type},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"character_coverage", format_double(o.character_coverage)},
      // Any byte sequence encodes (no <unk> in the token stream).
      {"byte_fallback", "true"},
      // Lossless: no NFKC, no invented leading space per line, runs of spaces kept, so decode
      // reproduces the corpus bytes exactly and bits-per-byte counts real bytes.
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", "false"},
      {"remove_extra_whitespaces", "false"},
      {"split_digits", o.split_digits ? "true" : "false"},
      {"input_sentence_size", std::to_string(o.input_sentence_size)},
      {"shuffle_input_sentence", "true"},
      {"max_sentence_length", std::to_string(o.max_sentence_length)},
      // Unigram's EM gives a different model per thread count (measured); BPE training does not
      // get faster with threads. One thread makes the model a function of corpus + options only.
      {"num_threads", "1"},
  };
}

uint64_t tokenizer_key(uint64_t corpus_hash, const TokenizerOptions& options) {
  Fnv1a64 h;
  h.update(kTokenizerFormat).update_u64(corpus_hash);
  for (const auto& [k, v] : trainer_args(options)) h.update(k).update("=").update(v).update("\n");
  return h.digest();
}

std::string train_tokenizer(std::string_view text, const TokenizerOptions& options) {
  validate(options);
  std::unordered_map<std::string, std::string> args;
  for (const auto& [k, v] : trainer_args(options)) args.emplace(k, v);
  args["minloglevel"] = "2";  // SentencePiece's INFO/WARNING chatter would drown our progress log
  // The line sample (when the corpus exceeds input_sentence_size) uses SentencePiece's global RNG;
  // fix its seed so the sample, and thus the model, is reproducible.
  sentencepiece::SetRandomGeneratorSeed(0x6E757274u);
  LineIterator lines(text);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &model);
  if (!status.ok()) rethrow_training_error(status.message(), text, options);
  return model;
}

}  // namespace nurture::data
