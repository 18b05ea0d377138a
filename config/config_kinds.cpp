#include "config/config_kinds.h"

#include <cmath>

#include "config/yaml_source.h"

namespace nurture::config::kinds {
namespace {

bool is_number(const YAML::Node& n) {
  try {
    n.as<double>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

// "'model.n_layer' = 'two' is not an integer" for scalars, "'model.n_layer' is a list, not an
// integer" for collections (printing a whole list back would not fit on one line).
[[noreturn]] void type_error(const std::string& where, const std::string& path, const YAML::Node& n,
                             const std::string& expected) {
  if (n.IsSequence()) fail(where, "'" + path + "' is a list, not " + expected);
  if (n.IsMap()) fail(where, "'" + path + "' is a map, not " + expected);
  fail(where, "'" + path + "' = " + shown(n) + " is not " + expected);
}

}  // namespace

std::string Range::text() const {
  auto bound = [](double v) { return std::isinf(v) ? std::string(v < 0 ? "-inf" : "inf") : format_number(v); };
  return std::string(lo_open ? "(" : "[") + bound(lo) + ", " + bound(hi) + (hi_open ? ")" : "]");
}

std::string shown(const YAML::Node& n) {
  if (n.IsNull()) return "null";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  if (is_number(n)) return n.Scalar();
  return "'" + n.Scalar() + "'";
}

void fail(const std::string& where, const std::string& message) {
  // Messages quote the user's keys and values, which may hold line breaks (found by
  // fuzz/fuzz_config.cpp).
  throw ConfigError(where + ": " + one_line(message));
}

double parse_real(const YAML::Node& n, const std::string& path, const std::string& where) {
  if (n.IsScalar()) {
    try {
      return n.as<double>();
    } catch (const YAML::Exception&) {
    }
  }
  type_error(where, path, n, "a number");
}

int64_t parse_int(const YAML::Node& n, const std::string& path, const std::string& where) {
  if (n.IsScalar()) {
    try {
      return n.as<int64_t>();
    } catch (const YAML::Exception&) {
    }
    // People write `steps: 1e4`; accept a float that is exactly an integer.
    try {
      double d = n.as<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 0x1p63) return static_cast<int64_t>(d);
    } catch (const YAML::Exception&) {
    }
  }
  type_error(where, path, n, "an integer");
}

bool parse_bool(const YAML::Node& n, const std::string& path, const std::string& where) {
  if (n.IsScalar()) {
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
    }
  }
  type_error(where, path, n, "a boolean (true or false)");
}

std::string parse_string(const YAML::Node& n, const std::string& path, const std::string& where) {
  if (n.IsNull()) return "";
  if (!n.IsScalar()) type_error(where, path, n, "a string");
  return n.Scalar();
}

std::vector<std::string> parse_string_list(const YAML::Node& n, const std::string& path, const std::string& where) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      if (!item.IsScalar()) fail(where, "'" + path + "' items must be strings, found " + shown(item));
      out.push_back(item.Scalar());
    }
  } else {
    type_error(where, path, n, "a string or a list of strings");
  }
  if (out.empty()) fail(where, "'" + path + "' is an empty list; give at least one entry");
  for (const auto& s : out)
    if (s.empty()) fail(where, "'" + path + "' contains an empty string");
  return out;
}

size_t parse_choice(const YAML::Node& n, const std::string& path, const std::string& where,
                    const std::string_view* names, size_t count) {
  std::string accepted;
  for (size_t i = 0; i < count; ++i) accepted += (i ? ", " : "") + std::string(names[i]);
  if (!n.IsScalar()) type_error(where, path, n, "one of " + accepted);
  for (size_t i = 0; i < count; ++i)
    if (n.Scalar() == names[i]) return i;
  fail(where, "'" + path + "' = '" + n.Scalar() + "' is not one of " + accepted);
}

void check_range(double v, const Range& r, const YAML::Node& n, const std::string& path, const std::string& where,
                 const std::string& hint) {
  if (r.contains(v)) return;
  fail(where, "'" + path + "' = " + n.Scalar() + " is out of range " + r.text() + (hint.empty() ? "" : "; " + hint));
}

}  // namespace nurture::config::kinds
