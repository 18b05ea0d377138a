// libFuzzer target: the YAML config loader (config::parse_config) with command-line overrides.
//
// Input: YAML text, optionally followed by "\n%%\n" and override lines ("optim.lr=3e-4"). Any
// input must give a Config or a one-line ConfigError naming the source; a Config must survive
// the documented round trip parse_config(to_yaml(c)) == c.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_error.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nurture;
  std::string yaml(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  if (const size_t cut = yaml.find("\n%%\n"); cut != std::string::npos) {
    std::istringstream in(yaml.substr(cut + 4));
    for (std::string line; std::getline(in, line);) overrides.push_back(line);
    yaml.resize(cut);
  }
  config::Config cfg;
  try {
    cfg = config::parse_config(yaml, overrides, "fuzz.yaml");
  } catch (const config::ConfigError& e) {
    const std::string what = e.what();
    // File errors start with the file name; override errors with "command line".
    fuzz::check_error_line(what, what.rfind("command line", 0) == 0 ? "command line" : "fuzz.yaml");
    return 0;
  } catch (const std::exception& e) {
    fuzz::unexpected(e.what());
  }
  try {
    if (!(config::parse_config(config::to_yaml(cfg), {}, "round-trip") == cfg)) {
      std::fprintf(stderr, "to_yaml round trip changed the config:\n%s\n", config::to_yaml(cfg).c_str());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "to_yaml output does not parse back: %s\n", e.what());
    std::abort();
  }
  return 0;
}
