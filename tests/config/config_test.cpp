// Config: defaults, shipped configs, overrides, derived defaults, YAML/JSON emission.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "config/config_schema.h"

namespace nurture::config {
namespace {

const std::string kRepo = NURTURE_SOURCE_DIR;

TEST(ConfigTest, DefaultsMatchTheDocumentedValues) {
  const Config c = parse_config("");
  EXPECT_EQ(c, Config{});
  EXPECT_EQ(c.model.vocab_size, 4096);
  EXPECT_EQ(c.model.d_model, 256);
  EXPECT_EQ(c.model.n_layer, 6);
  EXPECT_EQ(c.model.n_head, 8);
  EXPECT_EQ(c.model.seq_len, 256);
  EXPECT_EQ(c.model.dropout, 0.0);
  EXPECT_TRUE(c.model.bias);
  EXPECT_EQ(c.model.pos_embedding, model::PosEmbedding::learned);
  EXPECT_EQ(c.model.gelu, core::GeluKind::Tanh);
  EXPECT_EQ(c.model.init_std, 0.02);
  EXPECT_EQ(c.data.corpus, std::vector<std::string>{"datasets/gutenberg"});
  EXPECT_EQ(c.data.tokenizer, Tokenizer::bpe);
  EXPECT_EQ(c.data.cache_dir, "");
  EXPECT_EQ(c.data.val_fraction, 0.05);
  EXPECT_EQ(c.optim.lr, 6e-4);
  EXPECT_EQ(c.optim.min_lr, 6e-5);
  EXPECT_EQ(c.optim.warmup_steps, 100);
  EXPECT_EQ(c.optim.schedule, optim::ScheduleKind::cosine);
  EXPECT_EQ(c.optim.beta1, 0.9);
  EXPECT_EQ(c.optim.beta2, 0.95);
  EXPECT_EQ(c.optim.eps, 1e-8);
  EXPECT_EQ(c.optim.weight_decay, 0.1);
  EXPECT_TRUE(c.optim.decay_embeddings);
  EXPECT_EQ(c.optim.grad_clip, 1.0);
  EXPECT_EQ(c.train.steps, 1000);
  EXPECT_EQ(c.train.batch_size, 16);
  EXPECT_EQ(c.train.grad_accum, 1);
  EXPECT_EQ(c.train.seed, 1337u);
  EXPECT_EQ(c.train.threads, 0);
  EXPECT_EQ(c.train.eval_every, 100);
  EXPECT_EQ(c.train.eval_batches, 8);
  EXPECT_EQ(c.train.checkpoint_every, 0);
  EXPECT_EQ(c.train.log_every, 10);
  EXPECT_EQ(c.precision.dtype, precision::Format::fp32);
  EXPECT_EQ(c.precision.loss_scale, LossScale::none());
  EXPECT_TRUE(c.precision.layernorm_fp32);
  EXPECT_TRUE(c.precision.softmax_fp32);
  EXPECT_TRUE(c.precision.loss_fp32);
  EXPECT_EQ(c.precision.master_weights, MasterWeights::fp32);
  EXPECT_EQ(c.precision.init_scale, 65536.0);
  EXPECT_EQ(c.precision.growth_interval, 2000);
  EXPECT_EQ(c.precision.min_scale, 1e-4);
  EXPECT_EQ(c.output.dir, "runs/default");
  EXPECT_EQ(c.output.name, "");
}

TEST(ConfigTest, EmptySectionsMeanDefaults) {
  EXPECT_EQ(parse_config("model:\noptim:\n"), Config{});
  EXPECT_EQ(parse_config("# only a comment\n"), Config{});
}

TEST(ConfigTest, LossScaleDefaultFollowsDtype) {
  EXPECT_EQ(parse_config("precision: {dtype: fp16}").precision.loss_scale, LossScale::dynamic());
  EXPECT_EQ(parse_config("precision: {dtype: bf16}").precision.loss_scale, LossScale::none());
  // Derived after overrides, so a sweep that switches dtype gets the matching scaler.
  EXPECT_EQ(parse_config("precision: {dtype: fp32}", {"precision.dtype=fp16"}).precision.loss_scale,
            LossScale::dynamic());
  // An explicit choice always wins.
  EXPECT_EQ(parse_config("precision: {dtype: fp16, loss_scale: none}").precision.loss_scale, LossScale::none());
  EXPECT_EQ(parse_config("precision: {dtype: bf16, loss_scale: dynamic}").precision.loss_scale, LossScale::dynamic());
  EXPECT_EQ(parse_config("precision: {dtype: fp16, loss_scale: 1024}").precision.loss_scale, LossScale::constant(1024));
  EXPECT_EQ(parse_config("precision: {dtype: fp16, loss_scale: ~}").precision.loss_scale, LossScale::none());
}

TEST(ConfigTest, ShippedTinyConfig) {
  // Other suites train with it, so it must stay tiny; exact sizes are tuned elsewhere.
  const Config c = load_config(kRepo + "/configs/tiny.yaml");
  EXPECT_LE(c.model.vocab_size, 1024);
  EXPECT_LE(c.model.d_model, 128);
  EXPECT_LE(c.model.n_layer, 2);
  EXPECT_LE(c.model.seq_len, 128);
  EXPECT_LE(c.train.steps, 100);
  EXPECT_EQ(c.data.corpus, std::vector<std::string>{"datasets/tinyshakespeare"});
  EXPECT_EQ(parse_config(to_yaml(c)), c);
}

TEST(ConfigTest, ShippedSmallConfig) {
  const Config c = load_config(kRepo + "/configs/small.yaml");
  EXPECT_EQ(c.model.vocab_size, 4096);
  EXPECT_EQ(c.model.d_model % c.model.n_head, 0);
  EXPECT_EQ(c.data.corpus, std::vector<std::string>{"datasets/tinystories"});
  EXPECT_EQ(parse_config(to_yaml(c)), c);
}

TEST(ConfigTest, Overrides) {
  const Config c =
      parse_config("optim: {lr: 1.0e-3}\nmodel: {n_layer: 6}\n",
                   {"optim.lr=3e-4", "model.n_layer=2", "optim.grad_clip=null", "data.corpus=[a.txt, b.txt]",
                    "output.name=", "train.steps=1e4", "precision.loss_scale=512", " model.bias = false"});
  EXPECT_EQ(c.optim.lr, 3e-4);
  EXPECT_EQ(c.model.n_layer, 2);
  EXPECT_FALSE(c.optim.grad_clip.has_value());
  EXPECT_EQ(c.data.corpus, (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(c.output.name, "");
  EXPECT_EQ(c.train.steps, 10000);
  EXPECT_EQ(c.precision.loss_scale, LossScale::constant(512));
  EXPECT_FALSE(c.model.bias);

  EXPECT_EQ(parse_config("", {"data.corpus=one.txt"}).data.corpus, std::vector<std::string>{"one.txt"});
  EXPECT_EQ(parse_config("", {"optim.lr=1e-3", "optim.lr=2e-3"}).optim.lr, 2e-3);  // last one wins
  EXPECT_EQ(parse_config("", {"output.dir=runs/a=b"}).output.dir, "runs/a=b");     // split at the first '='
}

TEST(ConfigTest, OverrideFromFile) {
  const Config c = load_config(kRepo + "/configs/tiny.yaml", {"model.n_layer=1", "precision.dtype=bf16"});
  EXPECT_EQ(c.model.n_layer, 1);
  EXPECT_EQ(c.model.d_model, 64);
  EXPECT_EQ(c.precision.dtype, precision::Format::bf16);
}

Config everything_changed() {
  Config c;
  c.model = {512, 96, 3, 12, 33, 0.125, false, model::PosEmbedding::alibi, core::GeluKind::Erf, 0.1 + 0.2};
  c.data.corpus = {"datasets/a b.txt", "x:y #z", "\"quoted\" \\ back", "üñí", "no", "1e3", "null", "-"};
  c.data.tokenizer = Tokenizer::unigram;
  c.data.cache_dir = "cache\twith\ttabs\nand newline";
  c.data.val_fraction = 1.0 / 3.0;
  c.optim = {1e-3,         0.0,  0,  optim::ScheduleKind::wsd, 0.0, 0.999, 1e-12, 0.0, false, std::nullopt, 0.35,
             std::nullopt, 3e-4, 123};
  c.train = {7, 3, 5, 0xFFFFFFFFFFFFull, 2, 0, 1, 3, 1};
  c.precision = {precision::Format::fp16,
                 LossScale::constant(8192.5),
                 false,
                 false,
                 false,
                 MasterWeights::half,
                 1e6,
                 7,
                 1e-30,
                 false,
                 std::nullopt};
  c.output = {"", "true"};
  return c;
}

TEST(ConfigTest, YamlRoundTripIsExact) {
  for (const Config& c : {Config{}, everything_changed()}) {
    const std::string yaml = to_yaml(c);
    EXPECT_EQ(parse_config(yaml), c) << yaml;
    EXPECT_EQ(to_yaml(parse_config(yaml)), yaml);
  }
}

TEST(ConfigTest, YamlListsEveryKeyOnce) {
  const std::string yaml = to_yaml(Config{});
  for (const auto& key : config_keys()) {
    const std::string line = "\n  " + std::string(key.name()) + ": ";
    auto first = yaml.find(line);
    ASSERT_NE(first, std::string::npos) << key.path;
  }
  for (const auto& section : config_sections()) EXPECT_NE(yaml.find("\n" + section.name + ":\n"), std::string::npos);
}

TEST(ConfigTest, YamlNumbersReadAsFloatsInPython) {
  // PyYAML (YAML 1.1) reads "1e-08" as a string; emitted floats always carry a '.'.
  const std::string yaml = to_yaml(Config{});
  EXPECT_NE(yaml.find("  eps: 1.0e-8\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  lr: 6.0e-4\n"), std::string::npos);
  EXPECT_NE(yaml.find("  dropout: 0.0\n"), std::string::npos);
  EXPECT_NE(yaml.find("  init_scale: 65536.0\n"), std::string::npos);
  EXPECT_NE(yaml.find("  steps: 1000\n"), std::string::npos);
}

TEST(ConfigTest, Json) {
  Config c = everything_changed();
  const nlohmann::json j = to_json(c);
  EXPECT_EQ(j["model"]["d_model"], 96);
  EXPECT_EQ(j["model"]["pos_embedding"], "alibi");
  EXPECT_EQ(j["optim"]["lr"], 1e-3);
  EXPECT_TRUE(j["optim"]["grad_clip"].is_null());
  EXPECT_EQ(j["data"]["corpus"].size(), c.data.corpus.size());
  EXPECT_EQ(j["precision"]["loss_scale"], 8192.5);
  EXPECT_EQ(j["train"]["seed"], 0xFFFFFFFFFFFFll);
  EXPECT_EQ(to_json(Config{})["precision"]["loss_scale"], "none");
  size_t keys = 0;
  for (const auto& [section, body] : j.items()) keys += body.size();
  EXPECT_EQ(keys, config_keys().size());
}

TEST(ConfigTest, ReferenceListsEveryKey) {
  const std::string md = config_reference_markdown();
  for (const auto& section : config_sections()) EXPECT_NE(md.find("## `" + section.name + "`"), std::string::npos);
  for (const auto& key : config_keys())
    EXPECT_NE(md.find("| `" + std::string(key.name()) + "` |"), std::string::npos) << key.path;
  EXPECT_NE(md.find("| `dropout` | float | `0.0` | [0, 1) |"), std::string::npos) << md;
  EXPECT_NE(md.find("dynamic for fp16, none otherwise"), std::string::npos);
  EXPECT_NE(md.find("fp32 \\| bf16 \\| fp16"), std::string::npos);  // pipes escaped in table cells
}

TEST(ConfigTest, KeyTableIsWellFormed) {
  std::set<std::string> seen;
  for (const auto& key : config_keys()) {
    EXPECT_TRUE(seen.insert(key.path).second) << "duplicate " << key.path;
    EXPECT_FALSE(key.description.empty()) << key.path;
    EXPECT_FALSE(key.accepted.empty()) << key.path;
    bool known_section = false;
    for (const auto& s : config_sections()) known_section = known_section || s.name == key.section();
    EXPECT_TRUE(known_section) << key.path;
    EXPECT_EQ(find_key(key.path), &key);
  }
  EXPECT_EQ(find_key("optim.nope"), nullptr);
}

TEST(ConfigTest, EnumNames) {
  EXPECT_EQ(to_string(precision::Format::bf16), "bf16");
  EXPECT_EQ(to_string(optim::ScheduleKind::linear), "linear");
  EXPECT_EQ(to_string(optim::ScheduleKind::wsd), "wsd");
  EXPECT_EQ(to_string(LossScale::dynamic()), "dynamic");
  EXPECT_EQ(to_string(LossScale::constant(128)), "128");
}

TEST(ConfigTest, FormatNumberIsShortestRoundTrip) {
  EXPECT_EQ(format_number(6e-4), "6e-4");
  EXPECT_EQ(format_number(0.05), "0.05");
  EXPECT_EQ(format_number(1e-8), "1e-8");
  EXPECT_EQ(format_number(65536), "65536");
  EXPECT_EQ(std::stod(format_number(0.1 + 0.2)), 0.1 + 0.2);
}

}  // namespace
}  // namespace nurture::config
