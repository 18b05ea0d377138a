// Text <-> token ids: a trained SentencePiece model, or GPT-2's byte-level BPE (for imported models).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nurture::data {

// Two kinds of tokenizer behind one interface, so every command runs unchanged on either.
//
// SentencePiece (load): models trained by nurture (tokenizer_trainer.h) are lossless: identity
// normalization, no dummy prefix, whitespace kept, byte fallback. So decode(encode(s)) == s for any
// UTF-8 s, and every token stands for a fixed number of bytes (token_bytes), which is what
// bits-per-byte needs. encode() works line by line: each '\n' becomes the byte token <0x0A> and the
// text between newlines is encoded independently. Hence encode(a + "\n" + b) == encode(a) +
// [newline] + encode(b) exactly, for any chunking of a corpus, with BPE or unigram.
//
// GPT-2 byte-level BPE (load_gpt2_bpe, data/gpt2_bpe.h): encode() is exactly GPT-2's encoder on the
// whole text (openai/gpt-2 encoder.py, Hugging Face GPT2Tokenizer, tiktoken "gpt2"): the text is
// NOT split at newlines, because GPT-2's pre-tokeniser merges runs of whitespace ("\n\n" is one
// token, 628), so the line-by-line identity above does not hold; what holds is that the ids are
// the ones the pretrained model saw. Any byte string encodes (bytes that are not valid UTF-8 become
// pre-tokens of their own) and decode(encode(s)) == s for every s. <|endoftext|> is both bos and eos
// and, like SentencePiece's <s>/</s>, a control token: encode() never produces it (the text
// "<|endoftext|>" encodes as ordinary characters, as in GPT-2), it decodes to nothing and counts 0
// bytes. There is no unknown token: unk_id() is -1.
//
// In both kinds, splitting elsewhere than at a newline (e.g. an eval context and its continuation
// " word") usually but not always matches encoding the joined text, as with any subword tokenizer;
// a continuation starting with a space encodes to the pieces the word gets in running text.
//
// Copies share the loaded model (cheap to copy); all const methods are safe to call from many threads.
class Tokenizer {
 public:
  // The kind-specific half (data/tokenizer_impl.h).
  class Impl;

  // Loads a SentencePiece .model file; throws DataError if it is missing, unreadable, or lacks byte fallback.
  static Tokenizer load(const std::filesystem::path& model_path);
  // Loads GPT-2's byte-level BPE from a Hugging Face vocab.json (token -> id) and merges.txt (one
  // "left right" pair per line, by rank). Throws a one-line DataError naming the file and the line
  // or entry for: an unreadable file, malformed JSON, ids that are not exactly 0..n-1 (duplicates,
  // gaps), a merges line that is not two tokens, a merge whose parts or result are not in the
  // vocabulary, a missing single-byte token or a missing <|endoftext|>.
  static Tokenizer load_gpt2_bpe(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);

  std::vector<int32_t> encode(std::string_view text) const;
  // Appends to `out` instead of returning a new vector.
  void encode_append(std::string_view text, std::vector<int32_t>& out) const;
  // Throws std::out_of_range for ids outside [0, vocab_size).
  std::string decode(std::span<const int32_t> ids) const;

  int vocab_size() const;
  int bos_id() const;  // control tokens: never produced by encode(), free for callers to insert
  int eos_id() const;
  int unk_id() const;  // -1 when the kind has none (GPT-2)
  int newline_id() const { return newline_id_; }
  // The token a model saw right before a document starts, which evaluation puts before a text with
  // no context: the newline for nurture's SentencePiece models (its corpora separate documents by
  // lines and never insert bos), <|endoftext|> for GPT-2 (its document separator, and what
  // lm-evaluation-harness uses as the prefix token).
  int document_start_id() const;
  // The token as the model file spells it: e.g. "▁the", "<0x0A>", "<s>" (SentencePiece); "Ġthe",
  // "Ċ", "<|endoftext|>" (GPT-2, bytes shown through its byte-to-unicode map).
  std::string piece(int id) const;

  // Number of text bytes the token decodes to: 0 for control tokens, 1 for a SentencePiece byte
  // token, the UTF-8 length of the piece (with "▁" counted as one space) for other SentencePiece
  // pieces, the number of bytes it stands for for a GPT-2 token.
  // Throws std::out_of_range for ids outside [0, vocab_size).
  int token_bytes(int id) const {
    if (id < 0 || static_cast<size_t>(id) >= token_bytes_.size()) throw_out_of_range(id);
    return token_bytes_[static_cast<size_t>(id)];
  }
  // Sum of token_bytes over `ids`: the byte count of the text they decode to.
  uint64_t count_bytes(std::span<const int32_t> ids) const;

  // FNV-1a of the model file bytes (of vocab.json then merges.txt for GPT-2); keys the token-shard cache.
  uint64_t hash() const { return hash_; }
  // The .model file, or vocab.json for GPT-2.
  const std::filesystem::path& path() const { return path_; }

 private:
  Tokenizer() = default;
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  [[noreturn]] void throw_out_of_range(int id) const;

  std::shared_ptr<const Impl> impl_;
  std::span<const int> token_bytes_;  // owned by *impl_
  int newline_id_ = -1;
  uint64_t hash_ = 0;
  std::filesystem::path path_;
};

}  // namespace nurture::data
