#include "eval/heldout.h"

#include "config/data_settings.h"
#include "data/hash.h"
#include "data/prepare.h"
#include "eval/error.h"

namespace nurture::eval {

HeldOut load_heldout(const config::Config& cfg, const data::Tokenizer& tok,
                     const std::function<void(const std::string&)>& log) {
  // The Trainer's data settings (train/trainer.cpp Trainer::setup), so the same caches are found.
  data::DataConfig d = config::data_settings(cfg);
  d.seq_len = 0;  // any held-out size will do for evaluation
  // An imported GPT-2's tokenizer is fixed: encode the corpus with it instead of training one.
  if (cfg.data.tokenizer == config::Tokenizer::gpt2) d.tokenizer = tok;
  data::PreparedData p = data::prepare(d, log ? data::ProgressLog(log) : data::ProgressLog{});
  if (p.tokenizer.hash() != tok.hash())
    throw EvalError("held-out split: the corpus " + (cfg.data.corpus.empty() ? std::string("?") : cfg.data.corpus[0]) +
                    " now yields tokenizer " + data::to_hex(p.tokenizer.hash()) + ", not the checkpoint's " +
                    data::to_hex(tok.hash()) + " (the corpus or data settings changed since training)");
  if (p.val_tokens.empty())
    throw EvalError("held-out split: the run has val_fraction 0, so there is no held-out text to evaluate on");
  HeldOut h;
  h.cache_dir = p.cache_dir;
  h.description = "held-out split of " +
                  (cfg.data.corpus.size() == 1 ? cfg.data.corpus[0] : std::string("the corpus")) + " (" +
                  std::to_string(p.val_tokens.size()) + " tokens)";
  h.tokens = std::move(p.val_tokens);
  return h;
}

}  // namespace nurture::eval
