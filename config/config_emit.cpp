// Config -> YAML / JSON / Markdown reference, all driven by the key table.
#include <cctype>
#include <charconv>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "config/config_schema.h"

namespace nurture::config {
namespace {

// Words YAML 1.1 (PyYAML) or 1.2 would read as something other than a string.
bool is_yaml_keyword(std::string_view s) {
  static const char* words[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "inf", "nan"};
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* w : words)
    if (lower == w) return true;
  return false;
}

// Enum names and other identifiers stay bare; anything else is double-quoted so that paths,
// empty strings and strings like "1e3" or "no" come back as the same string in any YAML reader.
std::string yaml_string(const std::string& s) {
  bool plain = !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_') && !is_yaml_keyword(s);
  for (char c : s) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (plain) return s;
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// PyYAML only reads a number as a float when it has a '.', so "1e-08" would come back a string.
std::string yaml_float(double v) {
  std::string s = format_number(v);
  if (s.find_first_of(".n") != std::string::npos) return s;  // has a dot, or is inf/nan
  const size_t e = s.find('e');
  return e == std::string::npos ? s + ".0" : s.insert(e, ".0");
}

struct YamlText {
  std::string operator()(std::monostate) const { return "null"; }
  std::string operator()(bool b) const { return b ? "true" : "false"; }
  std::string operator()(int64_t i) const { return std::to_string(i); }
  std::string operator()(double d) const { return yaml_float(d); }
  std::string operator()(const std::string& s) const { return yaml_string(s); }
  std::string operator()(const std::vector<std::string>& list) const {
    std::string out = "[";
    for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + yaml_string(list[i]);
    return out + "]";
  }
};

std::string yaml_text(const ConfigValue& v) { return std::visit(YamlText{}, v); }

nlohmann::json json_value(const ConfigValue& v) {
  return std::visit(
      [](const auto& x) -> nlohmann::json {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::monostate>)
          return nullptr;
        else
          return x;
      },
      v);
}

std::string markdown_cell(std::string s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::string format_number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, end);
  // to_chars writes "1e-08"; the exponent's leading zeros only add noise.
  const size_t e = s.find('e');
  if (e != std::string::npos) {
    size_t digits = e + 1 + (s[e + 1] == '-' || s[e + 1] == '+');
    while (digits + 1 < s.size() && s[digits] == '0') s.erase(digits, 1);
  }
  return s;
}

std::string to_string(const LossScale& s) {
  switch (s.kind) {
    case LossScale::Kind::none: return "none";
    case LossScale::Kind::dynamic: return "dynamic";
    case LossScale::Kind::constant: return format_number(s.value);
  }
  return "?";
}

std::string to_yaml(const Config& config) {
  std::ostringstream out;
  out << "# nurture config, fully resolved: every key with the value the run used.\n";
  for (const auto& section : config_sections()) {
    out << "\n# " << section.description << "\n" << section.name << ":\n";
    for (const auto& key : config_keys())
      if (key.section() == section.name) out << "  " << key.name() << ": " << yaml_text(key.get(config)) << "\n";
  }
  return out.str();
}

nlohmann::json to_json(const Config& config) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& key : config_keys())
    j[std::string(key.section())][std::string(key.name())] = json_value(key.get(config));
  return j;
}

std::string config_reference_markdown() {
  const Config defaults;
  std::ostringstream out;
  out << "Every key below can be set in the YAML file or on the command line as `section.key=value`\n"
         "(the value is parsed as YAML: `optim.grad_clip=null`, `data.corpus=[a.txt,b.txt]`).\n"
         "Unknown keys, wrong types and out-of-range values are errors.\n";
  for (const auto& section : config_sections()) {
    out << "\n## `" << section.name << "`\n\n"
        << section.description << "\n\n"
        << "| key | type | default | accepted | description |\n|---|---|---|---|---|\n";
    for (const auto& key : config_keys()) {
      if (key.section() != section.name) continue;
      const std::string def = key.default_note.empty() ? "`" + yaml_text(key.get(defaults)) + "`" : key.default_note;
      out << "| `" << key.name() << "` | " << markdown_cell(key.type) << " | " << markdown_cell(def) << " | "
          << markdown_cell(key.accepted) << " | " << markdown_cell(key.description) << " |\n";
    }
  }
  return out.str();
}

}  // namespace nurture::config
