// Every problem with an imported model's files: what() is one line naming the file, the tensor or
// key, what is wrong and, where there is one, the fix.
#pragma once

#include <stdexcept>

namespace nurture::import {

class ImportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace nurture::import
