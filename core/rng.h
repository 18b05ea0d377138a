// Random numbers. Two kinds, for two jobs:
// - CounterRng: stateless, value = f(key, index). Dropout masks use it, keyed by
//   (seed, step, layer, site), so a mask depends neither on thread count nor on resume point.
// - SeqRng: a seeded sequential generator (splitmix64 state) for init and batch sampling; its
//   whole state is one uint64 that goes into checkpoints.
#pragma once

#include <cmath>
#include <cstdint>

namespace nurture::core {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t mix_key(uint64_t a, uint64_t b) { return splitmix64(a ^ splitmix64(b + 0x632BE59BD9B4E019ull)); }

// Uniform float in [0, 1) with 24 random bits.
inline float u01_from_bits(uint64_t bits) { return static_cast<float>(bits >> 40) * 0x1.0p-24f; }

struct CounterRng {
  uint64_t key;
  uint64_t bits(uint64_t index) const { return splitmix64(key ^ (index * 0xD1B54A32D192ED03ull)); }
  float uniform(uint64_t index) const { return u01_from_bits(bits(index)); }
};

class SeqRng {
 public:
  explicit SeqRng(uint64_t seed = 0) : state_(seed) {}
  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n) (Lemire's multiply-shift; the tiny bias is irrelevant here).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
  // Standard normal by Box-Muller (one value per call, deterministic).
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  uint64_t state() const { return state_; }
  void set_state(uint64_t s) { state_ = s; }

 private:
  uint64_t state_;
};

}  // namespace nurture::core
