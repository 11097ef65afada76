// ICMP for IPv4: echo only.
//
// Read first: RFC 792 (message formats; echo is type 8, echo reply type 0),
// RFC 1122 section 3.2.2 (a host MUST answer echo, MAY ignore echo sent to a
// broadcast address, SHOULD rate-limit, and silently discards unknown types),
// RFC 1812 section 4.3.2.8 (rate limiting).
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/result.h"

namespace l45::net {

inline constexpr std::size_t kIcmpHeaderLen = 8;

enum class IcmpType : std::uint8_t {
    echo_reply = 0,
    dest_unreachable = 3,
    echo_request = 8,
    time_exceeded = 11,
};

enum class IcmpError : std::uint8_t {
    truncated,  // fewer than 8 bytes
};

// The fixed part of an ICMP message; for echo `rest` is identifier<<16 | sequence.
struct IcmpHeader {
    std::uint8_t type = 0;
    std::uint8_t code = 0;
    std::uint16_t checksum = 0;
    std::uint32_t rest = 0;

    [[nodiscard]] std::uint16_t echo_id() const { return static_cast<std::uint16_t>(rest >> 16); }
    [[nodiscard]] std::uint16_t echo_seq() const { return static_cast<std::uint16_t>(rest); }

    // Reads the 8-byte header (the checksum is verified by the caller over
    // the whole message, which may span mbuf segments).
    [[nodiscard]] static Result<IcmpHeader, IcmpError> parse(ByteSpan message);
    // Writes 8 bytes as they are (checksum included); false when `out` is shorter.
    [[nodiscard]] bool emit(MutableByteSpan out) const;
};

}  // namespace l45::net
