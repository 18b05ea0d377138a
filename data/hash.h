// Content hashing for cache keys.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace nurture::data {

// 64-bit FNV-1a. Not cryptographic: it only has to be stable across runs, machines and compilers so
// that cache file names computed today still match tomorrow. Integers are fed as little-endian bytes.
class Fnv1a64 {
 public:
  Fnv1a64& update(std::string_view bytes) {
    for (unsigned char c : bytes) {
      h_ ^= c;
      h_ *= kPrime;
    }
    return *this;
  }
  Fnv1a64& update_u64(uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    return update(std::string_view(b, 8));
  }
  uint64_t digest() const { return h_; }

 private:
  static constexpr uint64_t kPrime = 0x100000001b3ull;
  uint64_t h_ = 0xcbf29ce484222325ull;
};

inline uint64_t fnv1a64(std::string_view bytes) { return Fnv1a64().update(bytes).digest(); }

// 16 lower-case hex digits, used in cache file names and sidecar JSON.
inline std::string to_hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace nurture::data
