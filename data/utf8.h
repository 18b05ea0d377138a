// UTF-8 validation for corpus files.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace nurture::data {

// Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF, no truncated sequence), or nullopt if `s` is valid.
std::optional<size_t> find_invalid_utf8(std::string_view s);

}  // namespace nurture::data
