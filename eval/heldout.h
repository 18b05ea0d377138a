// The checkpoint's held-out split: what `source: heldout` likelihood tasks score and what the
// generated tasks are built from.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "data/tokenizer.h"

namespace nurture::eval {

struct HeldOut {
  std::vector<int32_t> tokens;      // the validation split, in the checkpoint's tokenizer
  std::filesystem::path cache_dir;  // the data cache; generated task files go to <cache_dir>/tasks/
  std::string description;          // for reports: corpus and split size
};

// Re-prepares the checkpoint's data config (data::prepare: the tokenizer and token caches make
// this a file read) and checks that it yields the checkpoint's tokenizer. Throws EvalError if the
// corpus or its settings changed since training, data::DataError for a missing corpus.
HeldOut load_heldout(const config::Config& config, const data::Tokenizer& tokenizer,
                     const std::function<void(const std::string&)>& log = {});

}  // namespace nurture::eval
