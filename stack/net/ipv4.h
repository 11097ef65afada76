// IPv4 headers.
//
// Read first: RFC 791 (the header; section 3.2 on fragmentation), RFC 1122
// section 3.2.1 (what a host must check on receipt: version, checksum,
// addresses; silently discard otherwise), RFC 1812 section 5.3.7 (martian
// addresses), RFC 6864 (the Identification field of atomic datagrams).
//
// Fragments are counted and dropped, never reassembled: l45's only
// transport is TCP, which sizes segments by MSS and path-MTU discovery (DF is
// set on everything we send), so a well-behaved peer never fragments towards
// us; and a reassembly buffer is a memory-exhaustion surface (RFC 4963,
// "teardrop"/overlap attacks) we would rather not offer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/net/addr.h"

namespace l45::net {

inline constexpr std::size_t kIpv4MinHeaderLen = 20;
inline constexpr std::size_t kIpv4MaxHeaderLen = 60;
inline constexpr std::uint8_t kIpProtoIcmp = 1;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint16_t kIpv4FlagDf = 0x4000;
inline constexpr std::uint16_t kIpv4FlagMf = 0x2000;
inline constexpr std::uint16_t kIpv4OffsetMask = 0x1fff;
inline constexpr std::uint8_t kDefaultTtl = 64;

enum class Ipv4Error : std::uint8_t {
    truncated,              // fewer than 20 bytes in the datagram
    bad_version,            // version != 4
    bad_ihl,                // IHL < 5, or IHL*4 beyond the datagram
    header_not_contiguous,  // the datagram holds IHL*4 bytes but `contiguous` does not
    bad_total_length,       // total length < IHL*4 or > the bytes available
    bad_checksum,
};

// The parsed form of an IPv4 header. Options are skipped (their bytes stay in
// the packet; header_len says where the payload starts).
struct Ipv4Header {
    std::uint8_t header_len = 20;  // IHL*4, 20..60
    std::uint8_t tos = 0;
    std::uint16_t total_len = 0;
    std::uint16_t id = 0;
    std::uint16_t flags_fragment = 0;  // DF/MF bits and the offset in 8-byte units
    std::uint8_t ttl = kDefaultTtl;
    std::uint8_t protocol = 0;
    std::uint16_t checksum = 0;
    Ipv4Addr src{};
    Ipv4Addr dst{};

    [[nodiscard]] bool is_fragment() const {
        return (flags_fragment & (kIpv4FlagMf | kIpv4OffsetMask)) != 0;
    }
    [[nodiscard]] std::uint16_t payload_len() const {
        return static_cast<std::uint16_t>(total_len - header_len);
    }

    // Validates version, IHL (>= 5 and within the datagram) and total length
    // (>= IHL*4 and <= available_len; the rest is link-layer padding). The
    // header checksum is verified only when `verify_checksum` (the NIC may
    // have done it). `contiguous` starts at the IP header and holds at least
    // the header; `available_len` counts every byte after the link header,
    // in all mbuf segments (>= contiguous.size()).
    [[nodiscard]] static Result<Ipv4Header, Ipv4Error> parse(ByteSpan contiguous,
                                                             std::size_t available_len,
                                                             bool verify_checksum = true);
    [[nodiscard]] static Result<Ipv4Header, Ipv4Error> parse(ByteSpan packet,
                                                             bool verify_checksum = true) {
        return parse(packet, packet.size(), verify_checksum);
    }
    // Writes a 20-byte header (no options) with the checksum computed when
    // `fill_checksum`, else zero (NIC offload). False when `out` is shorter.
    [[nodiscard]] bool emit(MutableByteSpan out, bool fill_checksum = true) const;
};

}  // namespace l45::net
