#include "config/data_settings.h"

namespace nurture::config {

data::DataConfig data_settings(const Config& config) {
  data::DataConfig d;
  d.corpus = config.data.corpus;
  d.cache_dir = config.data.cache_dir;
  d.vocab_size = config.model.vocab_size;
  d.tokenizer_type = std::string(to_string(config.data.tokenizer));
  d.val_fraction = config.data.val_fraction;
  d.seq_len = config.model.seq_len;
  return d;
}

}  // namespace nurture::config
