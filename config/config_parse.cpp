// YAML tree + command-line overrides -> Config, driven by the key table.
#include <map>

#include "config/config_kinds.h"
#include "config/config_suggest.h"
#include "config/yaml_source.h"

namespace nurture::config {
namespace {

using kinds::fail;

std::vector<std::string> section_names() {
  std::vector<std::string> out;
  for (const auto& s : config_sections()) out.push_back(s.name);
  return out;
}

bool is_section(std::string_view name) {
  for (const auto& s : config_sections())
    if (s.name == name) return true;
  return false;
}

std::vector<std::string> key_names_in(std::string_view section) {
  std::vector<std::string> out;
  for (const auto& k : config_keys())
    if (k.section() == section) out.emplace_back(k.name());
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A key that exists under another section ("train.lr" -> "optim.lr") or a near miss of one.
std::optional<std::string> suggest_from_any_section(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& k : config_keys()) names.emplace_back(k.name());
  auto best = nearest_name(name, names);
  if (!best) return std::nullopt;
  for (const auto& k : config_keys())
    if (k.name() == *best) return k.path;
  return std::nullopt;
}

[[noreturn]] void unknown_key(const std::string& where, const std::string& path) {
  const size_t dot = path.find('.');
  const std::string section = path.substr(0, dot);
  std::optional<std::string> suggestion;
  std::string accepted;
  if (is_section(section) && dot != std::string::npos) {
    const std::string name = path.substr(dot + 1);
    if (auto s = nearest_name(name, key_names_in(section)))
      suggestion = section + "." + *s;
    else
      suggestion = suggest_from_any_section(name);
    accepted = "accepted keys in " + section + ": " + joined(key_names_in(section));
  } else {
    if (dot == std::string::npos) {
      suggestion = nearest_name(path, section_names());
      if (!suggestion) suggestion = suggest_from_any_section(path);  // `lr: 1e-3` at top level
    } else {
      std::vector<std::string> paths;
      for (const auto& k : config_keys()) paths.push_back(k.path);
      suggestion = nearest_name(path, paths);
    }
    accepted = "accepted sections: " + joined(section_names());
  }
  fail(where, "key '" + path + "' is unknown" + (suggestion ? "; did you mean '" + *suggestion + "'?" : "") + " (" +
                  accepted + ")");
}

// yaml-cpp keeps both entries of a repeated key; the later one would silently win.
class DuplicateGuard {
 public:
  void check(const std::string& path, const YAML::Node& key, const std::string& where) {
    auto [it, inserted] = first_line_.emplace(path, key.Mark().line + 1);
    if (!inserted) fail(where, "key '" + path + "' is given twice (first at line " + std::to_string(it->second) + ")");
  }

 private:
  std::map<std::string, int> first_line_;
};

std::string scalar_key(const YAML::Node& key, const std::string& where) {
  if (!key.IsScalar()) fail(where, "keys must be plain words, found " + kinds::shown(key));
  return key.Scalar();
}

void set_key(Config& c, KeyOrigins& origins, const std::string& path, const YAML::Node& value,
             const std::string& where) {
  const KeySpec* spec = find_key(path);
  if (!spec) unknown_key(where, path);
  spec->set(c, value, where);
  origins.record(path, where);
}

void apply_file(Config& c, KeyOrigins& origins, const YAML::Node& root, const std::string& source) {
  if (root.IsNull()) return;  // an empty file means all defaults
  if (!root.IsMap())
    fail(yaml_location(source, root.Mark()),
         "the config must be a map of sections (" + joined(section_names()) + "), found " + kinds::shown(root));
  DuplicateGuard duplicates;
  for (const auto& entry : root) {
    const std::string where = yaml_location(source, entry.first.Mark());
    const std::string section = scalar_key(entry.first, where);
    if (!is_section(section)) unknown_key(where, section);
    duplicates.check(section, entry.first, where);
    const YAML::Node& body = entry.second;
    if (body.IsNull()) continue;  // `model:` with nothing under it
    if (!body.IsMap())
      fail(where, "'" + section + "' " +
                      (body.IsScalar() ? "= " + kinds::shown(body) + " is" : "is " + kinds::shown(body) + ",") +
                      " not a map of keys (" + joined(key_names_in(section)) + ")");
    for (const auto& kv : body) {
      const std::string key_where = yaml_location(source, kv.first.Mark());
      const std::string path = section + "." + scalar_key(kv.first, key_where);
      duplicates.check(path, kv.first, key_where);
      set_key(c, origins, path, kv.second, key_where);
    }
  }
}

std::string trimmed(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

void apply_override(Config& c, KeyOrigins& origins, const std::string& text) {
  const std::string where = "command line: '" + text + "'";
  const size_t eq = text.find('=');
  if (eq == std::string::npos) fail(where, "expected section.key=value, e.g. optim.lr=3e-4");
  const std::string path = trimmed(std::string_view(text).substr(0, eq));
  if (is_section(path))
    fail(where,
         "'" + path + "' is a section; set one key at a time (" + path + "." + key_names_in(path).front() + "=...)");
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    fail(where, "the value is not valid YAML (" + e.msg + ")");
  }
  set_key(c, origins, path, value, where);
}

Config build(const YAML::Node& root, const std::string& source, const std::vector<std::string>& overrides) {
  Config c;
  KeyOrigins origins(source);
  apply_file(c, origins, root, source);
  for (const auto& o : overrides) apply_override(c, origins, o);
  for (const auto& k : config_keys())
    if (k.derive && !origins.is_set(k.path)) k.derive(c);
  apply_derived_keys(c, origins);
  check_cross_field(c, origins);
  return c;
}

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  return build(load_yaml_file(path), path, overrides);
}

Config parse_config(const std::string& yaml, const std::vector<std::string>& overrides, const std::string& source) {
  return build(load_yaml_string(yaml, source), source, overrides);
}

}  // namespace nurture::config
