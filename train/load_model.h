// Loading a trained model for inference (sample, eval, ptq, analyze): the checkpoint's own
// config rebuilds the GPT, its /params fill it, and the run's tokenizer is found next to it.
#pragma once

#include <filesystem>
#include <memory>

#include "config/config.h"
#include "data/tokenizer.h"
#include "model/gpt.h"

namespace nurture::train {

struct LoadedModel {
  config::Config config;
  std::unique_ptr<model::GPT> gpt;
  std::unique_ptr<data::Tokenizer> tokenizer;  // null if no tokenizer.model was found
  int64_t step = 0;
};

// Tokenizer lookup: the checkpoint's directory, then its parent (the run directory): tokenizer.model,
// or vocab.json + merges.txt for data.tokenizer: gpt2 (an imported GPT-2; their absence is then an
// error). The model has no gradient buffer (model::GPTConfig::gradients = false).
LoadedModel load_model(const std::filesystem::path& checkpoint);

}  // namespace nurture::train
