// One DPDK ethdev port, owned: the only place in l45 that calls rte_eth_*.
//
// Why it looks like this:
//   - Everything that can fail happens in Port::open (set-up path, may
//     allocate, returns a Result with a readable reason). After open the data
//     path (rx_burst/tx_burst) neither allocates nor fails: it returns counts.
//   - The caller asks, the PMD decides. Descriptor counts are clamped to the
//     PMD's limits, offloads are enabled only where dev_info advertises them,
//     RSS only where the PMD has it. What was actually obtained is reported
//     (effective_*(), tx_offloads(), rss()), so the stack computes in software
//     whatever the NIC does not, and tests can run on net_ring / net_tap that
//     have none of it.
//   - tx_burst takes ownership of every packet it is given, always: what the
//     PMD will not take after a few immediate retries is freed and counted
//     (DPDK l3fwd). So no caller ever has to handle a partial send, and one
//     mbuf has one owner at every instant.
//   - RSS uses the symmetric Toeplitz key (0x6d5a repeated): both directions
//     of a flow hash to the same queue, so one lcore owns a TCP connection
//     end to end. The key and RETA are exposed so the TCP layer can pick a
//     local port whose hash lands on its own queue.
//   - Mempools are per NUMA socket and shared by all ports on it (Mempools),
//     created once at start-up; mbufs must not outlive their registry.
//   - Counters are per queue and cache-aligned: a queue belongs to one lcore.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/result.h"
#include "stack/net/offloads.h"

namespace l45::drivers {

// The symmetric Toeplitz key: 0x6d,0x5a repeated. With it the hash of
// (src, dst, sport, dport) equals the hash of (dst, src, dport, sport).
inline constexpr std::size_t kMaxRssKeyLen = 52;
[[nodiscard]] std::vector<std::uint8_t> symmetric_rss_key(std::size_t key_len);

// Packet mempools, one per NUMA socket, shared by the ports on that socket.
// Must outlive every Port opened with it and every mbuf taken from it.
// Set-up path only (not thread-safe): fill it from the main lcore.
class Mempools {
  public:
    struct Config {
        std::uint32_t num_mbufs = 0;  // 0: sized by the first port that asks
        std::uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
        std::uint32_t cache_size = 256;  // per lcore
    };

    Mempools() = default;
    Mempools(const Mempools&) = delete;
    Mempools& operator=(const Mempools&) = delete;
    // Frees the pools (only call when every mbuf is back).
    ~Mempools();

    // The process-wide registry Port::open uses by default. Never freed
    // automatically (its pools must outlive the EAL's users); call
    // release() before eal_cleanup() if you care.
    static Mempools& global();

    // The pool of `socket`, creating it with `num_mbufs` (if not yet there).
    [[nodiscard]] Result<rte_mempool*, std::string> get_or_create(int socket,
                                                                  std::uint32_t num_mbufs,
                                                                  std::uint16_t data_room);
    [[nodiscard]] rte_mempool* get(int socket) const;
    // Frees all pools. Returns false (and frees none) if an mbuf is out.
    bool release();

  private:
    std::map<int, rte_mempool*> pools_;
    unsigned id_ = 0;
};

struct PortConfig {
    std::uint16_t num_rx_queues = 1;
    std::uint16_t num_tx_queues = 1;
    // Wider than the PMD's uint16_t so a request is clamped, not truncated.
    std::uint32_t rx_desc = 1024;
    std::uint32_t tx_desc = 1024;
    std::uint16_t mtu = 0;  // 0: the PMD's default
    // Mbufs in the socket's pool if this port creates it. 0: rx_queues*rx_desc
    // + tx_queues*tx_desc + lcores*cache + kInFlightMbufs, rounded to 2^n-1.
    std::uint32_t num_mbufs = 0;
    std::uint16_t mbuf_data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
    bool promiscuous = false;
    // Default: on when num_rx_queues > 1 and the PMD has RSS with a RETA
    // (hash types in flow_type_rss_offloads and reta_size > 0).
    std::optional<bool> enable_rss;
    // Enable offloads the PMD has (false: none, for testing the software path).
    bool enable_offloads = true;
    // Immediate re-offers in tx_burst before the rest is dropped.
    unsigned tx_retries = 4;
    Mempools* mempools = nullptr;  // nullptr: Mempools::global()
};

inline constexpr std::uint32_t kInFlightMbufs = 8192;

struct LinkStatus {
    bool up = false;
    std::uint32_t speed_mbps = 0;
    bool full_duplex = false;
};

struct PortCounters {
    std::uint64_t tx_packets = 0;          // taken by the PMD
    std::uint64_t tx_dropped = 0;          // freed because the PMD would not take them
    std::uint64_t tx_prepare_dropped = 0;  // freed because rte_eth_tx_prepare rejected them
    std::uint64_t rx_packets = 0;
};

class Port {
  public:
    [[nodiscard]] static Result<Port, std::string> open(std::uint16_t port_id,
                                                        const PortConfig& config);
    // Creates the vdev (rte_vdev_init) and opens it; the Port then owns the
    // vdev and removes it (rte_vdev_uninit) on destruction.
    [[nodiscard]] static Result<Port, std::string> open_vdev(std::string_view name,
                                                             std::string_view args,
                                                             const PortConfig& config);

    Port(Port&& other) noexcept;
    Port& operator=(Port&& other) noexcept;
    Port(const Port&) = delete;
    Port& operator=(const Port&) = delete;
    ~Port();  // stops and closes the port

