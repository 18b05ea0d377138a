// config::YamlReader, the reader of grids and suites: file:line, did-you-mean, duplicate keys,
// named types, one line, and the caller's error type.
#include "config/yaml_reader.h"

#include <gtest/gtest.h>

#include "config/config_error.h"
#include "config/yaml_source.h"
#include "tests/support/support.h"

namespace nurture::config {
namespace {

const MapKeys kKeys{{"name", "recipes", "limit"}, "ptq key", ""};
const MapKeys kTaskKeys{{"name", "label"}, "key", " in a task"};

std::string check_error(const std::string& yaml, const MapKeys& keys) {
  const YamlReader r("r.yaml");
  const std::string e = test::error_of<ConfigError>([&] { r.check_keys(load_yaml_string(yaml, "r.yaml"), keys); });
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  return e;
}

TEST(YamlReaderTest, UnknownKeysGetTheNearestAndTheAcceptedList) {
  EXPECT_EQ(check_error("name: a\nrecipe: [w8a8]\n", kKeys),
            "r.yaml:2: unknown ptq key 'recipe'; did you mean 'recipes'? (accepted: name, recipes, limit)");
  EXPECT_EQ(check_error("lable: x\n", kTaskKeys),
            "r.yaml:1: unknown key 'lable' in a task; did you mean 'label'? (accepted: name, label)");
  EXPECT_EQ(check_error("colour: red\n", kTaskKeys),
            "r.yaml:1: unknown key 'colour' in a task (accepted: name, label)");
}

TEST(YamlReaderTest, AKeyGivenTwiceIsAnError) {
  EXPECT_EQ(check_error("name: a\nlimit: 3\nname: b\n", kKeys),
            "r.yaml:3: ptq key 'name' is given twice (first at line 1)");
  EXPECT_EQ(check_error("{name: a, name: b}\n", kTaskKeys),
            "r.yaml:1: key 'name' is given twice in a task (first at line 1)");
  EXPECT_EQ(check_error("name: a\nlimit: 3\n", kKeys), "");
}

TEST(YamlReaderTest, KeysMustBePlainWords) {
  EXPECT_EQ(check_error("? [a, b]\n: 1\n", kKeys), "r.yaml:1: keys must be plain words, found a list");
}

TEST(YamlReaderTest, ValuesNameTheExpectedType) {
  const YamlReader r("r.yaml");
  auto error = [&](auto read) { return test::error_of<ConfigError>(read); };
  const YAML::Node n = load_yaml_string("a: [1]\nb: -3\nc: maybe\nd: x\ne: 7\n", "r.yaml");
  EXPECT_EQ(error([&] { r.text(n["a"], "a"); }), "r.yaml:1: 'a' must be a string");
  EXPECT_EQ(error([&] { r.integer(n["a"], "a", 0); }), "r.yaml:1: 'a' must be an integer");
  EXPECT_EQ(error([&] { r.integer(n["b"], "b", 0); }), "r.yaml:2: 'b' must be ≥ 0, got -3");
  EXPECT_EQ(error([&] { r.boolean(n["c"], "c"); }), "r.yaml:3: 'c' must be true or false");
  EXPECT_EQ(error([&] { r.texts(n["d"], "d"); }), "r.yaml:4: 'd' must be a list of strings");
  EXPECT_EQ(error([&] { r.require_map(n["e"], "e", "{x: 1}"); }), "r.yaml:5: e must be a map, e.g. {x: 1}");
  EXPECT_EQ(r.integer(n["e"], "e", 0), 7);
  EXPECT_EQ(r.texts(n["a"], "a"), std::vector<std::string>{"1"});
}

TEST(YamlReaderTest, ErrorsAreOneLineAndMayUseTheCallersType) {
  struct OtherError : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  const YamlReader r("r.yaml", [](const std::string& m) { throw OtherError(m); });
  const YAML::Node n = load_yaml_string("\"co\\nlour\": 1\n", "r.yaml");
  EXPECT_EQ(test::error_of<OtherError>([&] { r.check_keys(n, kKeys); }),
            "r.yaml:1: unknown ptq key 'co\\nlour' (accepted: name, recipes, limit)");
}

}  // namespace
}  // namespace nurture::config
