// A token bucket under an injected clock (RFC 1812 4.3.2.8 suggests one for
// ICMP). Integer arithmetic: tokens are counted in nano-tokens so that a rate
// of r per second adds exactly r nano-tokens per elapsed nanosecond.
#pragma once

#include <algorithm>
#include <cstdint>

#include "stack/base/clock.h"

namespace l45::net {

class TokenBucket {
  public:
    // rate_per_sec == 0: unlimited. The bucket starts full.
    TokenBucket(std::uint32_t rate_per_sec, std::uint32_t burst)
        : rate_(rate_per_sec),
          capacity_(std::uint64_t{std::max<std::uint32_t>(burst, 1)} * kScale),
          tokens_(capacity_),
          max_elapsed_ns_(rate_ ? capacity_ / rate_ + 1 : 0) {}

    // Takes one token if there is one.
    [[nodiscard]] bool try_take(Instant now) {
        if (rate_ == 0) return true;
        refill(now);
        if (tokens_ < kScale) return false;
        tokens_ -= kScale;
        return true;
    }

  private:
    static constexpr std::uint64_t kScale = 1'000'000'000;  // nano-tokens per token
    void refill(Instant now) {
        if (!started_) {
            started_ = true;
            last_ = now;
            return;
        }
        if (now <= last_) return;
        // Past max_elapsed_ns_ the bucket is full anyway; clamping there keeps
        // elapsed * rate <= capacity + rate < 2^64.
        const std::uint64_t elapsed = std::min<std::uint64_t>(
            static_cast<std::uint64_t>((now - last_).count()), max_elapsed_ns_);
        last_ = now;
        tokens_ = std::min(capacity_, tokens_ + elapsed * rate_);
    }

    std::uint64_t rate_;
    std::uint64_t capacity_;
    std::uint64_t tokens_;
    std::uint64_t max_elapsed_ns_;
    Instant last_{};
    bool started_ = false;
};

}  // namespace l45::net
