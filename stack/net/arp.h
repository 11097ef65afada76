// ARP packets for IPv4 over Ethernet.
//
// Read first: RFC 826 (the packet and the "merge" reception algorithm),
// RFC 5227 (probes with sender IP 0.0.0.0, announcements a.k.a. gratuitous
// ARP: sender IP == target IP), RFC 1122 section 2.3.2 (cache timeouts and
// bounded queueing while resolving).
#pragma once

#include <rte_ether.h>

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/net/addr.h"

namespace l45::net {

inline constexpr std::size_t kArpPacketLen = 28;  // Ethernet/IPv4 form

enum class ArpOp : std::uint16_t { request = 1, reply = 2 };

enum class ArpError : std::uint8_t {
    truncated,    // fewer than 28 bytes
    unsupported,  // hardware type != Ethernet(1), protocol != IPv4, hlen != 6 or plen != 4
    bad_op,       // opcode neither request nor reply
};

struct ArpPacket {
    ArpOp op = ArpOp::request;
    rte_ether_addr sender_mac{};
    Ipv4Addr sender_ip{};
    rte_ether_addr target_mac{};
    Ipv4Addr target_ip{};

    // Parses the ARP payload (what follows the Ethernet header); trailing
    // bytes (Ethernet padding) are ignored.
    [[nodiscard]] static Result<ArpPacket, ArpError> parse(ByteSpan payload);
    // Writes 28 bytes; false when `out` is shorter.
    [[nodiscard]] bool emit(MutableByteSpan out) const;
};

}  // namespace l45::net
