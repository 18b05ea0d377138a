// The data pipeline's settings of an experiment config, built in one place: the trainer prepares
// its data with them, and evaluation re-prepares the same held-out split from a checkpoint's
// config (eval/heldout.cpp), so the two can never build different caches.
#pragma once

#include "config/config.h"
#include "data/data_config.h"

namespace nurture::config {

// corpus, cache_dir, vocab_size, tokenizer, val_fraction, and seq_len = model.seq_len (prepare
// then checks that each split holds one training window).
data::DataConfig data_settings(const Config& config);

}  // namespace nurture::config
