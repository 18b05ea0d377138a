#include "data/sentencepiece_tokenizer.h"

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

class SentencePieceTokenizer final : public Tokenizer::Impl {
 public:
  explicit SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> sp) : sp_(std::move(sp)) {}

  // Line by line (see Tokenizer): each '\n' is the byte token <0x0A>, the lines are encoded apart.
  void encode_append(std::string_view text, std::vector<int32_t>& out) const override {
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
      out.push_back(newline_id);
      pos = nl + 1;
    }
  }

  std::string decode(std::span<const int32_t> ids) const override {
    const std::vector<int> v(ids.begin(), ids.end());
    std::string text;
    const auto status = sp_->Decode(v, &text);
    if (!status.ok()) throw std::runtime_error(std::string("SentencePiece decode failed: ") + status.message());
    return text;
  }

  int vocab_size() const override { return sp_->GetPieceSize(); }
  int bos_id() const override { return sp_->bos_id(); }
  int eos_id() const override { return sp_->eos_id(); }
  int unk_id() const override { return sp_->unk_id(); }
  std::string piece(int id) const override { return sp_->IdToPiece(id); }

 private:
  std::unique_ptr<const sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace

std::shared_ptr<const Tokenizer::Impl> load_sentencepiece(const std::filesystem::path& model_path) {
  const std::string bytes = read_file(model_path);
  auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = sp->LoadFromSerializedProto(bytes);
  if (!status.ok())
    throw DataError("cannot load tokenizer '" + model_path.string() + "': " + status.message() +
                    "; delete the file so it is retrained, or point to a valid SentencePiece .model");

  const int newline = sp->PieceToId("<0x0A>");
  if (newline == sp->unk_id() || !sp->IsByte(newline))
    throw DataError("tokenizer '" + model_path.string() +
                    "' has no byte-fallback pieces (no <0x0A>); use a model trained by nurture (byte_fallback=true)");
  std::vector<int> token_bytes(static_cast<size_t>(sp->GetPieceSize()));
  for (int id = 0; id < sp->GetPieceSize(); ++id) {
    int n = 0;
    if (sp->IsByte(id))
      n = 1;
    else if (!sp->IsControl(id) && !sp->IsUnknown(id) && !sp->IsUnused(id))
      n = piece_text_bytes(sp->IdToPiece(id));
    token_bytes[static_cast<size_t>(id)] = n;
  }
  auto impl = std::make_shared<SentencePieceTokenizer>(std::move(sp));
  impl->token_bytes = std::move(token_bytes);
  impl->newline_id = newline;
  impl->hash = fnv1a64(bytes);
  impl->path = model_path;
  return impl;
}

}  // namespace nurture::data
