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

}  // namespace l45::apps
