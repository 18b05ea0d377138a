// The config's key table: what parsing, emission, validation and docs iterate over.
// Entries are declared in config_keys.cpp with the builders of config_kinds.h.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"

namespace nurture::config {

// A key's value in a form every emitter understands. monostate is YAML null.
using ConfigValue = std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<std::string>>;

struct KeySpec {
  std::string path;         // "optim.lr"
  std::string type;         // for docs: "float", "int", "bool", "string", "enum", ...
  std::string accepted;     // for docs and errors: "(0, inf)", "fp32 | bf16 | fp16", ...
  std::string description;  // one line
  // Parses `value` into the config; `where` prefixes any ConfigError.
  std::function<void(Config&, const YAML::Node& value, const std::string& where)> set;
  std::function<ConfigValue(const Config&)> get;
  // For keys whose default depends on other keys: applied after all overrides when the key
  // was never given; `default_note` then replaces the printed default in docs.
  std::function<void(Config&)> derive;
  std::string default_note;

  std::string_view section() const { return std::string_view(path).substr(0, path.find('.')); }
  std::string_view name() const { return std::string_view(path).substr(path.find('.') + 1); }
};

struct SectionSpec {
  std::string name;
  std::string description;
};

const std::vector<SectionSpec>& config_sections();
const std::vector<KeySpec>& config_keys();
const KeySpec* find_key(std::string_view path);

// Where each key got its value, so errors about a combination of keys point at the line the
// user most recently touched.
class KeyOrigins {
 public:
  explicit KeyOrigins(std::string source) : source_(std::move(source)) {}
  void record(const std::string& path, const std::string& where) { set_[path] = {++count_, where}; }
  bool is_set(const std::string& path) const { return set_.count(path) > 0; }
  // 1, 2, ... in the order keys were set (a key set twice counts its last time); 0 if never set.
  int order(const std::string& path) const {
    auto it = set_.find(path);
    return it == set_.end() ? 0 : it->second.first;
  }
  // The latest-set origin among `paths`, or the bare source if none was set explicitly.
  std::string where(std::initializer_list<std::string_view> paths) const;

 private:
  std::string source_;
  int count_ = 0;
  std::map<std::string, std::pair<int, std::string>, std::less<>> set_;
};

// Derives the absolute keys of derived_keys() from their relative keys (config_relative.cpp).
void apply_derived_keys(Config& config, const KeyOrigins& origins);

// Constraints between keys (single-key ranges are checked while parsing). Throws ConfigError.
void check_cross_field(const Config& config, const KeyOrigins& origins);

// Shortest text that parses back to the same double ("0.0006", "1e-08", "65536").
std::string format_number(double v);

}  // namespace nurture::config
