// The experiment config: one struct per YAML section, defaults in the member initializers.
//
// Keys, their YAML types, accepted ranges, docs and emission are declared once, in the key
// table in config_keys.cpp; the structs below only hold the values. To add a key: add the member
// here and one entry there. Parsing, validation, to_yaml/to_json and the reference in docs/CONFIG.md
// (config_reference_markdown) all follow from the table.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/config_error.h"
#include "core/gelu_kind.h"
#include "model/pos_embedding.h"
#include "optim/schedule.h"
#include "precision/format.h"

namespace nurture::config {

// Settings whose values are a module's own enum hold that enum (model::PosEmbedding, ...), so
// the code that builds a module's settings copies them. The YAML name of every value is given
// once, here, as (value, name) pairs in the order docs and errors list them; the enum's own
// numbering does not matter. Tokenizer and MasterWeights exist only as settings.
enum class Tokenizer { bpe, unigram, gpt2 };
enum class MasterWeights { fp32, half };

template <class E>
struct EnumNames;
template <>
struct EnumNames<model::PosEmbedding> {
  using E = model::PosEmbedding;
  static constexpr std::array<std::pair<E, std::string_view>, 3> names{
      {{E::learned, "learned"}, {E::sinusoidal, "sinusoidal"}, {E::alibi, "alibi"}}};
};
template <>
struct EnumNames<core::GeluKind> {
  using E = core::GeluKind;
  static constexpr std::array<std::pair<E, std::string_view>, 2> names{{{E::Tanh, "tanh"}, {E::Erf, "erf"}}};
};
template <>
struct EnumNames<Tokenizer> {
  using E = Tokenizer;
  static constexpr std::array<std::pair<E, std::string_view>, 3> names{
      {{E::bpe, "bpe"}, {E::unigram, "unigram"}, {E::gpt2, "gpt2"}}};
};
template <>
struct EnumNames<optim::ScheduleKind> {
  using E = optim::ScheduleKind;
  static constexpr std::array<std::pair<E, std::string_view>, 4> names{
      {{E::cosine, "cosine"}, {E::constant, "constant"}, {E::linear, "linear"}, {E::wsd, "wsd"}}};
};
template <>
struct EnumNames<precision::Format> {
  using E = precision::Format;
  static constexpr std::array<std::pair<E, std::string_view>, 3> names{
      {{E::fp32, "fp32"}, {E::bf16, "bf16"}, {E::fp16, "fp16"}}};
};
template <>
struct EnumNames<MasterWeights> {
  using E = MasterWeights;
  static constexpr std::array<std::pair<E, std::string_view>, 2> names{{{E::fp32, "fp32"}, {E::half, "half"}}};
};

// The YAML name of a setting's value.
template <class E>
constexpr std::string_view to_string(E e) {
  for (const auto& [value, name] : EnumNames<E>::names)
    if (value == e) return name;
  return "?";
}

// precision.loss_scale. YAML: `dynamic`, `none`, or a positive number (a constant scale).
struct LossScale {
  enum class Kind { none, dynamic, constant };
  Kind kind = Kind::none;
  double value = 0.0;  // the scale when kind == constant

