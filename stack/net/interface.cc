#include "stack/net/interface.h"

#include <rte_byteorder.h>

#include <algorithm>
#include <cstring>

#include "stack/net/checksum.h"
#include "stack/net/ethernet.h"
#include "stack/net/icmp.h"
#include "stack/net/ipv4.h"

namespace l45::net {
namespace {

constexpr std::uint16_t kTypeIpv4 = static_cast<std::uint16_t>(EtherType::ipv4);
constexpr std::uint16_t kTypeArp = static_cast<std::uint16_t>(EtherType::arp);

// Shortens a (possibly chained) packet to new_len bytes, freeing segments
// past the end. Used to drop Ethernet padding after the IP total length.
void trim_to(rte_mbuf* m, std::uint32_t new_len) {
    if (new_len >= m->pkt_len) return;
    std::uint32_t remain = new_len;
    rte_mbuf* seg = m;
    while (seg->data_len < remain && seg->next) {
        remain -= seg->data_len;
        seg = seg->next;
    }
    seg->data_len = static_cast<std::uint16_t>(remain);
    rte_mbuf* rest = seg->next;
    seg->next = nullptr;
    if (rest) {
        std::uint16_t freed = 0;
        for (rte_mbuf* s = rest; s; s = s->next)
            ++freed;
        m->nb_segs = static_cast<std::uint16_t>(m->nb_segs - freed);
        rte_pktmbuf_free(rest);
    }
    m->pkt_len = new_len;
}

// RFC 1112 section 6.4: 01:00:5e + the low 23 bits of the group.
rte_ether_addr multicast_mac(Ipv4Addr group) {
    return rte_ether_addr{{0x01, 0x00, 0x5e, static_cast<std::uint8_t>((group.value >> 16) & 0x7f),
                           static_cast<std::uint8_t>(group.value >> 8),
                           static_cast<std::uint8_t>(group.value)}};
}

}  // namespace

Interface::Interface(const InterfaceConfig& config, rte_mempool* pool, TxOffloads offloads)
    : config_(config),
      pool_(pool),
      offloads_(offloads),
      netmask_(prefix_mask(config.prefix_len)),
      arp_(config.arp, counters_),
      tx_(config.tx_capacity),
      icmp_bucket_(config.icmp.echo_rate_per_sec, config.icmp.echo_burst) {
    for (const StaticNeighbour& n : config.static_neighbours) {
        // Nothing is held yet; a surplus entry is counted, not fatal.
        if (!arp_.set_static(n.ip, n.mac, [](MbufPtr, const rte_ether_addr&) {}))
            ++counters_.arp_static_rejected;
    }
}

void Interface::learn_neighbour(Instant now, Ipv4Addr ip, const rte_ether_addr& mac) {
    (void)arp_.update(now, ip, mac, true, [&](MbufPtr held, const rte_ether_addr& resolved) {
        auto* eth = rte_pktmbuf_mtod(held.get(), rte_ether_hdr*);
        eth->dst_addr = resolved;
        (void)enqueue(std::move(held));
    });
}

void Interface::set_l4_handler(std::uint8_t protocol, L4Handler* handler) {
    if (protocol == kIpProtoIcmp) return;  // ICMP is ours
    l4_[protocol] = handler;
}

bool Interface::accepts_mac(const rte_ether_addr& dst) const {
    if (mac_equal(dst, config_.mac) || rte_is_broadcast_ether_addr(&dst)) return true;
    return std::any_of(config_.multicast.begin(), config_.multicast.end(),
                       [&](const rte_ether_addr& m) { return mac_equal(m, dst); });
}

bool Interface::is_on_link(Ipv4Addr a) const {
    return (a.value & netmask_) == (config_.ip.value & netmask_);
}

bool Interface::is_local_broadcast(Ipv4Addr a) const {
    if (a.is_limited_broadcast()) return true;
    // /31 and /32 have no directed broadcast (RFC 3021).
    return config_.prefix_len < 31 && a.value == (config_.ip.value | ~netmask_);
}

// ---------------------------------------------------------------- receive

void Interface::receive(Instant now, MbufPtr m) {
    if (!m) return;
    ++counters_.rx_frames;
    counters_.rx_bytes += m->pkt_len;
    if (m->pkt_len < kEthernetHeaderLen) {
        ++counters_.rx_runt;
        return;
    }
    auto eth = EthernetHeader::parse(first_segment(m.get()));
    if (!eth) {
        ++counters_.rx_headers_not_contiguous;
        return;
    }
    if (!accepts_mac(eth->dst)) {
        ++counters_.rx_not_for_us;
        return;
    }
    if (rte_is_multicast_ether_addr(&eth->src)) {
        // A group address is never a station's source; answering one would
        // flood the reply (and it is a classic amplification trick).
        ++counters_.rx_bad_src_mac;
        return;
    }
    if (eth->is_vlan_tagged()) {
        // No 802.1Q termination in l45: the NIC strips tags or the port is untagged.
        ++counters_.rx_vlan_dropped;
        return;
    }
    switch (eth->ethertype) {
        case kTypeIpv4:
            receive_ipv4(now, std::move(m));
            return;
        case kTypeArp:
            receive_arp(now, std::move(m));
            return;
        default:
            ++counters_.rx_unknown_ethertype;
            return;
    }
}

void Interface::receive_arp(Instant now, MbufPtr m) {
    ++counters_.arp_rx;
    const std::span<std::uint8_t> seg = first_segment(m.get());
    const ByteSpan payload = ByteSpan(seg).subspan(kEthernetHeaderLen);
    if (payload.size() < kArpPacketLen && m->pkt_len >= kEthernetHeaderLen + kArpPacketLen) {
        ++counters_.rx_headers_not_contiguous;
        return;
    }
    auto parsed = ArpPacket::parse(payload);
    if (!parsed) {
        if (parsed.error() == ArpError::unsupported)
            ++counters_.arp_unsupported;
        else
            ++counters_.arp_malformed;
        return;
    }
    const ArpPacket& arp = *parsed;
    if (arp.op == ArpOp::request)
        ++counters_.arp_requests_in;
    else
        ++counters_.arp_replies_in;

    // A sender hardware address must be a unicast station that is not us;
    // a sender protocol address must be unicast (0.0.0.0 is an RFC 5227 probe).
    const Ipv4Addr sip = arp.sender_ip;
    if (rte_is_multicast_ether_addr(&arp.sender_mac) || rte_is_zero_ether_addr(&arp.sender_mac) ||
        mac_equal(arp.sender_mac, config_.mac) || sip.is_multicast() ||
        sip.is_limited_broadcast() || sip.is_loopback() || is_local_broadcast(sip)) {
        ++counters_.arp_bad_sender;
        return;
    }
    if (sip == config_.ip) {
        // Someone else claims our address (RFC 5227 section 2.4). Not learnt.
        ++counters_.arp_addr_conflict;
        return;
    }
    const bool for_us = arp.target_ip == config_.ip;
    if (!sip.is_unspecified()) {
        // RFC 826: merge if known; add only if the packet is for us (and, to
        // keep strangers from filling the table, only on-link senders).
        (void)arp_.update(now, sip, arp.sender_mac, for_us && is_on_link(sip),
                          [&](MbufPtr held, const rte_ether_addr& mac) {
                              auto* eth = rte_pktmbuf_mtod(held.get(), rte_ether_hdr*);
                              eth->dst_addr = mac;
                              (void)enqueue(std::move(held));
                          });
    }
    if (!for_us) {
        ++counters_.arp_not_for_us;
        return;
    }
    if (arp.op != ArpOp::request) return;  // a reply to us: learnt above

    // The reply is the request turned around in place (RFC 826: swap
    // sender and target, fill in our address, set the opcode).
    const ArpPacket reply{ArpOp::reply, config_.mac, config_.ip, arp.sender_mac, arp.sender_ip};
    const EthernetHeader eth{arp.sender_mac, config_.mac, kTypeArp};
    trim_to(m.get(), kEthernetHeaderLen + kArpPacketLen);
    if (!eth.emit(seg) || !reply.emit(seg.subspan(kEthernetHeaderLen))) return;  // cannot fail
    m->ol_flags = 0;
    if (enqueue(std::move(m))) ++counters_.arp_replies_out;
}

void Interface::receive_ipv4(Instant now, MbufPtr m) {
    ++counters_.ip_rx;
    const std::uint64_t cksum_flags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (cksum_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
        ++counters_.ip_bad_checksum;
        return;
    }
    const std::span<std::uint8_t> seg = first_segment(m.get());
    auto parsed = Ipv4Header::parse(ByteSpan(seg).subspan(kEthernetHeaderLen),
                                    m->pkt_len - kEthernetHeaderLen,
                                    cksum_flags != RTE_MBUF_F_RX_IP_CKSUM_GOOD);
    if (!parsed) {
        switch (parsed.error()) {
            case Ipv4Error::truncated:
                ++counters_.ip_truncated;
                break;
            case Ipv4Error::bad_version:
                ++counters_.ip_bad_version;
                break;
            case Ipv4Error::bad_ihl:
                ++counters_.ip_bad_ihl;
                break;
            case Ipv4Error::header_not_contiguous:
                ++counters_.rx_headers_not_contiguous;
                break;
            case Ipv4Error::bad_total_length:
                ++counters_.ip_bad_total_length;
                break;
            case Ipv4Error::bad_checksum:
                ++counters_.ip_bad_checksum;
                break;
        }
        return;
    }
    const Ipv4Header& ip = *parsed;
    if (ip.ttl == 0) {
        ++counters_.ip_ttl_zero;
        return;
    }
    // RFC 1122 3.2.1.3: silently discard a datagram whose source is not a
    // unicast address; our own address as source is a reflection.
    if (ip.src.is_unspecified() || ip.src.is_limited_broadcast() || ip.src.is_multicast() ||
        ip.src.is_loopback() || ip.src == config_.ip || is_local_broadcast(ip.src)) {
        ++counters_.ip_bad_source;
        return;
    }
    const bool to_broadcast = is_local_broadcast(ip.dst);
    if (ip.dst != config_.ip && !to_broadcast) {
        ++counters_.ip_not_for_us;
        return;
    }
    if (ip.is_fragment()) {
        ++counters_.ip_fragment_dropped;  // by design, see ipv4.h
        return;
    }
    trim_to(m.get(), static_cast<std::uint32_t>(kEthernetHeaderLen + ip.total_len));

    if (ip.protocol == kIpProtoIcmp) {
        receive_icmp(now, std::move(m), ip, to_broadcast);
        return;
    }
    L4Handler* handler = l4_[ip.protocol];
    if (!handler) {
        ++counters_.ip_unknown_protocol;
        return;
    }
    const Ipv4Info info{ip.src,        ip.dst, ip.protocol,      ip.ttl,      ip.tos,
                        ip.header_len, ip.id,  ip.payload_len(), to_broadcast};
    rte_pktmbuf_adj(m.get(), static_cast<std::uint16_t>(kEthernetHeaderLen + ip.header_len));
    ++counters_.ip_delivered;
    handler->on_ipv4(now, info, std::move(m));
}

void Interface::receive_icmp(Instant now, MbufPtr m, const Ipv4Header& ip, bool to_broadcast) {
    ++counters_.icmp_rx;
    const std::uint32_t icmp_off = static_cast<std::uint32_t>(kEthernetHeaderLen + ip.header_len);
    const std::uint32_t icmp_len = ip.payload_len();
    if (icmp_len < kIcmpHeaderLen) {
        ++counters_.icmp_malformed;
        return;
    }
    std::span<std::uint8_t> seg = first_segment(m.get());
    if (seg.size() < icmp_off + kIcmpHeaderLen) {
        ++counters_.rx_headers_not_contiguous;
        return;
    }
    std::uint16_t sum = 0;
    if (!mbuf_checksum_sum(m.get(), icmp_off, icmp_len, sum) || sum != 0xffff) {
        ++counters_.icmp_bad_checksum;
        return;
    }
    auto parsed = IcmpHeader::parse(ByteSpan(seg).subspan(icmp_off));
    if (!parsed) {  // cannot happen after the length checks
        ++counters_.icmp_malformed;
        return;
    }
    IcmpHeader icmp = *parsed;
    if (icmp.type != static_cast<std::uint8_t>(IcmpType::echo_request)) {
        ++counters_.icmp_other_dropped;  // RFC 1122 3.2.2: silently discard
        return;
    }
    ++counters_.icmp_echo_requests_in;
    if (to_broadcast && !config_.icmp.reply_to_broadcast) {
        ++counters_.icmp_broadcast_ignored;
        return;
    }
    if (!icmp_bucket_.try_take(now)) {
        ++counters_.icmp_rate_limited;
        return;
    }

    // RFC 792: "the source and destination addresses are simply reversed,
    // the type code changed to 0, and the checksum recomputed". In place.
    // IP options are not echoed back: the header shrinks to 20 bytes by
    // moving the (Ethernet + fixed IP) bytes up against the ICMP message.
    rte_ether_addr peer_mac{};
    std::memcpy(peer_mac.addr_bytes, seg.data() + 6, 6);
    const std::size_t options_len = ip.header_len - kIpv4MinHeaderLen;
    if (options_len > 0) {
        std::memmove(seg.data() + options_len, seg.data(), kEthernetHeaderLen + kIpv4MinHeaderLen);
        rte_pktmbuf_adj(m.get(), static_cast<std::uint16_t>(options_len));
        seg = first_segment(m.get());
    }
    // The reply goes back to the link-layer sender of the request (the peer
    // or its router), which needs no ARP look-up.
    const EthernetHeader eth{peer_mac, config_.mac, kTypeIpv4};
    Ipv4Header out;
    out.total_len = static_cast<std::uint16_t>(kIpv4MinHeaderLen + icmp_len);
    out.id = next_ip_id_++;
    out.ttl = config_.ttl;
    out.protocol = kIpProtoIcmp;
    out.src = config_.ip;
    out.dst = ip.src;
    std::uint8_t* icmp_bytes = seg.data() + kEthernetHeaderLen + kIpv4MinHeaderLen;
    const auto old_word = static_cast<std::uint16_t>(icmp.type << 8 | icmp.code);
    icmp.type = static_cast<std::uint8_t>(IcmpType::echo_reply);
    const auto new_word = static_cast<std::uint16_t>(icmp.type << 8 | icmp.code);
    icmp.checksum = checksum_update16(icmp.checksum, old_word, new_word);
    if (!eth.emit(seg) || !out.emit(seg.subspan(kEthernetHeaderLen), !offloads_.ipv4_cksum) ||
        !icmp.emit({icmp_bytes, kIcmpHeaderLen}))
        return;  // cannot fail: lengths checked above
    m->ol_flags = 0;
    finish_ipv4_tx(m.get());
    if (enqueue(std::move(m))) ++counters_.icmp_echo_replies_out;
}

// ---------------------------------------------------------------- transmit

void Interface::finish_ipv4_tx(rte_mbuf* m) {
    m->l2_len = kEthernetHeaderLen;
    m->l3_len = kIpv4MinHeaderLen;
    // Keep an L4 checksum/TSO request made by the upper layer; DPDK wants
    // TX_IPV4 alongside any of them.
    const std::uint64_t l4 = m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG);
    m->ol_flags = l4;
    if (offloads_.ipv4_cksum)
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    else if (l4 != 0)
        m->ol_flags |= RTE_MBUF_F_TX_IPV4;
}

