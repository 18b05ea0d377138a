#include "train/load_model.h"

#include "train/checkpoint.h"
#include "train/trainer.h"

namespace nurture::train {

LoadedModel load_model(const std::filesystem::path& path) {
  ReadOptions ro;
  ro.optimizer = OptimizerState::skip;
  ro.arrays = false;
  Checkpoint probe = read_checkpoint(path.string(), ro);
  ro.arrays = true;
  LoadedModel lm;
  lm.config = config::parse_config(probe.config_yaml, {}, path.string() + ":/config");
  lm.gpt = std::make_unique<model::GPT>(gpt_config(lm.config));
  auto& P = lm.gpt->params();
  std::vector<ArraySpec> expected;
  for (auto& info : P.infos()) expected.push_back({info.name, info.shape.vec()});
  Checkpoint ck = read_checkpoint_expecting(path.string(), expected, ro);
  for (size_t i = 0; i < P.infos().size(); ++i)
    std::copy(ck.params[i].data.begin(), ck.params[i].data.end(), P.master() + P.info(int(i)).offset);
  lm.step = ck.state.ints.count("step") ? ck.state.ints.at("step") : 0;
  for (auto dir : {path.parent_path(), path.parent_path().parent_path()}) {
    if (std::filesystem::exists(dir / "tokenizer.model")) {
      lm.tokenizer = std::make_unique<data::Tokenizer>(data::Tokenizer::load(dir / "tokenizer.model"));
      break;
    }
  }
  return lm;
}

}  // namespace nurture::train
