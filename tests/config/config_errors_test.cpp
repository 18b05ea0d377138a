// Config errors: every kind names file:line (or the command-line override) in one line.
#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.h"
#include "config/config_suggest.h"
#include "tests/support/support.h"

namespace nurture::config {
namespace {

// The error message of parsing `yaml` as "x.yaml", or "" when it parses.
std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  const std::string e = test::error_of<ConfigError>([&] { parse_config(yaml, overrides, "x.yaml"); });
  EXPECT_EQ(e.find('\n'), std::string::npos) << "multi-line: " << e;
  return e;
}

#define EXPECT_ERROR_STARTS(yaml, prefix) EXPECT_EQ(error_of(yaml).rfind(prefix, 0), 0u) << error_of(yaml)

TEST(ConfigErrorTest, UnknownKeySuggestsTheNearestOne) {
  EXPECT_EQ(error_of("model:\n  d_model: 64\noptim:\n  lrr: 3e-4\n"),
            "x.yaml:4: key 'optim.lrr' is unknown; did you mean 'optim.lr'? (accepted keys in optim: lr, min_lr, "
            "warmup_steps, schedule, decay_fraction, beta1, beta2, eps, weight_decay, paper_weight_decay, paper_lr, "
            "paper_steps, decay_embeddings, grad_clip)");
  EXPECT_EQ(error_of("", {"optim.lrr=3"}),
            "command line: 'optim.lrr=3': key 'optim.lrr' is unknown; did you mean 'optim.lr'? (accepted keys in "
            "optim: lr, min_lr, warmup_steps, schedule, decay_fraction, beta1, beta2, eps, weight_decay, "
            "paper_weight_decay, paper_lr, paper_steps, decay_embeddings, grad_clip)");
}

TEST(ConfigErrorTest, SuggestionKinds) {
  EXPECT_ERROR_STARTS("model:\n  bais: false\n", "x.yaml:2: key 'model.bais' is unknown; did you mean 'model.bias'?");
  EXPECT_ERROR_STARTS("model:\n  n-layer: 2\n",
                      "x.yaml:2: key 'model.n-layer' is unknown; did you mean 'model.n_layer'?");
  EXPECT_ERROR_STARTS("model:\n  N_LAYERS: 2\n",
                      "x.yaml:2: key 'model.N_LAYERS' is unknown; did you mean 'model.n_layer'?");
  // The key exists, but in another section.
  EXPECT_ERROR_STARTS("train:\n  lr: 1\n", "x.yaml:2: key 'train.lr' is unknown; did you mean 'optim.lr'?");
  EXPECT_ERROR_STARTS("lr: 1\n", "x.yaml:1: key 'lr' is unknown; did you mean 'optim.lr'? (accepted sections: model,");
  EXPECT_ERROR_STARTS("optm:\n  lr: 1\n", "x.yaml:1: key 'optm' is unknown; did you mean 'optim'?");
  EXPECT_EQ(error_of("", {"optm.lr=1"})
                .rfind("command line: 'optm.lr=1': key 'optm.lr' is unknown; did you mean 'optim.lr'?", 0),
            0u);
  // Nothing close: no guess, but the accepted list.
  EXPECT_EQ(error_of("optim:\n  zzzzzz: 1\n"),
            "x.yaml:2: key 'optim.zzzzzz' is unknown (accepted keys in optim: lr, min_lr, warmup_steps, schedule, "
            "decay_fraction, beta1, beta2, eps, weight_decay, paper_weight_decay, paper_lr, paper_steps, "
            "decay_embeddings, grad_clip)");
}

TEST(ConfigErrorTest, OutOfRange) {
  EXPECT_EQ(error_of("model:\n  dropout: 1.5\n"), "x.yaml:2: 'model.dropout' = 1.5 is out of range [0, 1)");
  EXPECT_EQ(error_of("optim:\n  lr: 0\n"), "x.yaml:2: 'optim.lr' = 0 is out of range (0, inf)");
  EXPECT_EQ(error_of("optim:\n  lr: -1e-3\n"), "x.yaml:2: 'optim.lr' = -1e-3 is out of range (0, inf)");
  EXPECT_EQ(error_of("model:\n  seq_len: 0\n"), "x.yaml:2: 'model.seq_len' = 0 is out of range [1, inf)");
  EXPECT_EQ(error_of("train:\n  batch_size: 0\n"), "x.yaml:2: 'train.batch_size' = 0 is out of range [1, inf)");
  EXPECT_EQ(error_of("optim:\n  grad_clip: 0\n"),
            "x.yaml:2: 'optim.grad_clip' = 0 is out of range (0, inf); null disables clipping");
  EXPECT_EQ(error_of("model:\n  d_model: 3000000000\n"),
            "x.yaml:2: 'model.d_model' = 3000000000 is out of range [1, 2147483647]");
  EXPECT_EQ(error_of("optim:\n  lr: .nan\n"), "x.yaml:2: 'optim.lr' = .nan is out of range (0, inf)");
  EXPECT_EQ(error_of("precision:\n  loss_scale: -2\n"),
            "x.yaml:2: 'precision.loss_scale' = -2 is out of range (0, inf)");
}

TEST(ConfigErrorTest, NotOneOf) {
  EXPECT_EQ(error_of("precision:\n  dtype: fp8\n"),
            "x.yaml:2: 'precision.dtype' = 'fp8' is not one of fp32, bf16, fp16");
  EXPECT_EQ(
      error_of("", {"optim.schedule=step"}),
      "command line: 'optim.schedule=step': 'optim.schedule' = 'step' is not one of cosine, constant, linear, wsd");
  EXPECT_EQ(error_of("precision:\n  loss_scale: auto\n"),
            "x.yaml:2: 'precision.loss_scale' = 'auto' is not one of dynamic, none, or a number > 0");
}

TEST(ConfigErrorTest, WrongType) {
  EXPECT_EQ(error_of("model:\n  n_layer: two\n"), "x.yaml:2: 'model.n_layer' = 'two' is not an integer");
  EXPECT_EQ(error_of("model:\n  n_layer: 2.5\n"), "x.yaml:2: 'model.n_layer' = 2.5 is not an integer");
  EXPECT_EQ(error_of("model:\n  n_layer: [1, 2]\n"), "x.yaml:2: 'model.n_layer' is a list, not an integer");
  EXPECT_EQ(error_of("model:\n  bias: maybe\n"), "x.yaml:2: 'model.bias' = 'maybe' is not a boolean (true or false)");
  EXPECT_EQ(error_of("optim:\n  lr: fast\n"), "x.yaml:2: 'optim.lr' = 'fast' is not a number");
  EXPECT_EQ(error_of("optim:\n  lr:\n"), "x.yaml:2: 'optim.lr' = null is not a number");
  EXPECT_EQ(error_of("output:\n  dir: {a: 1}\n"), "x.yaml:2: 'output.dir' is a map, not a string");
  EXPECT_ERROR_STARTS("model: 3\n", "x.yaml:1: 'model' = 3 is not a map of keys (vocab_size, d_model,");
  EXPECT_ERROR_STARTS("model: [1]\n", "x.yaml:1: 'model' is a list, not a map of keys (vocab_size,");
  EXPECT_ERROR_STARTS("- model\n", "x.yaml:1: the config must be a map of sections (model, data,");
  EXPECT_EQ(error_of("data:\n  corpus: []\n"), "x.yaml:2: 'data.corpus' is an empty list; give at least one entry");
  EXPECT_EQ(error_of("data:\n  corpus: [a, [b]]\n"), "x.yaml:2: 'data.corpus' items must be strings, found a list");
}

TEST(ConfigErrorTest, CrossField) {
  EXPECT_EQ(error_of("model:\n  d_model: 100\n  n_head: 8\n"),
            "x.yaml:3: 'model.d_model' = 100 is not divisible by 'model.n_head' = 8");
  // Points at the key the user touched last, here the override.
  EXPECT_EQ(error_of("model:\n  d_model: 96\n", {"model.n_head=7"}),
            "command line: 'model.n_head=7': 'model.d_model' = 96 is not divisible by 'model.n_head' = 7");
  // min_lr keeps its default; the error points at the lr line.
  EXPECT_EQ(error_of("optim:\n  lr: 1e-5\n"), "x.yaml:2: 'optim.min_lr' = 6e-5 is greater than 'optim.lr' = 1e-5");
  EXPECT_EQ(error_of("precision:\n  master_weights: half\n"),
            "x.yaml:2: 'precision.master_weights' = 'half' needs 'precision.dtype' bf16 or fp16 (it is fp32)");
  EXPECT_EQ(error_of("model:\n  d_model: 63\n  n_head: 7\n  pos_embedding: sinusoidal\n"),
            "x.yaml:4: 'model.pos_embedding' = 'sinusoidal' needs an even 'model.d_model' (it is 63)");
  EXPECT_EQ(error_of("precision:\n  min_scale: 1.0e+6\n"),
            "x.yaml:2: 'precision.min_scale' = 1e+6 is greater than 'precision.init_scale' = 65536");
  // Warmup longer than the run is allowed (the schedule just never reaches its peak).
  EXPECT_EQ(error_of("optim:\n  warmup_steps: 5000\n"), "");
}

TEST(ConfigErrorTest, DuplicateKey) {
  EXPECT_EQ(error_of("optim:\n  lr: 1e-3\n  lr: 2e-3\n"), "x.yaml:3: key 'optim.lr' is given twice (first at line 2)");
  EXPECT_EQ(error_of("optim: {}\nmodel: {}\noptim: {}\n"), "x.yaml:3: key 'optim' is given twice (first at line 1)");
}

TEST(ConfigErrorTest, YamlSyntax) {
  EXPECT_EQ(error_of("model:\n  d_model: [64\n  n_head: 4\n"),
            "x.yaml:3: YAML syntax error: end of sequence flow not found");
  EXPECT_ERROR_STARTS("model:\n  d_model: 64\n n_head: 4\n", "x.yaml:3: YAML syntax error: ");
}

TEST(ConfigErrorTest, BadOverrides) {
  EXPECT_EQ(error_of("", {"optim.lr"}), "command line: 'optim.lr': expected section.key=value, e.g. optim.lr=3e-4");
  EXPECT_EQ(error_of("", {"optim=3"}),
            "command line: 'optim=3': 'optim' is a section; set one key at a time (optim.lr=...)");
  EXPECT_EQ(error_of("", {"data.corpus=[a"}),
            "command line: 'data.corpus=[a': the value is not valid YAML (end of sequence flow not found)");
  EXPECT_EQ(error_of("", {"model.dropout=1"}),
            "command line: 'model.dropout=1': 'model.dropout' = 1 is out of range [0, 1)");
}

TEST(ConfigErrorTest, FileErrorsNameTheFile) {
  const test::TempDir dir("cfg");
  const std::string path = (dir / "bad.yaml").string();
  test::write_text(path, "# a comment\nmodel:\n  dropout: 2\n");
  try {
    load_config(path);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":3: 'model.dropout' = 2 is out of range [0, 1)");
  }
  try {
    load_config(path, {"model.dropout=0.5", "optim.lrr=1"});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":3: ", 0), 0u) << "file errors come before override errors";
  }
  const std::string missing = (dir / "missing.yaml").string();
  try {
    load_config(missing);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot open (No such file or directory)");
  }
  try {
    load_config(dir.string());
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir.string() + ": is a directory, expected a YAML file");
  }
}

TEST(ConfigErrorTest, IsARuntimeError) { EXPECT_THROW(parse_config("model: {dropout: 3}"), std::runtime_error); }

TEST(ConfigErrorTest, NearestName) {
  const std::vector<std::string> keys{"lr", "min_lr", "warmup_steps", "beta1", "beta2"};
  EXPECT_EQ(nearest_name("lrr", keys), "lr");
  EXPECT_EQ(nearest_name("LR", keys), "lr");
  EXPECT_EQ(nearest_name("minlr", keys), "min_lr");
  EXPECT_EQ(nearest_name("warmup-steps", keys), "warmup_steps");
  EXPECT_EQ(nearest_name("beta3", keys), "beta1");  // ties go to the first candidate
  EXPECT_EQ(nearest_name("x", keys), std::nullopt);
  EXPECT_EQ(nearest_name("eps", keys), std::nullopt);  // 3 letters: at most 1 edit
  EXPECT_EQ(edit_distance("bias", "bais"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

}  // namespace
}  // namespace nurture::config