    // Data path: no allocation, no failure beyond counts.
    [[nodiscard]] std::uint16_t rx_burst(std::uint16_t queue, std::span<rte_mbuf*> out);
    // Takes ownership of all of `pkts`; returns how many the PMD accepted
    // (the rest were freed and counted in tx_dropped/tx_prepare_dropped).
    // For an offload the caller sets the RTE_MBUF_F_TX_* flags and
    // l2_len/l3_len(/l4_len, tso_segsz); rte_eth_tx_prepare fills in the
    // pseudo-header checksum where the PMD needs it, so the stack does not.
    std::uint16_t tx_burst(std::uint16_t queue, std::span<rte_mbuf*> pkts);

    [[nodiscard]] std::uint16_t port_id() const { return port_id_; }
    [[nodiscard]] int socket() const { return socket_; }
    [[nodiscard]] rte_mempool* mempool() const { return pool_; }
    [[nodiscard]] const rte_ether_addr& mac() const { return mac_; }
    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const std::string& driver_name() const { return driver_name_; }

    [[nodiscard]] std::uint16_t num_rx_queues() const { return num_rx_queues_; }
    [[nodiscard]] std::uint16_t num_tx_queues() const { return num_tx_queues_; }
    [[nodiscard]] std::uint16_t effective_rx_desc() const { return rx_desc_; }
    [[nodiscard]] std::uint16_t effective_tx_desc() const { return tx_desc_; }

    [[nodiscard]] net::TxOffloads tx_offloads() const { return tx_offloads_; }
    // IPv4, TCP and UDP receive checksums are all checked by the NIC (the
    // stack still reads the per-mbuf RTE_MBUF_F_RX_*_CKSUM_* flags).
    [[nodiscard]] bool rx_checksum_offload() const { return rx_cksum_; }
    [[nodiscard]] bool rx_rss_hash() const { return rx_rss_hash_; }
    [[nodiscard]] bool rss() const { return rss_; }
    // Empty unless rss(): the programmed key and the redirection table
    // (queue of a packet = reta()[hash % reta().size()]).
    [[nodiscard]] std::span<const std::uint8_t> rss_key() const { return rss_key_; }
    [[nodiscard]] std::span<const std::uint16_t> reta() const { return reta_; }
    [[nodiscard]] std::uint64_t rss_hf() const { return rss_hf_; }

    [[nodiscard]] Result<std::uint16_t, std::string> mtu() const;
    [[nodiscard]] Result<void, std::string> set_mtu(std::uint16_t mtu);
    [[nodiscard]] LinkStatus link() const;
    // Polls link() until up or the timeout passes; returns the last status.
    LinkStatus wait_for_link(Duration timeout) const;

    // Set-up / diagnostic path (allocates).
    [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> xstats() const;
    // Sums of the per-queue counters (relaxed reads; exact when quiescent).
    [[nodiscard]] PortCounters counters() const;
    [[nodiscard]] std::uint64_t tx_drops() const {
        const PortCounters c = counters();
        return c.tx_dropped + c.tx_prepare_dropped;
    }

  private:
    // One writer (the queue's lcore), any reader: relaxed atomics, no lock.
    struct alignas(64) QueueCounters {
        std::atomic<std::uint64_t> packets{0};
        std::atomic<std::uint64_t> dropped{0};
        std::atomic<std::uint64_t> prepare_dropped{0};
        void add(std::atomic<std::uint64_t>& c, std::uint64_t n) {
            c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
        }
    };

    Port() = default;
    void close();

    std::uint16_t port_id_ = 0;
    bool open_ = false;
    int socket_ = 0;
    rte_mempool* pool_ = nullptr;
    rte_ether_addr mac_{};
    std::string name_;
    std::string driver_name_;
    std::string owned_vdev_;
    std::uint16_t num_rx_queues_ = 0;
    std::uint16_t num_tx_queues_ = 0;
    std::uint16_t rx_desc_ = 0;
    std::uint16_t tx_desc_ = 0;
    net::TxOffloads tx_offloads_{};
    bool tx_prepare_ = false;
    bool rx_cksum_ = false;
    bool rx_rss_hash_ = false;
    bool rss_ = false;
    std::uint64_t rss_hf_ = 0;
    std::vector<std::uint8_t> rss_key_;
    std::vector<std::uint16_t> reta_;
    unsigned tx_retries_ = 0;
    // Separate lines per queue; unique_ptr keeps them put when the Port moves.
    std::unique_ptr<QueueCounters[]> rx_counters_;
    std::unique_ptr<QueueCounters[]> tx_counters_;
};

// Whether Port::open would get RSS with a RETA on `port_id` (more than one
// rx queue, hash types and a redirection table), asked before opening it.
[[nodiscard]] bool pmd_has_rss(std::uint16_t port_id);

// rte_eth_dev_get_port_by_name.
[[nodiscard]] std::optional<std::uint16_t> find_port(std::string_view name);

// The MAC a host stack should own on `port`: the port's own, except on
// net_tap. There the kernel's end of the tap carries the same MAC as the DPDK
// port, so a stack using it would see its neighbour's frames as its own (and
// drop the kernel's ARP as coming from itself); it takes a locally
// administered neighbour of that address instead. A tap hands the PMD every
// frame the kernel writes, whatever its destination, so no filter is needed.
[[nodiscard]] rte_ether_addr station_mac(const Port& port);
// rte_vdev_init(name, args), e.g. ("net_tap0", "iface=l45t0"); returns the port id.
[[nodiscard]] Result<std::uint16_t, std::string> create_vdev(std::string_view name,
                                                             std::string_view args);

}  // namespace l45::drivers
