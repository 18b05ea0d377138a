// A trained SentencePiece model: text <-> token ids.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace nurture::data {

// Models trained by nurture (tokenizer_trainer.h) are lossless: identity normalization, no dummy
// prefix, whitespace kept, byte fallback. So decode(encode(s)) == s for any UTF-8 s, and every
// token stands for a fixed number of bytes (token_bytes), which is what bits-per-byte needs.
//
// encode() works line by line: each '\n' becomes the byte token <0x0A> and the text between
// newlines is encoded independently. Hence encode(a + "\n" + b) == encode(a) + [newline] + encode(b)
// exactly, for any chunking of a corpus, with BPE or unigram. Splitting elsewhere (e.g. an eval
// context and its continuation " word") usually but not always matches encoding the joined text,
// as with any subword tokenizer; a continuation starting with a space encodes to "▁word" pieces,
// the same pieces the word gets in running text.
//
// Copies share the underlying processor; all const methods are safe to call from many threads.
class Tokenizer {
 public:
  // Loads a .model file; throws DataError if it is missing, unreadable, or lacks byte fallback.
  static Tokenizer load(const std::filesystem::path& model_path);

  std::vector<int32_t> encode(std::string_view text) const;
  // Appends to `out` instead of returning a new vector.
  void encode_append(std::string_view text, std::vector<int32_t>& out) const;
  // Throws std::out_of_range for ids outside [0, vocab_size).
  std::string decode(std::span<const int32_t> ids) const;

  int vocab_size() const;
  int bos_id() const;  // control tokens: never produced by encode(), free for callers to insert
  int eos_id() const;
  int unk_id() const;
  int newline_id() const { return newline_id_; }
  std::string piece(int id) const;  // e.g. "▁the", "<0x0A>", "<s>"

  // Number of text bytes the token decodes to: 0 for control tokens, 1 for a byte token, the UTF-8
  // length of the piece (with "▁" counted as one space) otherwise.
  int token_bytes(int id) const { return token_bytes_.at(static_cast<size_t>(id)); }
  // Sum of token_bytes over `ids`: the byte count of the text they decode to.
  uint64_t count_bytes(std::span<const int32_t> ids) const;

  // FNV-1a of the model file bytes; keys the token-shard cache.
  uint64_t hash() const { return hash_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  Tokenizer() = default;
  std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp_;
  std::vector<int> token_bytes_;
  int newline_id_ = -1;
  uint64_t hash_ = 0;
  std::filesystem::path path_;
};

}  // namespace nurture::data
