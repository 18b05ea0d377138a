// The one exception type for mistakes a user can make in a config, an override or any other
// YAML file the framework reads. what() is always a single line that starts with where the
// mistake is ("configs/tiny.yaml:12: ..." or "command line: 'optim.lr=0': ..."), so cli/ can
// print it verbatim.
#pragma once

#include <stdexcept>
#include <string>

namespace nurture::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace nurture::config