bool Interface::enqueue(MbufPtr m) {
    if (!tx_.push(m)) {
        ++counters_.tx_queue_full;
        return false;  // m freed here
    }
    return true;
}

void Interface::send_arp_request(Ipv4Addr target, bool announcement) {
    MbufPtr m(rte_pktmbuf_alloc(pool_));
    if (!m) {
        ++counters_.tx_alloc_failed;
        return;
    }
    auto* data = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(m.get(), kEthernetHeaderLen + kArpPacketLen));
    if (!data) {
        ++counters_.tx_alloc_failed;
        return;
    }
    const MutableByteSpan frame(data, kEthernetHeaderLen + kArpPacketLen);
    const EthernetHeader eth{kMacBroadcast, config_.mac, kTypeArp};
    // An announcement (RFC 5227 section 3) is a request with sender IP ==
    // target IP; target MAC is zero in both.
    const ArpPacket req{ArpOp::request, config_.mac, config_.ip, kMacZero,
                        announcement ? config_.ip : target};
    if (!eth.emit(frame) || !req.emit(frame.subspan(kEthernetHeaderLen))) return;
    if (!enqueue(std::move(m))) return;
    if (announcement)
        ++counters_.arp_gratuitous_out;
    else
        ++counters_.arp_requests_out;
}

