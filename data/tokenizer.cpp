#include "data/tokenizer.h"

#include <stdexcept>

#include "data/gpt2_bpe.h"
#include "data/sentencepiece_tokenizer.h"
#include "data/tokenizer_impl.h"

namespace nurture::data {

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl)
    : impl_(std::move(impl)),
      token_bytes_(impl_->token_bytes),
      newline_id_(impl_->newline_id),
      hash_(impl_->hash),
      path_(impl_->path) {}

Tokenizer Tokenizer::load(const std::filesystem::path& model_path) { return Tokenizer(load_sentencepiece(model_path)); }

Tokenizer Tokenizer::load_gpt2_bpe(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt) {
  return Tokenizer(data::load_gpt2_bpe(vocab_json, merges_txt));
}

void Tokenizer::throw_out_of_range(int id) const {
  throw std::out_of_range("token id " + std::to_string(id) + " outside vocabulary [0, " +
                          std::to_string(token_bytes_.size()) + ")");
}

void Tokenizer::encode_append(std::string_view text, std::vector<int32_t>& out) const {
  impl_->encode_append(text, out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  encode_append(text, out);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  for (int32_t id : ids)
    if (id < 0 || id >= vocab_size()) throw_out_of_range(id);
  return impl_->decode(ids);
}

int Tokenizer::vocab_size() const { return static_cast<int>(token_bytes_.size()); }
int Tokenizer::bos_id() const { return impl_->bos_id(); }
int Tokenizer::eos_id() const { return impl_->eos_id(); }
int Tokenizer::document_start_id() const { return impl_->document_start_id(); }
int Tokenizer::unk_id() const { return impl_->unk_id(); }

std::string Tokenizer::piece(int id) const {
  if (id < 0 || id >= vocab_size()) throw_out_of_range(id);
  return impl_->piece(id);
}

uint64_t Tokenizer::count_bytes(std::span<const int32_t> ids) const {
  uint64_t n = 0;
  for (int32_t id : ids) n += static_cast<uint64_t>(token_bytes(id));
  return n;
}

}  // namespace nurture::data
