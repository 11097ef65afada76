// Randomness as an injected dependency. Production code uses SystemRandom
// (getrandom(2)); tests use SeededRandom so every run can be replayed.
#pragma once

#include <sys/random.h>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>

namespace l45 {

class Random {
  public:
    virtual ~Random() = default;
    virtual void fill(std::span<std::uint8_t> out) = 0;

    std::uint32_t next_u32() {
        std::uint32_t v = 0;
        fill({reinterpret_cast<std::uint8_t*>(&v), sizeof v});
        return v;
    }
    std::uint64_t next_u64() {
        std::uint64_t v = 0;
        fill({reinterpret_cast<std::uint8_t*>(&v), sizeof v});
        return v;
    }
};

// Cryptographically secure: the kernel's CSPRNG.
class SystemRandom final : public Random {
  public:
    void fill(std::span<std::uint8_t> out) override {
        std::size_t done = 0;
        while (done < out.size()) {
            const ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
            if (n > 0) done += static_cast<std::size_t>(n);
        }
    }
};

// Deterministic (splitmix64): reproducible tests and fault injection only,
// never keys or sequence numbers in production.
class SeededRandom final : public Random {
  public:
    explicit SeededRandom(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, bound).
    std::uint64_t below(std::uint64_t bound) { return bound ? next() % bound : 0; }

    void fill(std::span<std::uint8_t> out) override {
        std::size_t i = 0;
        while (i < out.size()) {
            const std::uint64_t v = next();
            const std::size_t n = std::min<std::size_t>(8, out.size() - i);
            std::memcpy(out.data() + i, &v, n);
            i += n;
        }
    }

  private:
    std::uint64_t state_;
};

}  // namespace l45
