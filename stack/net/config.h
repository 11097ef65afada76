// Configuration of one Interface (one port on one lcore). Set-up code builds
// it (it may allocate); the Interface copies what it needs at construction.
#pragma once

#include <rte_ether.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/clock.h"
#include "stack/net/addr.h"

namespace l45::net {

struct ArpConfig {
    std::size_t cache_capacity = 256;  // entries; a full cache evicts the oldest
    // How long a learned address is trusted (RFC 1122 2.3.2.1 asks for a
    // timeout; Linux uses ~30 s base reachable time). Entries older than this
    // are forgotten and re-resolved on next use.
    Duration reachable_lifetime = std::chrono::seconds(60);
    Duration retry_interval = std::chrono::seconds(1);
    std::uint32_t max_retries = 3;     // requests after the first before giving up
    std::size_t max_held_packets = 4;  // per unresolved entry (RFC 1122: at least 1)
    bool gratuitous_at_start = true;   // RFC 5227 announcement in start()
};

struct IcmpConfig {
    // Echo replies: a token bucket. `ping -f -c 10000` from a kernel peer
    // (one request in flight, bursts up to the preload) never runs dry with
    // the defaults. rate_per_sec == 0 disables the limit.
    std::uint32_t echo_rate_per_sec = 20000;
    std::uint32_t echo_burst = 2000;
    bool reply_to_broadcast = false;  // RFC 1122 3.2.2.6: MAY ignore (smurf)
};

// A configured IPv4 -> MAC binding (ArpCache::set_static). One use: the
// lcores of a sharded port other than the one that receives ARP (non-IP
// frames reach rx queue 0 only) know their neighbours this way.
struct StaticNeighbour {
    Ipv4Addr ip{};
    rte_ether_addr mac{};
};

struct InterfaceConfig {
    rte_ether_addr mac{};
    Ipv4Addr ip{};
    std::uint8_t prefix_len = 24;
    std::optional<Ipv4Addr> gateway;
    std::vector<rte_ether_addr> multicast;  // accepted besides unicast + broadcast
    std::uint16_t mtu = 1500;               // IP datagram limit for send_ipv4
    std::uint8_t ttl = 64;
    ArpConfig arp;
    std::vector<StaticNeighbour> static_neighbours;  // at most arp.cache_capacity - 1
    IcmpConfig icmp;
    std::size_t tx_capacity = 1024;  // frames; overflow is dropped and counted
};

}  // namespace l45::net
