// Ethernet II framing.
//
// Read first: IEEE 802.3 clause 3 (MAC frame format), RFC 894 (IPv4 over
// Ethernet), IEEE 802.1Q (VLAN tags, which l45 does not terminate: tagged
// frames are counted and dropped, a VLAN is expected to be stripped by the
// NIC or handled by a separate port).
#pragma once

#include <rte_ether.h>

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/result.h"

namespace l45::net {

inline constexpr std::size_t kEthernetHeaderLen = 14;
inline constexpr std::size_t kEthernetMinFrameLen = 60;  // without FCS

enum class EtherType : std::uint16_t {
    ipv4 = 0x0800,
    arp = 0x0806,
    vlan = 0x8100,      // 802.1Q
    qinq = 0x88a8,      // 802.1ad
    vlan_old = 0x9100,  // pre-standard QinQ
    ipv6 = 0x86dd,
};

enum class EthernetError : std::uint8_t {
    truncated,  // fewer than 14 bytes
};

// The parsed ("repr") form of an Ethernet II header.
struct EthernetHeader {
    rte_ether_addr dst{};
    rte_ether_addr src{};
    std::uint16_t ethertype = 0;

    // Reads the 14-byte header at the start of `frame`.
    [[nodiscard]] static Result<EthernetHeader, EthernetError> parse(ByteSpan frame);
    // Writes 14 bytes; false when `out` is shorter.
    [[nodiscard]] bool emit(MutableByteSpan out) const;

    [[nodiscard]] bool is_vlan_tagged() const {
        return ethertype == static_cast<std::uint16_t>(EtherType::vlan) ||
               ethertype == static_cast<std::uint16_t>(EtherType::qinq) ||
               ethertype == static_cast<std::uint16_t>(EtherType::vlan_old);
    }
};

}  // namespace l45::net
