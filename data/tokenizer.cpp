#include "data/tokenizer.h"

#include <sentencepiece_processor.h>

#include <stdexcept>

#include "data/error.h"
#include "data/file_io.h"
#include "data/hash.h"

namespace nurture::data {

namespace {

// Bytes a piece stands for: SentencePiece writes a space as U+2581 "▁", 3 bytes in UTF-8 for 1 byte of text.
int piece_text_bytes(std::string_view piece) {
  static constexpr std::string_view kSpace = "\xE2\x96\x81";
  int spaces = 0;
  for (size_t i = piece.find(kSpace); i != std::string_view::npos; i = piece.find(kSpace, i + kSpace.size())) ++spaces;
  return static_cast<int>(piece.size()) - 2 * spaces;
}

}  // namespace

Tokenizer Tokenizer::load(const std::filesystem::path& model_path) {
  const std::string bytes = read_file(model_path);
  auto sp = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = sp->LoadFromSerializedProto(bytes);
  if (!status.ok())
    throw DataError("cannot load tokenizer '" + model_path.string() + "': " + status.message() +
                    "; delete the file so it is retrained, or point to a valid SentencePiece .model");

  Tokenizer tok;
  tok.newline_id_ = sp->PieceToId("<0x0A>");
  if (tok.newline_id_ == sp->unk_id() || !sp->IsByte(tok.newline_id_))
    throw DataError("tokenizer '" + model_path.string() +
                    "' has no byte-fallback pieces (no <0x0A>); use a model trained by nurture (byte_fallback=true)");
  tok.token_bytes_.resize(static_cast<size_t>(sp->GetPieceSize()));
  for (int id = 0; id < sp->GetPieceSize(); ++id) {
    int n = 0;
    if (sp->IsByte(id))
      n = 1;
    else if (!sp->IsControl(id) && !sp->IsUnknown(id) && !sp->IsUnused(id))
      n = piece_text_bytes(sp->IdToPiece(id));
    tok.token_bytes_[static_cast<size_t>(id)] = n;
  }
  tok.sp_ = std::move(sp);
  tok.hash_ = fnv1a64(bytes);
  tok.path_ = model_path;
  return tok;
}

void Tokenizer::encode_append(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<int> ids;
  size_t pos = 0;
  while (true) {
    const size_t nl = text.find('\n', pos);
    const std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty()) {
      ids.clear();
      const auto status = sp_->Encode(line, &ids);
      if (!status.ok()) throw std::runtime_error(std::string("SentencePiece encode failed: ") + status.message());
      out.insert(out.end(), ids.begin(), ids.end());
    }
    if (nl == std::string_view::npos) break;
    out.push_back(newline_id_);
    pos = nl + 1;
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  encode_append(text, out);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::vector<int> v(ids.begin(), ids.end());
  for (int id : v)
    if (id < 0 || id >= vocab_size())
      throw std::out_of_range("token id " + std::to_string(id) + " outside vocabulary [0, " +
                              std::to_string(vocab_size()) + ")");
  std::string text;
  const auto status = sp_->Decode(v, &text);
  if (!status.ok()) throw std::runtime_error(std::string("SentencePiece decode failed: ") + status.message());
  return text;
}

int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int Tokenizer::bos_id() const { return sp_->bos_id(); }
int Tokenizer::eos_id() const { return sp_->eos_id(); }
int Tokenizer::unk_id() const { return sp_->unk_id(); }
std::string Tokenizer::piece(int id) const {
  if (id < 0 || id >= vocab_size()) throw std::out_of_range("token id " + std::to_string(id) + " outside vocabulary");
  return sp_->IdToPiece(id);
}

uint64_t Tokenizer::count_bytes(std::span<const int32_t> ids) const {
  uint64_t n = 0;
  for (int32_t id : ids) n += static_cast<uint64_t>(token_bytes(id));
  return n;
}

}  // namespace nurture::data
