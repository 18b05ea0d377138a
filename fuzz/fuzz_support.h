// Shared by the libFuzzer targets: the error contract every loader must keep on any input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace nurture::fuzz {

// A user-facing error must be one non-empty line that starts with `where` (a file name or
// "file:line"); anything else is a bug, reported as a crash so libFuzzer saves the input.
inline void check_error_line(const std::string& what, const std::string& where) {
  const bool ok = !what.empty() && what.find('\n') == std::string::npos && what.rfind(where, 0) == 0;
  if (ok) return;
  std::fprintf(stderr, "error message breaks the one-line contract (must start with '%s'): [%s]\n", where.c_str(),
               what.c_str());
  std::abort();
}

[[noreturn]] inline void unexpected(const char* what) {
  std::fprintf(stderr, "unexpected exception type escaped the loader: %s\n", what);
  std::abort();
}

}  // namespace nurture::fuzz