void Interface::start(Instant /*now*/) {
    if (config_.arp.gratuitous_at_start) send_arp_request(config_.ip, true);
}

void Interface::poll(Instant now) {
    arp_.poll(now, [&](Ipv4Addr ip) { send_arp_request(ip, false); });
}

Instant Interface::next_deadline() const {
    return arp_.next_deadline();
}

Result<void, SendError> Interface::send_ipv4(Instant now, Ipv4Addr dst, std::uint8_t protocol,
                                             MbufPtr m) {
    if (!m) return unexpected(SendError::no_mbuf);
    const std::uint32_t total_len = m->pkt_len + kIpv4MinHeaderLen;
    if (total_len > config_.mtu || total_len > 0xffff) {
        ++counters_.tx_too_big;
        return unexpected(SendError::too_big);
    }
    if (rte_pktmbuf_headroom(m.get()) < kHeadroomNeeded) {
        ++counters_.tx_no_headroom;
        return unexpected(SendError::no_headroom);
    }
    // Next hop (RFC 1122 3.3.1.1): on-link destinations directly, the rest
    // through the gateway. Broadcast and multicast need no resolution.
    rte_ether_addr dst_mac = kMacBroadcast;
    bool resolved = true;
    Ipv4Addr next_hop = dst;
    if (dst == config_.ip || dst.is_unspecified() || dst.is_loopback()) {
        ++counters_.no_route;  // no loopback path in a userspace NIC stack
        return unexpected(SendError::no_route);
    }
    if (is_local_broadcast(dst)) {
        dst_mac = kMacBroadcast;
    } else if (dst.is_multicast()) {
        dst_mac = multicast_mac(dst);
    } else {
        if (!is_on_link(dst)) {
            if (!config_.gateway) {
                ++counters_.no_route;
                return unexpected(SendError::no_route);
            }
            next_hop = *config_.gateway;
        }
        if (const rte_ether_addr* known = arp_.lookup(now, next_hop))
            dst_mac = *known;
        else
            resolved = false;
    }

    auto* ip_bytes =
        reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m.get(), kIpv4MinHeaderLen));
    auto* eth_bytes =
        reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m.get(), kEthernetHeaderLen));
    (void)ip_bytes;
    Ipv4Header ip;
    ip.total_len = static_cast<std::uint16_t>(total_len);
    ip.id = next_ip_id_++;
    ip.flags_fragment = kIpv4FlagDf;  // PMTU discovery (RFC 1191): we never fragment
    ip.ttl = config_.ttl;
    ip.protocol = protocol;
    ip.src = config_.ip;
    ip.dst = dst;
    const MutableByteSpan frame(eth_bytes, kEthernetHeaderLen + kIpv4MinHeaderLen);
    const EthernetHeader eth{dst_mac, config_.mac, kTypeIpv4};
    if (!eth.emit(frame) || !ip.emit(frame.subspan(kEthernetHeaderLen), !offloads_.ipv4_cksum))
        return unexpected(SendError::no_headroom);  // cannot happen: headroom checked
    finish_ipv4_tx(m.get());
    ++counters_.ip_tx;

    if (resolved) {
        if (!enqueue(std::move(m))) return unexpected(SendError::tx_queue_full);
        return {};
    }
    switch (arp_.hold(now, next_hop, std::move(m))) {
        case ArpCache::HoldResult::held_new:
            send_arp_request(next_hop, false);
            return {};
        case ArpCache::HoldResult::held:
            return {};
        case ArpCache::HoldResult::overflow:
            return unexpected(SendError::arp_hold_full);
    }
    return {};
}

std::size_t Interface::drain_tx(std::span<rte_mbuf*> out) {
    const std::size_t n = tx_.drain(out);
    counters_.tx_frames += n;
    return n;
}

}  // namespace l45::net
