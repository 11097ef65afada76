// One IPv4-over-Ethernet interface on one lcore: Ethernet, ARP, IPv4, ICMP
// echo, as a sans-IO core. Frames and `now` go in (receive, poll), frames to
// transmit come out (drain_tx); only drivers/ touches the NIC.
//
// Read first: RFC 1122 (host requirements: sections 2 (link), 3.2 (IP/ICMP)),
// then arp.h, ipv4.h and icmp.h for their RFCs.
//
// Not thread-safe by design: one Interface per (lcore, port), nothing shared.
// After construction there is no allocation, lock or exception: frames come
// from the caller or, for ARP requests, from the mempool given here.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/mbuf.h"
#include "stack/base/result.h"
#include "stack/net/addr.h"
#include "stack/net/arp.h"
#include "stack/net/arp_cache.h"
#include "stack/net/config.h"
#include "stack/net/counters.h"
#include "stack/net/ipv4.h"
#include "stack/net/offloads.h"
#include "stack/net/token_bucket.h"
#include "stack/net/tx_queue.h"

namespace l45::net {

// What an L4 handler learns about the datagram that carried its segment.
struct Ipv4Info {
    Ipv4Addr src{};
    Ipv4Addr dst{};
    std::uint8_t protocol = 0;
    std::uint8_t ttl = 0;
    std::uint8_t tos = 0;
    std::uint8_t header_len = 20;  // of the IP header, options included
    std::uint16_t id = 0;
    std::uint16_t payload_len = 0;  // == rte_pktmbuf_pkt_len of the handed mbuf
    bool to_broadcast = false;      // dst was limited or subnet-directed broadcast
};

class L4Handler {
  public:
    virtual ~L4Handler() = default;
    // m's data starts at the L4 header, trimmed to the IP payload length
    // (Ethernet padding removed). The mbuf's RX_L4_CKSUM_* flags are those
    // the NIC set. The handler owns m.
    virtual void on_ipv4(Instant now, const Ipv4Info& info, MbufPtr m) = 0;
};

enum class SendError : std::uint8_t {
    no_mbuf,        // null MbufPtr
    no_route,       // off-link destination and no gateway
    no_headroom,    // fewer than 34 bytes of headroom for IP + Ethernet
    too_big,        // IP datagram above the MTU (DF: we never fragment)
    arp_hold_full,  // the next hop is resolving and its hold queue is full
    tx_queue_full,
};

class Interface {
  public:
    static constexpr std::size_t kHeadroomNeeded = 14 + 20;

    // `pool` is used for ARP requests/announcements only; it must outlive
    // the Interface. Set-up code: may allocate.
    Interface(const InterfaceConfig& config, rte_mempool* pool, TxOffloads offloads);
    Interface(const Interface&) = delete;
    Interface& operator=(const Interface&) = delete;

    // Sends the gratuitous ARP announcement when configured.
    void start(Instant now);
    // One received frame (the Interface owns it from here).
    void receive(Instant now, MbufPtr frame);
    // Timers: ARP retries, give-ups and aging.
    void poll(Instant now);
    // When poll() has work next (Instant::max() when none), like smoltcp's poll_at.
    [[nodiscard]] Instant next_deadline() const;

    // TCP (6), UDP (17) ... register here; nullptr unregisters. ICMP (1) is
    // handled internally and cannot be overridden.
    void set_l4_handler(std::uint8_t protocol, L4Handler* handler);

    // For upper layers: m's data starts at the IP payload (the L4 header)
    // with at least kHeadroomNeeded bytes of headroom. Prepends the IPv4 and
    // Ethernet headers, chooses the next hop (on-link or gateway), resolves it
    // by ARP (holding the packet, bounded) and queues the frame for tx. An
    // offloaded L4 checksum request in m->ol_flags is kept (l2_len/l3_len are
    // set). On error the packet is freed and the matching counter bumped.
    [[nodiscard]] Result<void, SendError> send_ipv4(Instant now, Ipv4Addr dst,
                                                    std::uint8_t protocol, MbufPtr m);

    // A binding learnt elsewhere (on a sharded port, the shard that
    // receives ARP passes what it learns to the others): merged as a
    // received ARP packet would be, creating the entry, and releasing the
    // packets held for `ip`. Ignored for a static entry.
    void learn_neighbour(Instant now, Ipv4Addr ip, const rte_ether_addr& mac);

    // Moves up to out.size() frames ready to transmit into out (ownership
    // passes to the caller, who frees whatever the NIC does not take).
    std::size_t drain_tx(std::span<rte_mbuf*> out);
    [[nodiscard]] std::size_t tx_pending() const { return tx_.size(); }

    [[nodiscard]] const Counters& counters() const { return counters_; }
    [[nodiscard]] const ArpCache& arp() const { return arp_; }
    [[nodiscard]] const InterfaceConfig& config() const { return config_; }
    [[nodiscard]] Ipv4Addr address() const { return config_.ip; }
    [[nodiscard]] const rte_ether_addr& mac() const { return config_.mac; }
    [[nodiscard]] const TxOffloads& offloads() const { return offloads_; }

  private:
    void receive_arp(Instant now, MbufPtr m);
    void receive_ipv4(Instant now, MbufPtr m);
    void receive_icmp(Instant now, MbufPtr m, const Ipv4Header& ip, bool to_broadcast);
    // Builds an ARP request (or, with `announcement`, the RFC 5227
    // announcement of our own address) from the pool and queues it.
    void send_arp_request(Ipv4Addr target, bool announcement);
    // Queued (true), or freed and counted in tx_queue_full.
    bool enqueue(MbufPtr m);
    // Sets l2_len/l3_len and the IPv4 checksum offload flags (the header's
    // checksum was filled in software unless offloads_.ipv4_cksum).
    void finish_ipv4_tx(rte_mbuf* m);
    [[nodiscard]] bool is_local_broadcast(Ipv4Addr a) const;
    [[nodiscard]] bool is_on_link(Ipv4Addr a) const;
    [[nodiscard]] bool accepts_mac(const rte_ether_addr& dst) const;

    InterfaceConfig config_;
    rte_mempool* pool_;
    TxOffloads offloads_;
    std::uint32_t netmask_;
    Counters counters_{};
    ArpCache arp_;
    TxQueue tx_;
    TokenBucket icmp_bucket_;
    std::array<L4Handler*, 256> l4_{};
    std::uint16_t next_ip_id_ = 0;
};

}  // namespace l45::net