  static LossScale none() { return {}; }
  static LossScale dynamic() { return {Kind::dynamic, 0.0}; }
  static LossScale constant(double v) { return {Kind::constant, v}; }
  bool operator==(const LossScale&) const = default;
};
std::string to_string(const LossScale& s);

struct ModelConfig {
  int vocab_size = 4096;
  int d_model = 256;
  int n_layer = 6;
  int n_head = 8;
  int seq_len = 256;
  double dropout = 0.0;
  bool bias = true;
  model::PosEmbedding pos_embedding = model::PosEmbedding::learned;
  core::GeluKind gelu = core::GeluKind::Tanh;
  double init_std = 0.02;
  double ln_eps = 1e-5;
  bool operator==(const ModelConfig&) const = default;
};

struct DataConfig {
  std::vector<std::string> corpus{"datasets/gutenberg"};
  Tokenizer tokenizer = Tokenizer::bpe;
  std::string cache_dir;  // empty: next to the corpus
  double val_fraction = 0.05;
  bool operator==(const DataConfig&) const = default;
};

struct OptimConfig {
  double lr = 6e-4;
  double min_lr = 6e-5;
  int64_t warmup_steps = 100;
  optim::ScheduleKind schedule = optim::ScheduleKind::cosine;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
  bool decay_embeddings = true;
  std::optional<double> grad_clip = 1.0;  // nullopt: no clipping
  double decay_fraction = 0.2;            // wsd: the final decay phase, as a fraction of train.steps
  // Weight decay stated as the paper's λ; weight_decay is then derived (config_relative.cpp).
  std::optional<double> paper_weight_decay;  // nullopt: weight_decay is used as given
  double paper_lr = 1.2e-4;                  // the paper-side reference run: peak lr ...
  int64_t paper_steps = 75000;               // ... and optimizer steps
  bool operator==(const OptimConfig&) const = default;
};

struct TrainConfig {
  int64_t steps = 1000;
  int batch_size = 16;
  int grad_accum = 1;
  uint64_t seed = 1337;
  int threads = 0;  // 0: all cores
  int64_t eval_every = 100;
  int eval_batches = 8;
  int64_t checkpoint_every = 0;  // 0: only at the end
  int64_t log_every = 10;
  bool operator==(const TrainConfig&) const = default;
};

struct PrecisionConfig {
  precision::Format dtype = precision::Format::fp32;
  // The YAML default depends on dtype (dynamic for fp16, none otherwise); the parser fills it
  // in after all overrides. A Config built in C++ gets exactly what is written here.
  LossScale loss_scale;
  bool layernorm_fp32 = true;
  bool softmax_fp32 = true;
  bool loss_fp32 = true;
  MasterWeights master_weights = MasterWeights::fp32;
  double init_scale = 65536.0;
  int64_t growth_interval = 2000;
  double min_scale = 1e-4;
  bool native_gemm = true;
  // growth_interval stated as a fraction of train.steps; growth_interval is then derived.
  std::optional<double> growth_interval_fraction;
  bool operator==(const PrecisionConfig&) const = default;
};

struct OutputConfig {
  std::string dir = "runs/default";
  std::string name;  // empty: the trainer derives one (e.g. from the config file name)
  bool operator==(const OutputConfig&) const = default;
};

struct Config {
  ModelConfig model;
  DataConfig data;
  OptimConfig optim;
  TrainConfig train;
  PrecisionConfig precision;
  OutputConfig output;
  bool operator==(const Config&) const = default;
};

// Reads a YAML config, applies `overrides` in order ("optim.lr=3e-4", "optim.grad_clip=null",
// "data.corpus=[a.txt,b.txt]"; the value is parsed as YAML), fills derived defaults, validates.
// Throws ConfigError with a one-line "where: what" message.
//
// Build sweep variants from the original file plus overrides, not from a resolved config:
// derived defaults (loss_scale follows dtype) are only derived when the key was never given.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Same, from YAML text; `source` names it in error messages (e.g. "run.h5:/config").
Config parse_config(const std::string& yaml, const std::vector<std::string>& overrides = {},
                    const std::string& source = "<string>");

// Every key with its resolved value, in table order. parse_config(to_yaml(c)) == c.
// Floats always carry a '.', so PyYAML reads them back as floats too.
std::string to_yaml(const Config& config);
// {"model": {"d_model": 256, ...}, ...}; include <nlohmann/json.hpp> to use it.
nlohmann::json to_json(const Config& config);

// Keys stated relative to the run (config_relative.cpp). When the relative key is set (not null),
// the absolute key is derived from it after all overrides, unless the absolute key was set later
// (then the relative key is reset to null): the last one given wins.
//   optim.paper_weight_decay -> optim.weight_decay = λ_paper · (paper_lr · paper_steps) / (lr · steps),
//     the λ that gives this run the paper's lr_peak·λ·T (rounded to 6 significant digits);
//   precision.growth_interval_fraction -> precision.growth_interval = max(1, round(f · steps)).
struct DerivedKey {
  std::string relative, absolute;
};
const std::vector<DerivedKey>& derived_keys();
double paper_equivalent_weight_decay(const Config& c);  // needs c.optim.paper_weight_decay
// lr_peak · λ · T of this run: the weight-decay timescale's inverse as a fraction of the run.
double weight_decay_horizon(const Config& c);

// A Markdown reference of every section and key (type, default, accepted values, meaning),
// for docs/CONFIG.md (tests/cli/readme_test.cpp checks it is current).
std::string config_reference_markdown();

}  // namespace nurture::config
