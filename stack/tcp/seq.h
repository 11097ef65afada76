// TCP sequence numbers as a type that compares with wraparound.
//
// Read first: RFC 9293 §3.4 (sequence numbers: "all arithmetic dealing with
// sequence numbers must be performed modulo 2**32"), RFC 1982 (serial number
// arithmetic), RFC 7323 §5.2 (the same comparison for timestamps, PAWS).
//
// a < b means "a comes before b" within half the number space: the signed
// 32-bit difference decides. Two numbers exactly 2^31 apart are unordered in
// RFC 1982; like every TCP implementation we let the signed difference pick.
#pragma once

#include <cstdint>

namespace l45::tcp {

class SeqNum {
  public:
    constexpr SeqNum() = default;
    constexpr explicit SeqNum(std::uint32_t v) : v_(v) {}

    [[nodiscard]] constexpr std::uint32_t value() const { return v_; }

    // Advancing by a byte count (always non-negative in TCP, but a signed
    // delta is handy for "snd_nxt - 1" style expressions).
    friend constexpr SeqNum operator+(SeqNum a, std::uint32_t n) { return SeqNum(a.v_ + n); }
    friend constexpr SeqNum operator-(SeqNum a, std::uint32_t n) { return SeqNum(a.v_ - n); }
    constexpr SeqNum& operator+=(std::uint32_t n) {
        v_ += n;
        return *this;
    }
    // The signed distance b..a; positive when a is after b.
    friend constexpr std::int32_t operator-(SeqNum a, SeqNum b) {
        return static_cast<std::int32_t>(a.v_ - b.v_);
    }

    friend constexpr bool operator==(SeqNum a, SeqNum b) = default;
    friend constexpr bool operator<(SeqNum a, SeqNum b) { return (a - b) < 0; }
    friend constexpr bool operator>(SeqNum a, SeqNum b) { return (a - b) > 0; }
    friend constexpr bool operator<=(SeqNum a, SeqNum b) { return (a - b) <= 0; }
    friend constexpr bool operator>=(SeqNum a, SeqNum b) { return (a - b) >= 0; }

  private:
    std::uint32_t v_ = 0;
};

[[nodiscard]] constexpr SeqNum seq_max(SeqNum a, SeqNum b) {
    return a < b ? b : a;
}
[[nodiscard]] constexpr SeqNum seq_min(SeqNum a, SeqNum b) {
    return a < b ? a : b;
}

// Distance from `from` to `to` as an unsigned byte count; callers ensure to >= from.
[[nodiscard]] constexpr std::uint32_t seq_dist(SeqNum from, SeqNum to) {
    return to.value() - from.value();
}

// lo <= x < hi, modulo 2^32 (RFC 9293 §3.4's "=<" chains).
[[nodiscard]] constexpr bool seq_in_range(SeqNum lo, SeqNum x, SeqNum hi) {
    return lo <= x && x < hi;
}

// RFC 7323 timestamps compare the same way (§5.2: "TSval is ... treated as
// a 32-bit unsigned integer compared modulo 2^32").
[[nodiscard]] constexpr bool ts_before(std::uint32_t a, std::uint32_t b) {
    return static_cast<std::int32_t>(a - b) < 0;
}

}  // namespace l45::tcp
