#include "config/yaml_reader.h"

#include <algorithm>
#include <map>

#include "config/config_error.h"
#include "config/config_suggest.h"
#include "config/yaml_source.h"

namespace nurture::config {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

YamlReader::YamlReader(std::string source, std::function<void(const std::string&)> raise)
    : source_(std::move(source)), raise_(std::move(raise)) {}

std::string YamlReader::at(const YAML::Node& n) const { return yaml_location(source_, n.Mark()); }

void YamlReader::fail(const std::string& where, const std::string& message) const {
  // Messages quote the user's keys and values, which may hold line breaks.
  const std::string line = where + ": " + one_line(message);
  if (raise_) raise_(line);
  throw ConfigError(line);
}

std::string YamlReader::key(const YAML::Node& k) const {
  if (!k.IsScalar()) fail(k, std::string("keys must be plain words, found ") + (k.IsSequence() ? "a list" : "a map"));
  return k.Scalar();
}

void YamlReader::check_keys(const YAML::Node& map, const MapKeys& keys) const {
  std::map<std::string, int> first_line;
  for (const auto& kv : map) {
    const std::string k = key(kv.first);
    if (std::find(keys.known.begin(), keys.known.end(), k) == keys.known.end()) {
      const auto best = nearest_name(k, keys.known);
      fail(kv.first, "unknown " + keys.noun + " '" + k + "'" + keys.in +
                         (best ? "; did you mean '" + *best + "'?" : "") + " (accepted: " + joined(keys.known) + ")");
    }
    const auto [it, inserted] = first_line.emplace(k, kv.first.Mark().line + 1);
    if (!inserted)
      fail(kv.first,
           keys.noun + " '" + k + "' is given twice" + keys.in + " (first at line " + std::to_string(it->second) + ")");
  }
}

void YamlReader::require_map(const YAML::Node& n, const std::string& what, const std::string& example) const {
  if (!n.IsMap()) fail(n, what + " must be a map, e.g. " + example);
}

std::string YamlReader::text(const YAML::Node& n, const std::string& name) const {
  if (!n.IsScalar()) fail(n, "'" + name + "' must be a string");
  return n.Scalar();
}

std::vector<std::string> YamlReader::texts(const YAML::Node& n, const std::string& name) const {
  if (!n.IsSequence()) fail(n, "'" + name + "' must be a list of strings");
  std::vector<std::string> out;
  for (const auto& e : n) out.push_back(text(e, name));
  return out;
}

int64_t YamlReader::integer(const YAML::Node& n, const std::string& name, int64_t min) const {
  int64_t v = 0;
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
    v = n.as<int64_t>();
  } catch (const YAML::Exception&) {
    fail(n, "'" + name + "' must be an integer");
  }
  if (v < min) fail(n, "'" + name + "' must be ≥ " + std::to_string(min) + ", got " + std::to_string(v));
  return v;
}

bool YamlReader::boolean(const YAML::Node& n, const std::string& name) const {
  try {
    if (n.IsScalar()) return n.as<bool>();
  } catch (const YAML::Exception&) {
  }
  fail(n, "'" + name + "' must be true or false");
}

}  // namespace nurture::config
