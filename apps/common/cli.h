// Parsing helpers shared by the apps' command lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "stack/net/addr.h"

namespace l45::apps {

struct Ipv4Prefix {
    net::Ipv4Addr addr;
    std::uint8_t prefix_len = 32;
};

// "198.18.0.2/24" (the prefix defaults to /24 when omitted, as `ip addr` would not,
// but a stub network on a tap almost always is one).
[[nodiscard]] std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text);

struct Ipv4Endpoint {
    net::Ipv4Addr addr;
    std::uint16_t port = 0;
};

// "198.18.0.2:443"; without ":PORT" the port is default_port (0: required).
[[nodiscard]] std::optional<Ipv4Endpoint> parse_ipv4_endpoint(std::string_view text,
                                                              std::uint16_t default_port = 0);

}  // namespace l45::apps
