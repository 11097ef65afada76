// l45-offload on several lcores: one lcore per TLS queue, each with its own
// Interface, TcpStack, Proxy and CryptoEngine (nothing shared on the data
// path), and the control queue on the main lcore.
//
// Read first: docs/appliance.md ("Queues", "Several lcores"),
// lcore_dispatch.h (which lcore a frame belongs to), proxy.h,
// apps/common/neighbour_feed.h (ARP bindings, as l45-echo's shards pass them).
//
// Who does what:
//   - TLS lcore k serves tls_queues[k]: the client connections the steering
//     put there, and its own backend connections, opened from local ports
//     p with p mod n = k (BackendPortChooser). It transmits on its own tx
//     queue (the same number as its rx queue).
//   - The control lcore (the caller's, normally the main lcore) owns the
//     control queue: ARP (it alone learns, and passes the bindings to every
//     TLS lcore through a NeighbourFeed), ICMP, stray traffic. It hands
//     every backend reply it receives to its TLS lcore over that lcore's
//     SP/SC ring (the NIC rules send backend traffic to the control queue).
//   - With software steering (every virtual PMD here) the NIC spreads frames
//     its own way, so the control lcore polls every rx queue and dispatches
//     every frame (LcoreDispatch); the TLS lcores then read only their ring.
//     With hardware steering each TLS lcore polls its rx queue and its ring.
//   - A full ring drops the frame (counted): TCP retransmits it.
//
// Each iteration is a method (poll_lcore, poll_control), so a test can drive
// every lcore from one thread with a manual clock; launch() runs the TLS
// lcores on EAL worker lcores with the monotonic clock instead.
//
// Counters: each TLS lcore copies its own into its StatsBoard (relaxed
// atomics) every publish_interval; the control lcore sums the boards
// (publish_sum) for telemetry and the stats line, so no lcore ever reads
// another's plain fields.
#pragma once

#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/common/neighbour_feed.h"
#include "apps/l45-offload/lcore_dispatch.h"
#include "apps/l45-offload/proxy.h"
#include "apps/l45-offload/stats.h"
#include "drivers/port.h"
#include "drivers/steering_classify.h"
#include "stack/base/clock.h"
#include "stack/base/random.h"
#include "stack/net/interface.h"
#include "stack/tcp/interface_adapter.h"
#include "stack/tcp/stack.h"

namespace l45::offload {

struct LcoresConfig {
    std::vector<std::uint16_t> tls_queues;  // TLS lcore k serves tls_queues[k]
    std::uint16_t control_queue = 0;        // not one of tls_queues
    // Software steering: the control lcore polls every rx queue of the port
    // and dispatches each frame; the TLS lcores read only their rings.
    bool dispatch_all = true;
    net::InterfaceConfig iface;  // the port's address; mac filled in by the caller
    tcp::TcpStackConfig tcp;     // per TLS lcore
    ProxyOptions proxy;          // per TLS lcore; `random` is ignored (one per lcore is made)
    // 0: SystemRandom per lcore; else SeededRandom(seed + k) (tests replay).
    std::uint64_t seed = 0;
    std::uint32_t handback_ring_size = 4096;  // mbufs, a power of two
    Duration publish_interval = std::chrono::milliseconds(100);
};

class OffloadLcores {
  public:
    // Set-up path: every lcore's objects and rings. `port` must outlive this.
    // `classifier` is the port's Steering::classifier().
    [[nodiscard]] static Result<std::unique_ptr<OffloadLcores>, std::string> create(
        drivers::Port& port, const drivers::SoftwareClassifier& classifier,
        const LcoresConfig& config);
    ~OffloadLcores();
    OffloadLcores(const OffloadLcores&) = delete;
    OffloadLcores& operator=(const OffloadLcores&) = delete;

    // Starts the interfaces and the proxies' listeners.
    [[nodiscard]] Result<void, std::string> start(Instant now);

    // One iteration of TLS lcore k (on that lcore, or one thread for all).
    void poll_lcore(std::uint16_t k, Instant now);
    // One iteration of the control side.
    void poll_control(Instant now);

    // Runs TLS lcore k on the k-th EAL worker lcore, looping poll_lcore with
    // the monotonic clock until stop(). Needs num_lcores() workers.
    [[nodiscard]] Result<void, std::string> launch();
    // Ends the worker loops and waits for them, then publishes every lcore's
    // last counters (so also call it when one thread drove the lcores).
    void stop();

    // Graceful shutdown of every TLS lcore (each calls Proxy::shutdown on
    // its next iteration); drained() once every lcore is drained.
    void request_shutdown();
    [[nodiscard]] bool drained() const;

    // Sums every lcore's published counters (and the control lcore's) into
    // `total`; call from the control lcore.
    void publish_sum(StatsBoard& total);

    [[nodiscard]] std::uint16_t num_lcores() const {
        return static_cast<std::uint16_t>(lcores_.size());
    }
    [[nodiscard]] std::uint16_t lcore_id(std::uint16_t k) const;  // EAL lcore; after launch()
    // Observation. Reading another lcore's proxy is only safe when it is not
    // running (one thread drives all, or after stop()).
    [[nodiscard]] const Proxy& proxy(std::uint16_t k) const;
    [[nodiscard]] const tcp::TcpStack& stack(std::uint16_t k) const;
    [[nodiscard]] const StatsBoard& board(std::uint16_t k) const;
    [[nodiscard]] std::uint64_t handback_dropped() const { return handback_dropped_; }
    [[nodiscard]] std::uint64_t handed_back(std::uint16_t k) const;
    [[nodiscard]] const net::Interface& control_interface() const { return *control_ifc_; }

    struct TlsLcore;  // lcores.cc

  private:
    OffloadLcores(drivers::Port& port, const drivers::SoftwareClassifier& classifier,
                  const LcoresConfig& config);
    void publish(TlsLcore& l);

    drivers::Port& port_;
    LcoresConfig config_;
    LcoreDispatch dispatch_;
    std::unique_ptr<net::Interface> control_ifc_;
    StatsBoard control_board_;
    std::vector<std::unique_ptr<TlsLcore>> lcores_;
    std::vector<apps::NeighbourFeed*> feeds_;
    Instant next_feed_{};
    Instant fed_until_{};
    Instant next_control_publish_{};
    std::uint64_t handback_dropped_ = 0;
    bool launched_ = false;
};

}  // namespace l45::offload
