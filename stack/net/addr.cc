#include "stack/net/addr.h"

#include <cstdio>

namespace l45::net {
namespace {

// Parses an unsigned decimal up to `max` with no sign, no leading '+', at
// most `max_digits` digits. Advances `text`.
bool take_decimal(std::string_view& text, unsigned max, unsigned& out) {
    unsigned v = 0;
    std::size_t i = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i < 3) {
        v = v * 10 + static_cast<unsigned>(text[i] - '0');
        ++i;
    }
    if (i == 0 || v > max) return false;
    text.remove_prefix(i);
    out = v;
    return true;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
        if (i > 0) {
            if (text.empty() || text.front() != '.') return std::nullopt;
            text.remove_prefix(1);
        }
        unsigned octet = 0;
        if (!take_decimal(text, 255, octet)) return std::nullopt;
        value = (value << 8) | octet;
    }
    if (!text.empty()) return std::nullopt;
    return Ipv4Addr{value};
}

std::string Ipv4Addr::to_string() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", (value >> 24) & 0xff, (value >> 16) & 0xff,
                  (value >> 8) & 0xff, value & 0xff);
    return buf;
}

std::optional<rte_ether_addr> parse_mac(std::string_view text) {
    if (text.size() != 17) return std::nullopt;
    rte_ether_addr mac{};
    for (std::size_t i = 0; i < 6; ++i) {
        const int hi = hex_digit(text[i * 3]);
        const int lo = hex_digit(text[i * 3 + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        if (i < 5 && text[i * 3 + 2] != ':') return std::nullopt;
        mac.addr_bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return mac;
}

std::string mac_to_string(const rte_ether_addr& mac) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac.addr_bytes[0],
                  mac.addr_bytes[1], mac.addr_bytes[2], mac.addr_bytes[3], mac.addr_bytes[4],
                  mac.addr_bytes[5]);
    return buf;
}

}  // namespace l45::net
