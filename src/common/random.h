// Portable, seedable randomness: the same seed gives the same numbers with every compiler and standard
// library (std::shuffle and std::uniform_*_distribution are implementation-defined, so they are not used
// where results must be reproducible across machines).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace trashcl {

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough to seed and shuffle.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) without modulo bias worth caring about (bound << 2^64).
  uint64_t below(uint64_t bound) { return bound == 0 ? 0 : next() % bound; }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }

 private:
  uint64_t state_;
};

// One well-mixed 64-bit value from several (seed, epoch, index, ...), for per-sample seeds.
inline uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0) {
  SplitMix64 rng(a ^ (b * 0xD1B54A32D192ED03ull) ^ (c * 0x8CB92BA72F3D8DD7ull));
  return rng.next();
}

// Fisher-Yates shuffle with a portable generator.
template <typename T>
void shuffle(std::vector<T>& items, SplitMix64& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

}  // namespace trashcl
