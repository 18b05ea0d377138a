// Builders for key-table entries, one per kind of value (int, float, bool, string, enum, ...).
// Each builder ties a dotted path to a member accessor and produces the parse/range-check and
// emit functions, so config_keys.cpp stays a flat list of one-liners.
#pragma once

#include <limits>
#include <string>
#include <type_traits>

#include "config/config_schema.h"

// Expands to the path string and an accessor that works on Config& and const Config&, so a key's
// YAML name can never drift from the member it sets.
#define NURTURE_KEY(section, key) \
#section "." #key, [](auto& c) -> auto& { return c.section.key; }

namespace nurture::config::kinds {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

struct Range {
  double lo = -kInf, hi = kInf;
  bool lo_open = false, hi_open = false;
  // Written so NaN is never contained.
  bool contains(double v) const { return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi); }
  std::string text() const;  // "[0, 1)", "(0, inf)"
};
inline Range at_least(double lo) { return {lo, kInf, false, true}; }
inline Range positive() { return {0, kInf, true, true}; }
inline Range closed(double lo, double hi) { return {lo, hi, false, false}; }
inline Range half_open(double lo, double hi) { return {lo, hi, false, true}; }
inline Range open(double lo, double hi) { return {lo, hi, true, true}; }

// How a YAML value is quoted back in messages: numbers bare, text in quotes, "null", "a list".
std::string shown(const YAML::Node& node);
[[noreturn]] void fail(const std::string& where, const std::string& message);

double parse_real(const YAML::Node& n, const std::string& path, const std::string& where);
int64_t parse_int(const YAML::Node& n, const std::string& path, const std::string& where);
bool parse_bool(const YAML::Node& n, const std::string& path, const std::string& where);
std::string parse_string(const YAML::Node& n, const std::string& path, const std::string& where);
std::vector<std::string> parse_string_list(const YAML::Node& n, const std::string& path, const std::string& where);
size_t parse_choice(const YAML::Node& n, const std::string& path, const std::string& where,
                    const std::string_view* names, size_t count);
void check_range(double v, const Range& r, const YAML::Node& n, const std::string& path, const std::string& where,
                 const std::string& hint = "");

template <class Access>
KeySpec integer(const char* path, Access access, Range r, std::string description) {
  KeySpec k{path, "int", r.text(), std::move(description), {}, {}, {}, {}};
  k.set = [access, r, p = k.path](Config& c, const YAML::Node& n, const std::string& where) {
    using T = std::remove_reference_t<decltype(access(c))>;
    int64_t v = parse_int(n, p, where);
    check_range(static_cast<double>(v), r, n, p, where);
    // The member type may be narrower than the documented range.
    Range fits = r;
    if (fits.lo < static_cast<double>(std::numeric_limits<T>::min()))
      fits = {static_cast<double>(std::numeric_limits<T>::min()), fits.hi, false, fits.hi_open};
    if (fits.hi > static_cast<double>(std::numeric_limits<T>::max()))
      fits = {fits.lo, static_cast<double>(std::numeric_limits<T>::max()), fits.lo_open, false};
    check_range(static_cast<double>(v), fits, n, p, where);
    access(c) = static_cast<T>(v);
  };
  k.get = [access](const Config& c) -> ConfigValue { return static_cast<int64_t>(access(c)); };
  return k;
}

template <class Access>
KeySpec real(const char* path, Access access, Range r, std::string description) {
  KeySpec k{path, "float", r.text(), std::move(description), {}, {}, {}, {}};
  k.set = [access, r, p = k.path](Config& c, const YAML::Node& n, const std::string& where) {
    double v = parse_real(n, p, where);
    check_range(v, r, n, p, where);
    access(c) = v;
  };
  k.get = [access](const Config& c) -> ConfigValue { return access(c); };
  return k;
}

