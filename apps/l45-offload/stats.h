// What l45-offload shows of its counters: the periodic one-line summary and
// the rte_telemetry endpoints
//   /l45/offload/stats   the proxy's counters (proxy_options.h)
//   /l45/tcp/stats       the TCP stack's (stack/tcp/connection.h TcpCounters)
//   /l45/net/stats       the interface's (stack/net/counters.h) and the port's
// (e.g. `dpdk-telemetry.py -f <file-prefix>`, then `/l45/offload/stats`).
//
// Why a board: the counters are plain fields written by the lcore that owns
// them; rte_telemetry answers from its own thread. The lcore copies them
// into relaxed atomics every few milliseconds (publish), the telemetry
// callback reads those. No lock, no allocation after construction, and a
// reader never sees a torn 64-bit value (one counter may be a publish
// behind another: fine for monitoring).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apps/l45-offload/proxy_options.h"
#include "drivers/port.h"
#include "stack/base/clock.h"
#include "stack/base/result.h"
#include "stack/net/counters.h"
#include "stack/tcp/connection.h"

namespace l45::offload {

// The summary's inputs at one instant (sums over the lcores).
struct StatsSample {
    Instant at{};
    std::uint64_t connections = 0;  // TLS connections accepted, total
    std::uint64_t active = 0;       // sessions in use now
    std::uint64_t handshakes = 0;   // completed
    std::uint64_t handshake_failures = 0;
    std::uint64_t tls_bytes_in = 0;
    std::uint64_t tls_bytes_out = 0;
    std::uint64_t drops = 0;  // see drops() below
};

// Everything counted as a drop in the summary: connections refused for lack
// of a session or slot, segments or frames the stack or the NIC could not
// take (queue full, no mbuf, no route, backlog or table full).
[[nodiscard]] std::uint64_t drops(const ProxyCounters& p, const tcp::TcpCounters& t,
                                  const net::Counters& n, const drivers::PortCounters& port);

[[nodiscard]] StatsSample sample(Instant at, const ProxyCounters& p, const tcp::TcpCounters& t,
                                 const net::Counters& n, const drivers::PortCounters& port);

class StatsBoard;
// The same, from what a board holds (the sum of several lcores).
[[nodiscard]] StatsSample sample(Instant at, const StatsBoard& board);

// "l45-offload: stats connections 12 active 3 handshakes 12 (1.2/s) failed 0
//  in 0.010 Gbit/s out 0.850 Gbit/s drops 0": rates over [prev.at, cur.at].
[[nodiscard]] std::string stats_line(const StatsSample& prev, const StatsSample& cur);

class StatsBoard {
  public:
    StatsBoard();
    StatsBoard(const StatsBoard&) = delete;
    StatsBoard& operator=(const StatsBoard&) = delete;

    // The owning lcore: copies the counters in (relaxed stores).
    void publish(const ProxyCounters& p, const tcp::TcpCounters& t, const net::Counters& n,
                 const drivers::PortCounters& port);

    // The control lcore: the sum of other boards (each published by its own
    // lcore), stored here (relaxed loads and stores).
    void publish_sum(std::span<const StatsBoard* const> parts);

    // Registers the three commands, answered from this board (one board per
    // process; it must outlive the EAL). Call after rte_eal_init.
    [[nodiscard]] Result<void, std::string> register_telemetry();

    struct Group {
        std::vector<std::string> names;
        std::unique_ptr<std::atomic<std::uint64_t>[]> values;
    };
    // For the callbacks and tests.
    [[nodiscard]] const Group& offload() const { return offload_; }
    [[nodiscard]] const Group& tcp() const { return tcp_; }
    [[nodiscard]] const Group& net() const { return net_; }

  private:
    Group offload_, tcp_, net_;
};

// TcpCounters has no for_each (stack/tcp is not this app's), so the fields
// are listed here; f(name, value).
template <class F>
void for_each_tcp_counter(const tcp::TcpCounters& c, F&& f) {
#define L45_TCP_VISIT(name) f(std::string_view(#name), c.name);
    L45_TCP_VISIT(segments_in)
    L45_TCP_VISIT(segments_out)
    L45_TCP_VISIT(bad_header)
    L45_TCP_VISIT(bad_option)
    L45_TCP_VISIT(bad_checksum)
    L45_TCP_VISIT(no_connection)
    L45_TCP_VISIT(resets_sent)
    L45_TCP_VISIT(resets_received)
    L45_TCP_VISIT(challenge_acks)
    L45_TCP_VISIT(challenge_acks_suppressed)
    L45_TCP_VISIT(paws_rejected)
    L45_TCP_VISIT(missing_timestamp)
    L45_TCP_VISIT(out_of_window)
    L45_TCP_VISIT(ack_out_of_range)
    L45_TCP_VISIT(retransmits)
    L45_TCP_VISIT(rto_timeouts)
    L45_TCP_VISIT(fast_retransmits)
    L45_TCP_VISIT(sack_retransmits)
    L45_TCP_VISIT(ooo_queued)
    L45_TCP_VISIT(ooo_dropped)
    L45_TCP_VISIT(rx_queue_full)
    L45_TCP_VISIT(mbuf_alloc_failed)
    L45_TCP_VISIT(syn_backlog_drops)
    L45_TCP_VISIT(syn_cookies_sent)
    L45_TCP_VISIT(syn_cookies_accepted)
    L45_TCP_VISIT(syn_cookies_rejected)
    L45_TCP_VISIT(table_full)
    L45_TCP_VISIT(window_probes)
    L45_TCP_VISIT(keepalive_probes)
#undef L45_TCP_VISIT
}

}  // namespace l45::offload
