#include "experiments/grid_keys.h"

#include <cctype>

#include "config/config_suggest.h"

namespace nurture::experiments {

const std::vector<std::pair<std::string, std::string>>& key_aliases() {
  static const std::vector<std::pair<std::string, std::string>> aliases{
      {"wd", "optim.weight_decay"},
      {"paper_wd", "optim.paper_weight_decay"},
      {"schedule", "optim.schedule"},
      {"growth_frac", "precision.growth_interval_fraction"},
      {"clip", "optim.grad_clip"},
      {"lr", "optim.lr"},
      {"warmup", "optim.warmup_steps"},
      {"dropout", "model.dropout"},
      {"pos", "model.pos_embedding"},
      {"layers", "model.n_layer"},
      {"width", "model.d_model"},
      {"heads", "model.n_head"},
      {"seq", "model.seq_len"},
      {"vocab", "model.vocab_size"},
      {"dtype", "precision.dtype"},
      {"scale", "precision.loss_scale"},
      {"master", "precision.master_weights"},
      {"steps", "train.steps"},
      {"batch", "train.batch_size"},
      {"seed", "train.seed"},
      {"corpus", "data.corpus"},
  };
  return aliases;
}

std::string short_key(const std::string& path) {
  for (const auto& [alias, key] : key_aliases())
    if (key == path) return alias;
  return path;
}

std::string resolve_key(const std::string& key, const std::string& where) {
  for (const auto& [alias, path] : key_aliases())
    if (alias == key) return path;
  if (config::find_key(key)) return key;
  std::vector<std::string> names;
  for (const auto& k : config::config_keys()) names.push_back(k.path);
  for (const auto& a : key_aliases()) names.push_back(a.first);
  const auto best = config::nearest_name(key, names);
  throw config::ConfigError(where + ": key '" + key + "' is not a config key" +
                            (best ? "; did you mean '" + *best + "'?" : "") +
                            " (use dotted keys such as optim.weight_decay, or an alias: wd, clip, dtype, dropout, pos, "
                            "...; see experiments/README.md)");
}

namespace {

// Paths and identifiers stay bare (they read back as the same string in YAML and need no
// quoting in a shell); anything else is double-quoted.
std::string quoted_if_needed(const std::string& s) {
  bool plain = !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_' || s[0] == '/');
  for (char c : s)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/' ||
                      c == '=' || c == ',' || c == '+');
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}) plain = plain && s != word;
  if (plain) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

struct Text {
  std::string operator()(std::monostate) const { return "null"; }
  std::string operator()(bool b) const { return b ? "true" : "false"; }
  std::string operator()(int64_t i) const { return std::to_string(i); }
  std::string operator()(double d) const { return config::format_number(d); }
  std::string operator()(const std::string& s) const { return quoted_if_needed(s); }
  std::string operator()(const std::vector<std::string>& list) const {
    std::string out = "[";
    for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + quoted_if_needed(list[i]);
    return out + "]";
  }
};

}  // namespace

std::string value_text(const config::ConfigValue& v) { return std::visit(Text{}, v); }

std::string canonical_value(const std::string& path, const YAML::Node& value, const std::string& where) {
  const config::KeySpec* spec = config::find_key(path);
  if (!spec) throw config::ConfigError(where + ": key '" + path + "' is not a config key");
  config::Config c;
  spec->set(c, value, where);
  return value_text(spec->get(c));
}

}  // namespace nurture::experiments
