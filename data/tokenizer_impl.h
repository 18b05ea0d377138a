// The kind-specific half of data::Tokenizer: one implementation per tokenizer kind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"

namespace nurture::data {

// Immutable once built; Tokenizer copies share one instance, so every method must be safe to call
// from many threads at once. Ids passed to decode() and piece() are already range-checked.
class Tokenizer::Impl {
 public:
  virtual ~Impl() = default;
  virtual void encode_append(std::string_view text, std::vector<int32_t>& out) const = 0;
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  virtual int vocab_size() const = 0;
  virtual int bos_id() const = 0;
  virtual int eos_id() const = 0;
  virtual int unk_id() const = 0;
  virtual std::string piece(int id) const = 0;
  // See Tokenizer::document_start_id: by default the newline, else eos.
  virtual int document_start_id() const { return newline_id >= 0 ? newline_id : eos_id(); }

  // Filled by the loader; see Tokenizer for their meaning.
  std::vector<int> token_bytes;  // one entry per id
  int newline_id = -1;
  uint64_t hash = 0;
  std::filesystem::path path;
};

}  // namespace nurture::data
