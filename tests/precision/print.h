// Readable gtest failure messages for precision types.
#pragma once

#include <ostream>

#include "precision/format.h"

namespace nurture::precision {

inline void PrintTo(const RoundStats& s, std::ostream* os) {
  *os << "{elements " << s.elements << ", underflow " << s.underflow << ", overflow " << s.overflow
      << ", subnormal " << s.subnormal << ", nan " << s.nan << ", inf " << s.inf << "}";
}

}  // namespace nurture::precision
