#include "train/load_model.h"

#include "train/checkpoint.h"
#include "train/trainer.h"

namespace nurture::train {

LoadedModel load_model(const std::filesystem::path& path) {
  ReadOptions ro;
  ro.optimizer = OptimizerState::skip;
  ro.arrays = false;
  Checkpoint probe = read_checkpoint(path.string(), ro);
  LoadedModel lm;
  lm.config = config::parse_config(probe.config_yaml, {}, path.string() + ":/config");
  model::GPTConfig g = gpt_config(lm.config);
  g.gradients = false;  // inference only: no gradient buffer
  lm.gpt = std::make_unique<model::GPT>(g);
  auto& P = lm.gpt->params();
  std::vector<ArraySpec> expected;
  std::vector<float*> dest;
  for (size_t i = 0; i < P.infos().size(); ++i) {
    expected.push_back({P.info(int(i)).name, P.info(int(i)).shape.vec()});
    dest.push_back(P.master(int(i)));
  }
  // Straight into the model's buffer: one copy of the weights in memory (a 124M model is 500 MB).
  Checkpoint ck = read_params_into(path.string(), expected, dest);
  lm.step = ck.state.ints.count("step") ? ck.state.ints.at("step") : 0;
  const std::filesystem::path dirs[] = {path.parent_path(), path.parent_path().parent_path()};
  if (lm.config.data.tokenizer == config::Tokenizer::gpt2) {
    // An imported GPT-2 (nurture import hf-gpt2 writes these two files next to the checkpoint).
    for (const auto& dir : dirs)
      if (std::filesystem::exists(dir / "vocab.json") && std::filesystem::exists(dir / "merges.txt")) {
        lm.tokenizer =
            std::make_unique<data::Tokenizer>(data::Tokenizer::load_gpt2_bpe(dir / "vocab.json", dir / "merges.txt"));
        break;
      }
    if (!lm.tokenizer)
      throw CheckpointError(path.string() +
                            ": its config says data.tokenizer: gpt2, but there is no vocab.json + merges.txt next to "
                            "it or in its parent directory (nurture import hf-gpt2 copies them there)");
    return lm;
  }
  for (const auto& dir : dirs) {
    if (std::filesystem::exists(dir / "tokenizer.model")) {
      lm.tokenizer = std::make_unique<data::Tokenizer>(data::Tokenizer::load(dir / "tokenizer.model"));
      break;
    }
  }
  return lm;
}

}  // namespace nurture::train
