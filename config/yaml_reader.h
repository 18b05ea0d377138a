// Reading a hand-written YAML file (a sweep grid, an eval suite) with the error quality of the
// config's key table: every mistake is one line that starts with "file:LINE", unknown keys get a
// did-you-mean and the accepted list, a key given twice is an error (yaml-cpp keeps both entries
// and a lookup silently takes one), and a wrong type says which type was expected.
// The experiment config itself is read by config_parse.cpp, whose keys come from the key table.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace nurture::config {

// The keys a map may hold, and how messages name them:
//   "unknown <noun> '<key>'<in>; did you mean '<best>'? (accepted: <known>)"
//   "<noun> '<key>' is given twice<in> (first at line N)"
struct MapKeys {
  std::vector<std::string> known;
  std::string noun = "key";  // e.g. "grid key"
  std::string in;            // e.g. " in a task"
};

class YamlReader {
 public:
  // `raise` throws the caller's error type with the finished one-line message; without it,
  // errors are ConfigError.
  explicit YamlReader(std::string source, std::function<void(const std::string&)> raise = {});

  const std::string& source() const { return source_; }
  // "source:LINE" of the node, or the bare source for a node without a position.
  std::string at(const YAML::Node& n) const;
  [[noreturn]] void fail(const std::string& where, const std::string& message) const;
  [[noreturn]] void fail(const YAML::Node& n, const std::string& message) const { fail(at(n), message); }

  // Every key of `map` is a plain word from keys.known, given once.
  void check_keys(const YAML::Node& map, const MapKeys& keys) const;
  // "<what> must be a map, e.g. <example>" unless `n` is a map.
  void require_map(const YAML::Node& n, const std::string& what, const std::string& example) const;

  // A map key as text; "keys must be plain words" for a list or map used as a key.
  std::string key(const YAML::Node& k) const;
  // Values; `name` is the key they were given under, quoted in messages ("'limit' must be ...").
  std::string text(const YAML::Node& n, const std::string& name) const;
  std::vector<std::string> texts(const YAML::Node& n, const std::string& name) const;  // a list of strings
  int64_t integer(const YAML::Node& n, const std::string& name, int64_t min) const;
  bool boolean(const YAML::Node& n, const std::string& name) const;

 private:
  std::string source_;
  std::function<void(const std::string&)> raise_;
};

// "a, b, c"
std::string joined(const std::vector<std::string>& items);

}  // namespace nurture::config
