#include "apps/common/cli.h"

#include <charconv>

namespace l45::apps {

std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text) {
    Ipv4Prefix out;
    const auto slash = text.find('/');
    const auto addr = net::Ipv4Addr::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    out.addr = *addr;
    out.prefix_len = 24;
    if (slash != std::string_view::npos) {
        const std::string_view len = text.substr(slash + 1);
        unsigned v = 0;
        const auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
        if (ec != std::errc() || p != len.data() + len.size() || v > 32) return std::nullopt;
        out.prefix_len = static_cast<std::uint8_t>(v);
    }
    return out;
}

std::optional<Ipv4Endpoint> parse_ipv4_endpoint(std::string_view text, std::uint16_t default_port) {
    Ipv4Endpoint out;
    const auto colon = text.rfind(':');
    const auto addr = net::Ipv4Addr::parse(text.substr(0, colon));
    if (!addr) return std::nullopt;
    out.addr = *addr;
    out.port = default_port;
    if (colon != std::string_view::npos) {
        const std::string_view port = text.substr(colon + 1);
        unsigned v = 0;
        const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
        if (ec != std::errc() || p != port.data() + port.size() || v > 65535) return std::nullopt;
        out.port = static_cast<std::uint16_t>(v);
    }
    if (out.port == 0) return std::nullopt;
    return out;
}

}  // namespace l45::apps
