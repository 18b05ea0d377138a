// Short names for the config keys grids vary most, and the one way a config value is written
// in overrides, variant names and sweep.json.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config_schema.h"

namespace nurture::experiments {

// (alias, dotted key) pairs, e.g. ("wd", "optim.weight_decay"). Documented in experiments/README.md.
const std::vector<std::pair<std::string, std::string>>& key_aliases();

// "optim.weight_decay" -> "wd"; a key without an alias keeps its full dotted path.
std::string short_key(const std::string& path);

// An alias or a dotted key -> the dotted key, or nullopt when it is neither. Throws
// config::ConfigError "where: ..." with a nearest-key suggestion for an unknown key.
std::string resolve_key(const std::string& key, const std::string& where);

// The canonical text of a value, as YAML that parses back to it: numbers in their shortest
// form ("0.001"), null, bare enum names, quoted paths.
std::string value_text(const config::ConfigValue& v);

// Parses `value` as the key's type at `where` (throwing ConfigError with that location when it
// is out of range or the wrong type) and returns its canonical text.
std::string canonical_value(const std::string& path, const YAML::Node& value, const std::string& where);

}  // namespace nurture::experiments
