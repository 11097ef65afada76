// The in-process test wire: two real ethdev ports (net_ring) joined back to
// back, so two l45 stacks talk to each other through the same Port API and
// the same mbufs they would use on a NIC.
//
// Why it looks like this:
//   - Both ends are genuine DPDK ports (rte_eth_from_rings), not a mock: the
//     stack's rx_burst/tx_burst/mbuf ownership paths are the production ones.
//   - Pumped mode (the default) is single-threaded and deterministic: each
//     side transmits into its own tx ring and nothing crosses until the test
//     calls pump(now), which moves frames through a seeded FaultInjector per
//     direction into the other side's rx ring. A test is a loop of
//     "run stack A, pump, run stack B, pump" with a ManualClock, so loss,
//     reordering and delay replay identically from the seed.
//   - Direct mode has no injector and no pump: A's tx ring *is* B's rx ring
//     (single-producer/single-consumer), for two-lcore benchmarks where
//     one lcore runs each stack.
//   - Pumped mode on two lcores: each lcore pumps the direction it
//     transmits (pump_a_to_b on A's lcore, pump_b_to_a on B's). A direction
//     touches only its own tx ring (consumer: the pumping lcore, also its
//     producer), its injectors and counters, and the peer's rx ring (producer:
//     the pumping lcore; consumer: the peer's), so every ring keeps one
//     producer and one consumer and nothing else is shared. pump() and
//     flush() do both directions and are for one thread only.
//   - Without rss, queue q of one side is joined to queue q of the other:
//     the ring PMD has no RSS, so the test decides queue placement.
//   - With rss (pumped mode only), the wire plays the receiving NIC: every
//     frame a side transmits, from any of its tx queues, goes to the peer's
//     rx queue reta()[toeplitz(rss_key(), tuple) % reta().size()], computed
//     with DPDK's rte_softrss over the IPv4 src/dst addresses and, for
//     unfragmented TCP and UDP, the ports (RTE_ETH_RSS_IP | _TCP | _UDP).
//     Frames that are not IPv4 (ARP) go to queue 0, as on a NIC that hashes
//     nothing it cannot parse. The key is the symmetric 0x6d5a key, the
//     RETA spreads queues round robin, as drivers::Port programs a NIC.
//   - Port names are unique per wire (net_ring_l45_wire_a<n>/..._b<n>), so many
//     wires may live in one process, one after another or at once.
//   - Teardown order: ports stop first, then the rings are drained (every
//     mbuf freed) and freed, then the ring vdevs are removed.
#pragma once

#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/fault.h"
#include "drivers/port.h"
#include "stack/base/clock.h"
#include "stack/base/result.h"

namespace l45::drivers {

struct WireConfig {
    std::uint16_t num_queues = 1;
    std::uint32_t ring_size = 1024;  // power of two
    bool direct = false;             // no injector, no pump
    // Software RSS across num_queues (pumped mode only); see above.
    bool rss = false;
    std::uint16_t reta_size = 128;  // entries of the emulated RETA
    FaultConfig a_to_b{};
    FaultConfig b_to_a{};
    std::uint64_t seed = 1;
    // Port settings for both ends (queue counts are taken from num_queues).
    PortConfig port{};
};

struct WireCounters {
    std::uint64_t a_to_b = 0;  // frames placed in B's rx rings
    std::uint64_t b_to_a = 0;
    std::uint64_t rx_ring_full = 0;  // frames freed because an rx ring was full
    std::uint64_t rss_unhashed = 0;  // rss: frames without an IPv4 header, to queue 0
};

class RingWire {
  public:
    [[nodiscard]] static Result<std::unique_ptr<RingWire>, std::string> create(
        const WireConfig& config = {});
    RingWire(const RingWire&) = delete;
    RingWire& operator=(const RingWire&) = delete;
    ~RingWire();

    [[nodiscard]] Port& a() { return *a_; }
    [[nodiscard]] Port& b() { return *b_; }

    // Moves everything A and B transmitted through the injectors, then
    // delivers what is due at `now`. No-op in direct mode.
    void pump(Instant now);
    // One direction of pump(): safe to call on A's lcore (a_to_b) while B's
    // lcore calls the other (see the notes at the top).
    void pump_a_to_b(Instant now);
    void pump_b_to_a(Instant now);
    // Delivers every frame still held by the injectors (ignoring time).
    void flush();

    // One injector per direction and queue (held frames keep their queue);
    // queue q's is seeded with seed + 2q (a_to_b) and seed + 2q + 1 (b_to_a).
    // nullptr in direct mode or for a queue out of range.
    [[nodiscard]] FaultInjector* a_to_b(std::uint16_t queue = 0);
    [[nodiscard]] FaultInjector* b_to_a(std::uint16_t queue = 0);
    // The sum of both directions' counters; exact once the pumping lcores
    // are quiescent (each direction's are written by its own lcore only).
    [[nodiscard]] WireCounters counters() const;
    [[nodiscard]] bool direct() const { return direct_; }

    // The emulated NIC's RSS state (empty without rss): what a shard gives
    // tcp::RssPortChooser, as it would give drivers::Port::rss_key()/reta().
    [[nodiscard]] bool rss() const { return rss_; }
    [[nodiscard]] std::span<const std::uint8_t> rss_key() const {
        return rss_ ? std::span<const std::uint8_t>(rss_key_) : std::span<const std::uint8_t>();
    }
    [[nodiscard]] std::span<const std::uint16_t> reta() const { return reta_; }
    // The rx queue the emulated NIC gives frame `m` (0 without rss).
    [[nodiscard]] std::uint16_t rss_queue_of(const rte_mbuf* m);

  private:
    class RxSink;
    RingWire() = default;
    // Counters of one direction, on their own cache line: written only by
    // the lcore that pumps that direction.
    struct alignas(64) DirectionCounters {
        std::uint64_t delivered = 0;
        std::uint64_t rx_ring_full = 0;
        std::uint64_t rss_unhashed = 0;
    };
    void move(rte_ring* from, FaultInjector& inj, FrameSink& sink, Instant now);
    void pump_direction(bool a_to_b, Instant now);
    [[nodiscard]] std::uint16_t rss_queue_of(const rte_mbuf* m, std::uint64_t& unhashed) const;

    bool direct_ = false;
    bool rss_ = false;
    // rte_softrss reads the key as 32-bit words: keep it aligned.
    alignas(8) std::array<std::uint8_t, 40> rss_key_{};
    std::vector<std::uint16_t> reta_;
    unsigned id_ = 0;
    // Rings: a_tx_[q] is A's tx queue q, b_rx_[q] is B's rx queue q, etc.
    // In direct mode a_tx_ == b_rx_ and b_tx_ == a_rx_ (same rings).
    std::vector<rte_ring*> a_rx_, a_tx_, b_rx_, b_tx_;
    std::vector<std::string> vdev_names_;
    std::optional<Port> a_, b_;
    std::vector<FaultInjector> inj_ab_, inj_ba_;
    DirectionCounters ab_counters_{};
    DirectionCounters ba_counters_{};
    std::uint64_t rss_unhashed_{};  // rss_queue_of() called from outside
};

}  // namespace l45::drivers