// A float that may be null, e.g. grad_clip; `null_means` completes "null ..." in docs/errors.
template <class Access>
KeySpec optional_real(const char* path, Access access, Range r, std::string null_means, std::string description) {
  KeySpec k{path, "float or null", r.text() + " or null (" + null_means + ")", std::move(description), {}, {}, {}, {}};
  k.set = [access, r, null_means, p = k.path](Config& c, const YAML::Node& n, const std::string& where) {
    if (n.IsNull()) {
      access(c).reset();
      return;
    }
    double v = parse_real(n, p, where);
    check_range(v, r, n, p, where, "null " + null_means);
    access(c) = v;
  };
  k.get = [access](const Config& c) -> ConfigValue {
    if (!access(c)) return std::monostate{};
    return *access(c);
  };
  return k;
}

template <class Access>
KeySpec boolean(const char* path, Access access, std::string description) {
  KeySpec k{path, "bool", "true | false", std::move(description), {}, {}, {}, {}};
  k.set = [access, p = k.path](Config& c, const YAML::Node& n, const std::string& where) {
    access(c) = parse_bool(n, p, where);
  };
  k.get = [access](const Config& c) -> ConfigValue { return access(c); };
  return k;
}

template <class Access>
KeySpec text(const char* path, Access access, std::string description) {
  KeySpec k{path, "string", "any", std::move(description), {}, {}, {}, {}};
  k.set = [access, p = k.path](Config& c, const YAML::Node& n, const std::string& where) {
    access(c) = parse_string(n, p, where);
  };
  k.get = [access](const Config& c) -> ConfigValue { return access(c); };
  return k;
}

// A non-empty list of strings; a single string is accepted as a one-element list.
template <class Access>
KeySpec text_list(const char* path, Access access, std::string description) {
  KeySpec k{path, "string or list of strings", "non-empty", std::move(description), {}, {}, {}, {}};
  k.set = [access, p = k.path](Config& c, const YAML::Node& n, const std::string& where) {
    access(c) = parse_string_list(n, p, where);
  };
  k.get = [access](const Config& c) -> ConfigValue { return access(c); };
  return k;
}

template <class Access>
KeySpec choice(const char* path, Access access, std::string description) {
  using E = std::remove_cvref_t<decltype(access(std::declval<Config&>()))>;
  std::string accepted;
  for (const auto& [value, name] : EnumNames<E>::names) accepted += (accepted.empty() ? "" : " | ") + std::string(name);
  KeySpec k{path, "enum", accepted, std::move(description), {}, {}, {}, {}};
  k.set = [access, p = k.path](Config& c, const YAML::Node& n, const std::string& where) {
    std::vector<std::string_view> names;
    for (const auto& [value, name] : EnumNames<E>::names) names.push_back(name);
    access(c) = EnumNames<E>::names[parse_choice(n, p, where, names.data(), names.size())].first;
  };
  k.get = [access](const Config& c) -> ConfigValue { return std::string(to_string(access(c))); };
  return k;
}

// precision.loss_scale: `dynamic`, `none` or a positive constant.
template <class Access>
KeySpec loss_scale(const char* path, Access access, std::string description) {
  KeySpec k{path, "loss scale", "dynamic | none | a number > 0", std::move(description), {}, {}, {}, {}};
  k.set = [access, p = k.path](Config& c, const YAML::Node& n, const std::string& where) {
    if (n.IsScalar() && n.Scalar() == "dynamic") {
      access(c) = LossScale::dynamic();
    } else if (n.IsNull() || (n.IsScalar() && n.Scalar() == "none")) {
      access(c) = LossScale::none();
    } else {
      double v;
      try {
        v = n.as<double>();
      } catch (const YAML::Exception&) {
        fail(where, "'" + p + "' = " + shown(n) + " is not one of dynamic, none, or a number > 0");
      }
      check_range(v, positive(), n, p, where);
      access(c) = LossScale::constant(v);
    }
  };
  k.get = [access](const Config& c) -> ConfigValue {
    const LossScale& s = access(c);
    if (s.kind == LossScale::Kind::constant) return s.value;
    return to_string(s);
  };
  return k;
}

// For a key whose default depends on other keys: `derive` runs after all overrides when the key
// was never given; `note` is the default shown in docs.
inline KeySpec derived_default(KeySpec k, std::string note, std::function<void(Config&)> derive) {
  k.default_note = std::move(note);
  k.derive = std::move(derive);
  return k;
}

}  // namespace nurture::config::kinds
