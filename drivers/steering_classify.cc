#include "drivers/steering_classify.h"

#include <rte_byteorder.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "drivers/port.h"
#include "stack/net/rss.h"

namespace l45::drivers {
namespace {

constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint8_t kIpProtoTcp = 6;
constexpr std::uint16_t kIpv4MoreFragments = 0x2000;
constexpr std::uint16_t kIpv4OffsetMask = 0x1fff;

}  // namespace

std::uint32_t toeplitz_ipv4_l4(std::span<const std::uint8_t> key, std::uint32_t src,
                               std::uint32_t dst, std::uint16_t sport, std::uint16_t dport) {
    const auto input =
        net::rss_ipv4_l4_input(net::Ipv4Addr::from_be(rte_cpu_to_be_32(src)),
                               net::Ipv4Addr::from_be(rte_cpu_to_be_32(dst)), sport, dport);
    return net::toeplitz_hash(key, input);
}

Result<SoftwareClassifier, std::string> SoftwareClassifier::create(const SteeringConfig& config) {
    // One set of rules for what is valid: the builder's.
    if (auto plan = build_steering_plan(config); !plan) return unexpected(plan.error());
    SoftwareClassifier c;
    for (std::uint16_t p : config.tls_ports)
        c.tls_port_.set(p);
    c.tls_queues_ = config.tls_queues;
    c.control_queue_ = config.control_queue;
    if (config.local_ip) {
        c.match_ip_ = true;
        c.local_ip_ = config.local_ip->value;
    }
    const std::vector<std::uint8_t> key = symmetric_rss_key(kMinRssKeyLen);
    std::copy(key.begin(), key.end(), c.key_.begin());
    return c;
}

Classification SoftwareClassifier::classify(ByteSpan frame) const {
    Reader r(frame);
    // Ethernet II: dst, src, ethertype. A VLAN tag is not IPv4 here: the
    // NIC rules do not match tagged frames either.
    std::uint16_t ethertype = 0;
    if (!r.skip(12) || !r.u16(ethertype) || ethertype != kEtherTypeIpv4) return control();

    // IPv4 (RFC 791 3.1). Only what routing needs: IHL within the frame,
    // not a fragment (a non-first fragment has no ports; a first one is
    // dropped by the stack anyway), protocol TCP.
    Reader ip = r;
    std::uint8_t version_ihl = 0;
    std::uint16_t flags_fragment = 0;
    std::uint8_t protocol = 0;
    std::uint32_t src = 0;
    std::uint32_t dst = 0;
    if (!ip.u8(version_ihl) || !ip.skip(5) || !ip.u16(flags_fragment) || !ip.skip(1) ||
        !ip.u8(protocol) || !ip.skip(2) || !ip.u32(src) || !ip.u32(dst)) {
        return control();
    }
    const std::size_t header_len = std::size_t{version_ihl & 0x0fu} * 4;
    if ((version_ihl >> 4) != 4 || header_len < 20) return control();
    if ((flags_fragment & (kIpv4MoreFragments | kIpv4OffsetMask)) != 0) return control();
    if (protocol != kIpProtoTcp) return control();
    if (match_ip_ && dst != local_ip_) return control();

    // TCP (RFC 9293 3.1): the ports are the first four bytes.
    Reader tcp = r;
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    if (!tcp.skip(header_len) || !tcp.u16(sport) || !tcp.u16(dport)) return control();
    if (!tls_port_.test(dport)) return control();

    const std::uint32_t hash = toeplitz_ipv4_l4(key_, src, dst, sport, dport);
    return {TrafficClass::tls, tls_queues_[hash % tls_queues_.size()]};
}

}  // namespace l45::drivers
