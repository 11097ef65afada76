// Link-layer and IPv4 addresses as values.
//
// Ipv4Addr holds the address in HOST byte order (`value`): comparisons,
// masks and the Reader/Writer (which speak big-endian on the wire) need no
// byte swapping at every use. `from_be`/`to_be` convert for DPDK structs.
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace l45::net {

struct Ipv4Addr {
    std::uint32_t value = 0;  // host order: 198.18.0.2 is 0xc6120002

    [[nodiscard]] static Ipv4Addr from_be(std::uint32_t be) {
        return Ipv4Addr{rte_be_to_cpu_32(be)};
    }
    [[nodiscard]] std::uint32_t to_be() const { return rte_cpu_to_be_32(value); }
    [[nodiscard]] static constexpr Ipv4Addr from_octets(std::uint8_t a, std::uint8_t b,
                                                        std::uint8_t c, std::uint8_t d) {
        return Ipv4Addr{(std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) |
                        (std::uint32_t{c} << 8) | d};
    }
    // Dotted quad, exactly four decimal octets ("198.18.0.2"); nullopt otherwise.
    [[nodiscard]] static std::optional<Ipv4Addr> parse(std::string_view text);
    [[nodiscard]] std::string to_string() const;

    [[nodiscard]] constexpr bool is_unspecified() const { return value == 0; }
    [[nodiscard]] constexpr bool is_limited_broadcast() const { return value == 0xffffffffu; }
    [[nodiscard]] constexpr bool is_multicast() const { return (value >> 28) == 0xe; }
    [[nodiscard]] constexpr bool is_loopback() const { return (value >> 24) == 127; }

    friend constexpr bool operator==(Ipv4Addr, Ipv4Addr) = default;
};

inline constexpr Ipv4Addr kIpv4Broadcast{0xffffffffu};

// The netmask of a prefix length (0..32), host order.
[[nodiscard]] constexpr std::uint32_t prefix_mask(std::uint8_t prefix_len) {
    return prefix_len == 0    ? 0u
           : prefix_len >= 32 ? 0xffffffffu
                              : ~((1u << (32 - prefix_len)) - 1u);
}

// --- MAC addresses: DPDK's rte_ether_addr, with value helpers ---
[[nodiscard]] inline bool mac_equal(const rte_ether_addr& a, const rte_ether_addr& b) {
    return rte_is_same_ether_addr(&a, &b) != 0;
}
inline constexpr rte_ether_addr kMacBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
inline constexpr rte_ether_addr kMacZero{{0, 0, 0, 0, 0, 0}};
// "02:00:00:00:00:01"; nullopt otherwise.
[[nodiscard]] std::optional<rte_ether_addr> parse_mac(std::string_view text);
[[nodiscard]] std::string mac_to_string(const rte_ether_addr& mac);

}  // namespace l45::net
