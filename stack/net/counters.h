// Interface counters: one per drop reason, plus totals.
//
// Every frame that enters Interface::receive() and does not end up in a
// reply, an L4 handler or the ARP cache increments exactly one drop counter,
// so "where did my packet go" is always answerable. The list is an X-macro
// so that for_each() (metrics export, test dumps) can never miss a field.
#pragma once

#include <cstdint>
#include <string_view>

namespace l45::net {

#define L45_NET_COUNTERS(X)                                                                    \
    /* --- receive, Ethernet --- */                                                            \
    X(rx_frames)                 /* frames given to receive() */                               \
    X(rx_bytes)                  /* their pkt_len */                                           \
    X(rx_runt)                   /* drop: shorter than an Ethernet header */                   \
    X(rx_headers_not_contiguous) /* drop: headers span mbuf segments */                        \
    X(rx_bad_src_mac)            /* drop: source MAC multicast/broadcast (IEEE 802.3 3.2.3) */ \
    X(rx_not_for_us)             /* drop: destination MAC not ours/broadcast/joined */         \
    X(rx_vlan_dropped)           /* drop: 802.1Q/802.1ad tagged */                             \
    X(rx_unknown_ethertype)      /* drop: neither IPv4 nor ARP */                              \
    /* --- ARP --- */                                                                          \
    X(arp_rx)                                                                                  \
    X(arp_malformed)     /* drop: truncated or bad opcode */                                   \
    X(arp_unsupported)   /* drop: not Ethernet/IPv4 */                                         \
    X(arp_bad_sender)    /* drop: sender MAC multicast/ours, or sender IP martian */           \
    X(arp_addr_conflict) /* drop: someone else claims our IP */                                \
    X(arp_not_for_us)    /* no reply (may still refresh the cache) */                          \
    X(arp_requests_in)                                                                         \
    X(arp_replies_in)                                                                          \
    X(arp_requests_out)                                                                        \
    X(arp_replies_out)                                                                         \
    X(arp_gratuitous_out)                                                                      \
    X(arp_resolve_failed)  /* entries given up after max retries */                            \
    X(arp_hold_overflow)   /* drop: hold queue of an unresolved entry full */                  \
    X(arp_hold_dropped)    /* drop: held packets freed on give-up or eviction */               \
    X(arp_cache_evictions) /* entries pushed out by a full cache */                            \
    X(arp_static_rejected) /* configured static neighbours that did not fit the cache */       \
    /* --- IPv4 receive --- */                                                                 \
    X(ip_rx)                                                                                   \
    X(ip_truncated) /* drop: fewer than 20 bytes after Ethernet */                             \
    X(ip_bad_version)                                                                          \
    X(ip_bad_ihl)                                                                              \
    X(ip_bad_total_length) /* vs the frame, or < IHL*4 */                                      \
    X(ip_bad_checksum)     /* software check, or NIC said BAD */                               \
    X(ip_ttl_zero)                                                                             \
    X(ip_bad_source) /* src broadcast/multicast/ours/loopback */                               \
    X(ip_not_for_us)                                                                           \
    X(ip_fragment_dropped) /* see ipv4.h: no reassembly, by design */                          \
    X(ip_unknown_protocol) /* no L4 handler registered */                                      \
    X(ip_delivered)        /* handed to an L4 handler */                                       \
    /* --- ICMP --- */                                                                         \
    X(icmp_rx)                                                                                 \
    X(icmp_malformed) /* drop: shorter than 8 bytes */                                         \
    X(icmp_bad_checksum)                                                                       \
    X(icmp_echo_requests_in)                                                                   \
    X(icmp_echo_replies_out)                                                                   \
    X(icmp_rate_limited)      /* drop: token bucket empty */                                   \
    X(icmp_broadcast_ignored) /* drop: echo to a broadcast address (RFC 1122 3.2.2.6) */       \
    X(icmp_other_dropped)     /* drop: types other than echo request */                        \
    /* --- transmit --- */                                                                     \
    X(ip_tx)           /* datagrams built by send_ipv4 */                                      \
    X(no_route)        /* drop: off-link and no gateway */                                     \
    X(tx_no_headroom)  /* drop: mbuf cannot take IP+Ethernet headers */                        \
    X(tx_too_big)      /* drop: above the MTU (we never fragment) */                           \
    X(tx_queue_full)   /* drop: tx queue at capacity */                                        \
    X(tx_alloc_failed) /* drop: mempool empty for an ARP request */                            \
    X(tx_frames)       /* frames moved out by drain_tx */

struct Counters {
#define L45_NET_COUNTER_FIELD(name) std::uint64_t name = 0;
    L45_NET_COUNTERS(L45_NET_COUNTER_FIELD)
#undef L45_NET_COUNTER_FIELD

    // f(std::string_view name, std::uint64_t value), in declaration order.
    template <class F>
    void for_each(F&& f) const {
#define L45_NET_COUNTER_VISIT(name) f(std::string_view(#name), name);
        L45_NET_COUNTERS(L45_NET_COUNTER_VISIT)
#undef L45_NET_COUNTER_VISIT
    }
};

}  // namespace l45::net
