// Loading YAML with errors a user can act on: every failure becomes a one-line ConfigError that
// starts with "file:line". Shared by the config and, later, sweep grid files.
#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "config/config_error.h"

namespace nurture::config {

// Missing/unreadable file or a syntax error throws ConfigError. An empty file is a null node.
YAML::Node load_yaml_file(const std::string& path);
YAML::Node load_yaml_string(const std::string& text, const std::string& source);

// `text` with line breaks and other control characters (tab excepted) written as \n, \r, \xNN:
// messages quote users' keys and values, and an error must stay one line.
std::string one_line(std::string_view text);

// "source:LINE" (1-based) for a node's mark, or just "source" when the node has no position.
std::string yaml_location(const std::string& source, const YAML::Mark& mark);

}  // namespace nurture::config
