// The eval module's user-facing error type.
#pragma once

#include <stdexcept>

namespace nurture::eval {

// A problem the user can fix: a malformed task-file line, a bad suite entry, a missing file.
// what() is one line that starts with where the problem is ("piqa/valid.jsonl:17: field 'sol2':
// expected a string, got number"), so cli/ prints it as is and exits non-zero.
class EvalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace nurture::eval
