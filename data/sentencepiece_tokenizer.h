// The SentencePiece kind of data::Tokenizer (models trained by nurture's tokenizer_trainer.h).
#pragma once

#include <filesystem>
#include <memory>

#include "data/tokenizer_impl.h"

namespace nurture::data {

// Loads a .model file; throws DataError if it is missing, unreadable, or lacks byte fallback.
std::shared_ptr<const Tokenizer::Impl> load_sentencepiece(const std::filesystem::path& model_path);

}  // namespace nurture::data
