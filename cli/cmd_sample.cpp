#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "model/generate.h"
#include "train/load_model.h"

namespace nurture::cli {

Action add_sample(CLI::App& app) {
  struct Opts {
    std::string checkpoint, prompt;
    int tokens = 100, top_k = 0;
    double temperature = 0.8;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("checkpoint", o->checkpoint, "Checkpoint (.h5) written by nurture train")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--prompt", o->prompt, "Text to continue (default: start from a newline)");
  app.add_option("-n,--tokens", o->tokens, "Tokens to generate")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--temperature", o->temperature, "0 = greedy")->capture_default_str()->check(CLI::Range(0.0, 100.0));
  app.add_option("--top-k", o->top_k, "Sample among the k most likely tokens (0 = all)")->capture_default_str();
  app.add_option("--seed", o->seed, "Sampling seed")->capture_default_str();
  return [o] {
    train::LoadedModel lm = train::load_model(o->checkpoint);
    if (!lm.tokenizer)
      throw std::runtime_error(o->checkpoint + ": no tokenizer.model next to the checkpoint or in its run directory");
    std::vector<int32_t> ctx = lm.tokenizer->encode(o->prompt);
    if (ctx.empty()) ctx.push_back(lm.tokenizer->newline_id() >= 0 ? lm.tokenizer->newline_id() : 0);
    model::SampleOptions so;
    so.max_new_tokens = o->tokens;
    so.temperature = o->temperature;
    so.top_k = o->top_k;
    so.seed = o->seed;
    so.vocab_limit = lm.tokenizer->vocab_size();
    std::vector<int32_t> out = model::generate(*lm.gpt, ctx, so);
    std::cout << o->prompt << lm.tokenizer->decode(out) << "\n";
    return 0;
  };
}

}  // namespace nurture::cli
