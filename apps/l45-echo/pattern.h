// The seeded byte pattern every l45-echo sender streams (the echo client,
// the HTTP server's /bytes/N, the iperf3 sender): SeededRandom(seed)'s
// splitmix64 words, little-endian, one after another. A test regenerates it
// (tests/scripts/l45_harness.py pattern_sha256) to check what arrived.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/random.h"

namespace l45::apps {

// Hands out `total_len` pattern bytes a chunk at a time, with the stack's
// peek/consume shape: pending() is what is ready, advance(n) what was sent.
class PatternSource {
  public:
    // chunk_len is a multiple of 8, so chunks join into one word stream.
    explicit PatternSource(std::size_t chunk_len = 64 * 1024)
        : chunk_(chunk_len & ~std::size_t{7}) {}

    void start(std::uint64_t seed, std::uint64_t total_len) {
        random_ = SeededRandom(seed);
        remaining_ = total_len;
        offset_ = chunk_.size();  // nothing generated yet
    }
    [[nodiscard]] std::uint64_t remaining() const { return remaining_; }

    [[nodiscard]] ByteSpan pending() {
        if (remaining_ == 0) return {};
        if (offset_ == chunk_.size()) {
            random_.fill(chunk_);
            offset_ = 0;
        }
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.size() - offset_, remaining_));
        return ByteSpan(chunk_.data() + offset_, n);
    }
    void advance(std::size_t n) {
        offset_ += n;
        remaining_ -= n;
    }

  private:
    std::vector<std::uint8_t> chunk_;
    SeededRandom random_{0};
    std::uint64_t remaining_ = 0;
    std::size_t offset_ = 0;
};

}  // namespace l45::apps
