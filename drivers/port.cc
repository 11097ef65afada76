#include "drivers/port.h"

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdio>
#include <cstring>
#include <thread>

namespace l45::drivers {
namespace {

std::string errstr(const char* what, int rc) {
    const int e = rc < 0 ? -rc : rte_errno;
    return std::string(what) + ": " + rte_strerror(e) + " (" + std::to_string(rc) + ")";
}

// Toeplitz key length when the PMD does not say (hash_key_size == 0).
constexpr std::size_t kDefaultRssKeyLen = 40;

std::uint32_t round_to_pow2_minus1(std::uint64_t n) {
    // The ring mempool is optimal at 2^k - 1 elements.
    const std::uint64_t p = std::bit_ceil(n + 1);
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(p - 1, UINT32_MAX));
}

int resolve_socket(int socket) {
    if (socket >= 0) return socket;
    const unsigned s = rte_socket_id();
    return s == static_cast<unsigned>(SOCKET_ID_ANY) ? 0 : static_cast<int>(s);
}

// The hash types l45 asks RSS for.
constexpr std::uint64_t kRssWant = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;

// A PMD without a RETA (net_tap: its "RSS" is an eBPF program behind
// rte_flow, often unavailable) spreads packets in a way the TCP layer
// cannot predict: that is not RSS for us.
bool pmd_rss_capable(const rte_eth_dev_info& info) {
    return (info.flow_type_rss_offloads & kRssWant) != 0 && info.reta_size > 0;
}

}  // namespace

bool pmd_has_rss(std::uint16_t port_id) {
    rte_eth_dev_info info{};
    return rte_eth_dev_is_valid_port(port_id) && rte_eth_dev_info_get(port_id, &info) == 0 &&
           pmd_rss_capable(info) && info.max_rx_queues > 1;
}

std::vector<std::uint8_t> symmetric_rss_key(std::size_t key_len) {
    std::vector<std::uint8_t> key(key_len);
    for (std::size_t i = 0; i < key_len; ++i)
        key[i] = (i % 2 == 0) ? 0x6d : 0x5a;
    return key;
}

// ---------------------------------------------------------------- Mempools

Mempools::~Mempools() {
    for (auto& [socket, pool] : pools_)
        rte_mempool_free(pool);
}

Mempools& Mempools::global() {
    // Deliberately leaked: a static destructor would run after eal_cleanup().
    static Mempools* g = new Mempools();
    return *g;
}

Result<rte_mempool*, std::string> Mempools::get_or_create(int socket, std::uint32_t num_mbufs,
                                                          std::uint16_t data_room) {
    if (auto it = pools_.find(socket); it != pools_.end()) {
        if (rte_pktmbuf_data_room_size(it->second) < data_room) {
            return unexpected("socket " + std::to_string(socket) + " pool has data room " +
                              std::to_string(rte_pktmbuf_data_room_size(it->second)) + " < " +
                              std::to_string(data_room));
        }
        if (it->second->size < num_mbufs) {
            RTE_LOG(WARNING, USER1,
                    "l45: socket %d pool has %u mbufs, a port asked for %u; sharing it\n", socket,
                    it->second->size, num_mbufs);
        }
        return it->second;
    }
    static std::atomic<unsigned> next_id{0};
    if (id_ == 0) id_ = ++next_id;
    char name[RTE_MEMPOOL_NAMESIZE];
    std::snprintf(name, sizeof name, "l45_mp%u_s%d", id_, socket);
    const std::uint32_t n = round_to_pow2_minus1(std::max<std::uint32_t>(num_mbufs, 1023));
    // The per-lcore cache may hold at most n / 1.5 (rte_mempool_create's rule).
    const unsigned cache = std::min<unsigned>(
        {256u, static_cast<unsigned>(RTE_MEMPOOL_CACHE_MAX_SIZE), static_cast<unsigned>(n / 2)});
    rte_mempool* pool = rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket);
    if (pool == nullptr && socket >= 0) {
        pool = rte_pktmbuf_pool_create(name, n, cache, 0, data_room, SOCKET_ID_ANY);
    }
    if (pool == nullptr) {
        return unexpected(std::string("rte_pktmbuf_pool_create(") + name + ", " +
                          std::to_string(n) + " mbufs): " + rte_strerror(rte_errno));
    }
    pools_.emplace(socket, pool);
    return pool;
}

rte_mempool* Mempools::get(int socket) const {
    auto it = pools_.find(socket);
    return it == pools_.end() ? nullptr : it->second;
}

bool Mempools::release() {
    for (auto& [socket, pool] : pools_) {
        if (rte_mempool_in_use_count(pool) != 0) return false;
    }
    for (auto& [socket, pool] : pools_)
        rte_mempool_free(pool);
    pools_.clear();
    return true;
}

// -------------------------------------------------------------------- Port

Result<Port, std::string> Port::open(std::uint16_t port_id, const PortConfig& config) {
    if (!rte_eth_dev_is_valid_port(port_id)) {
        return unexpected("port " + std::to_string(port_id) + " does not exist");
    }
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) {
        return unexpected(errstr("rte_eth_dev_info_get", rc));
    }
    if (config.num_rx_queues == 0 || config.num_tx_queues == 0) {
        return unexpected(std::string("a port needs at least one rx and one tx queue"));
    }
    if (config.num_rx_queues > info.max_rx_queues || config.num_tx_queues > info.max_tx_queues) {
        return unexpected("asked for " + std::to_string(config.num_rx_queues) + " rx / " +
                          std::to_string(config.num_tx_queues) + " tx queues, " + info.driver_name +
                          " has at most " + std::to_string(info.max_rx_queues) + " / " +
                          std::to_string(info.max_tx_queues));
    }

    Port port;
    port.port_id_ = port_id;
    port.driver_name_ = info.driver_name ? info.driver_name : "";
    port.num_rx_queues_ = config.num_rx_queues;
    port.num_tx_queues_ = config.num_tx_queues;
    port.tx_retries_ = config.tx_retries;
    port.socket_ = resolve_socket(rte_eth_dev_socket_id(port_id));
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    if (rte_eth_dev_get_name_by_port(port_id, name) == 0) port.name_ = name;

    rte_eth_conf conf{};
    // --- offloads: what we want, intersected with what the PMD has.
    if (config.enable_offloads) {
        const std::uint64_t tx_want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                                      RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO |
                                      RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        const std::uint64_t rx_want = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
                                      RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
        conf.txmode.offloads = tx_want & info.tx_offload_capa;
        conf.rxmode.offloads = rx_want & info.rx_offload_capa;
    }
    const std::uint64_t txo = conf.txmode.offloads;
    port.tx_offloads_.ipv4_cksum = (txo & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
    port.tx_offloads_.tcp_cksum = (txo & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
    port.tx_offloads_.udp_cksum = (txo & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
    port.tx_offloads_.tso = (txo & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0;
    port.tx_offloads_.multi_segs = (txo & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
    // Checksum/TSO offloads need the pseudo-header fix-ups of tx_prepare on
    // some PMDs; MULTI_SEGS alone does not.
    port.tx_prepare_ = (txo & ~RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
    constexpr std::uint64_t rx_cksum_all =
        RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    port.rx_cksum_ = (conf.rxmode.offloads & rx_cksum_all) == rx_cksum_all;

    // --- RSS.
    const std::uint64_t rss_want = kRssWant;
    const bool pmd_rss = pmd_rss_capable(info);
    const bool want_rss = config.enable_rss.value_or(config.num_rx_queues > 1 && pmd_rss);
    if (want_rss && !pmd_rss) {
        return unexpected(port.driver_name_ + " has no RSS, but enable_rss was set");
    }
    if (want_rss) {
        const std::size_t key_len = info.hash_key_size ? info.hash_key_size : kDefaultRssKeyLen;
        port.rss_key_ = symmetric_rss_key(key_len);
        port.rss_hf_ = rss_want & info.flow_type_rss_offloads;
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = port.rss_key_.data();
        conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<std::uint8_t>(key_len);
        conf.rx_adv_conf.rss_conf.rss_hf = port.rss_hf_;
        if (config.enable_offloads && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)) {
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
        }
        port.rss_ = true;
    }
    port.rx_rss_hash_ = (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_RSS_HASH) != 0;

    // --- MTU; a frame bigger than one mbuf needs scattered rx.
    if (config.mtu != 0) {
        if (info.max_mtu != 0 && (config.mtu > info.max_mtu || config.mtu < info.min_mtu)) {
            return unexpected("mtu " + std::to_string(config.mtu) + " outside [" +
                              std::to_string(info.min_mtu) + ", " + std::to_string(info.max_mtu) +
                              "] of " + port.driver_name_);
        }
        conf.rxmode.mtu = config.mtu;
        const std::uint32_t frame = config.mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
        if (frame + RTE_PKTMBUF_HEADROOM > config.mbuf_data_room) {
            if (!(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)) {
                return unexpected("mtu " + std::to_string(config.mtu) +
                                  " does not fit an mbuf and the PMD cannot scatter");
            }
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
        }
    }

    if (int rc = rte_eth_dev_configure(port_id, config.num_rx_queues, config.num_tx_queues, &conf);
        rc != 0) {
        return unexpected(errstr("rte_eth_dev_configure", rc));
    }

    // --- descriptors: clamp to the PMD's limits and alignment.
    auto clamp_desc = [](std::uint32_t want, const rte_eth_desc_lim& lim) {
        const std::uint32_t max = lim.nb_max ? lim.nb_max : UINT16_MAX;
        return static_cast<std::uint16_t>(
            std::clamp<std::uint32_t>(want, std::max<std::uint32_t>(lim.nb_min, 1), max));
    };
    std::uint16_t nb_rxd = clamp_desc(config.rx_desc, info.rx_desc_lim);
    std::uint16_t nb_txd = clamp_desc(config.tx_desc, info.tx_desc_lim);
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd); rc != 0) {
        return unexpected(errstr("rte_eth_dev_adjust_nb_rx_tx_desc", rc));
    }
    port.rx_desc_ = nb_rxd;
    port.tx_desc_ = nb_txd;

    // --- the socket's mempool.
    Mempools& pools = config.mempools ? *config.mempools : Mempools::global();
    std::uint64_t want_mbufs = config.num_mbufs;
    if (want_mbufs == 0) {
        want_mbufs = std::uint64_t{config.num_rx_queues} * nb_rxd +
                     std::uint64_t{config.num_tx_queues} * nb_txd +
                     std::uint64_t{rte_lcore_count()} * 256 + kInFlightMbufs;
    }
    auto pool = pools.get_or_create(
        port.socket_, static_cast<std::uint32_t>(std::min<std::uint64_t>(want_mbufs, UINT32_MAX)),
        config.mbuf_data_room);
    if (!pool) return unexpected(pool.error());
    port.pool_ = *pool;

    for (std::uint16_t q = 0; q < config.num_rx_queues; ++q) {
        if (int rc = rte_eth_rx_queue_setup(port_id, q, nb_rxd, port.socket_, nullptr, port.pool_);
            rc != 0) {
            return unexpected(errstr(("rte_eth_rx_queue_setup " + std::to_string(q)).c_str(), rc));
        }
    }
    for (std::uint16_t q = 0; q < config.num_tx_queues; ++q) {
        if (int rc = rte_eth_tx_queue_setup(port_id, q, nb_txd, port.socket_, nullptr); rc != 0) {
            return unexpected(errstr(("rte_eth_tx_queue_setup " + std::to_string(q)).c_str(), rc));
        }
    }
    port.rx_counters_ = std::make_unique<QueueCounters[]>(config.num_rx_queues);
    port.tx_counters_ = std::make_unique<QueueCounters[]>(config.num_tx_queues);

    if (config.promiscuous) {
        if (int rc = rte_eth_promiscuous_enable(port_id); rc != 0) {
            return unexpected(errstr("rte_eth_promiscuous_enable", rc));
        }
    }
    if (int rc = rte_eth_dev_start(port_id); rc != 0) {
        return unexpected(errstr("rte_eth_dev_start", rc));
    }
    port.open_ = true;  // from here on the destructor stops and closes

    if (port.rss_) {
        // Spread the RETA over the queues explicitly (a PMD's default may not).
        const std::uint16_t reta_size = info.reta_size;
        if (reta_size > 0) {
            std::vector<rte_eth_rss_reta_entry64> entries(
                (reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
            for (std::uint16_t i = 0; i < reta_size; ++i) {
                auto& e = entries[i / RTE_ETH_RETA_GROUP_SIZE];
                e.mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
                e.reta[i % RTE_ETH_RETA_GROUP_SIZE] =
                    static_cast<std::uint16_t>(i % config.num_rx_queues);
            }
            const int rc = rte_eth_dev_rss_reta_update(port_id, entries.data(), reta_size);
            if (rc != 0 && rc != -ENOTSUP) {
                RTE_LOG(WARNING, USER1, "l45: port %u: rss_reta_update: %s\n", port_id,
                        rte_strerror(-rc));
            }
            // Report what the PMD holds, which is what the TCP layer must predict.
            if (rte_eth_dev_rss_reta_query(port_id, entries.data(), reta_size) == 0) {
                port.reta_.resize(reta_size);
                for (std::uint16_t i = 0; i < reta_size; ++i)
                    port.reta_[i] =
                        entries[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
            } else if (rc == 0) {
                port.reta_.resize(reta_size);
                for (std::uint16_t i = 0; i < reta_size; ++i)
                    port.reta_[i] = static_cast<std::uint16_t>(i % config.num_rx_queues);
            }
        }
        // Read the key back: a PMD may have kept its own.
        std::vector<std::uint8_t> key(port.rss_key_.size());
        rte_eth_rss_conf got{};
        got.rss_key = key.data();
        got.rss_key_len = static_cast<std::uint8_t>(key.size());
        if (rte_eth_dev_rss_hash_conf_get(port_id, &got) == 0 && got.rss_key_len == key.size()) {
            port.rss_key_ = key;
            port.rss_hf_ = got.rss_hf;
        }
    }

    if (int rc = rte_eth_macaddr_get(port_id, &port.mac_); rc != 0) {
        return unexpected(errstr("rte_eth_macaddr_get", rc));
    }
    return port;
}

Result<Port, std::string> Port::open_vdev(std::string_view name, std::string_view args,
                                          const PortConfig& config) {
    auto id = create_vdev(name, args);
    if (!id) return unexpected(id.error());
    auto port = open(*id, config);
    if (!port) {
        const std::string dev(name);
        rte_eth_dev_close(*id);
        rte_vdev_uninit(dev.c_str());
        return port;
    }
    port->owned_vdev_ = std::string(name);
    return port;
}

Port::Port(Port&& other) noexcept
    : port_id_(other.port_id_),
      open_(std::exchange(other.open_, false)),
      socket_(other.socket_),
      pool_(other.pool_),
      mac_(other.mac_),
      name_(std::move(other.name_)),
      driver_name_(std::move(other.driver_name_)),
      owned_vdev_(std::move(other.owned_vdev_)),
      num_rx_queues_(other.num_rx_queues_),
      num_tx_queues_(other.num_tx_queues_),
      rx_desc_(other.rx_desc_),
      tx_desc_(other.tx_desc_),
      tx_offloads_(other.tx_offloads_),
      tx_prepare_(other.tx_prepare_),
      rx_cksum_(other.rx_cksum_),
      rx_rss_hash_(other.rx_rss_hash_),
      rss_(other.rss_),
      rss_hf_(other.rss_hf_),
      rss_key_(std::move(other.rss_key_)),
      reta_(std::move(other.reta_)),
      tx_retries_(other.tx_retries_),
      rx_counters_(std::move(other.rx_counters_)),
      tx_counters_(std::move(other.tx_counters_)) {
    other.owned_vdev_.clear();
}

Port& Port::operator=(Port&& other) noexcept {
    if (this != &other) {
        std::destroy_at(this);  // stops and closes
        std::construct_at(this, std::move(other));
    }
    return *this;
}

Port::~Port() {
    close();
}

void Port::close() {
    if (open_) {
        open_ = false;
        rte_eth_dev_stop(port_id_);
        rte_eth_dev_close(port_id_);
    }
    if (!owned_vdev_.empty()) {
        rte_vdev_uninit(owned_vdev_.c_str());
        owned_vdev_.clear();
    }
}

std::uint16_t Port::rx_burst(std::uint16_t queue, std::span<rte_mbuf*> out) {
    if (queue >= num_rx_queues_ || out.empty() || !open_) return 0;
    const auto want = static_cast<std::uint16_t>(std::min<std::size_t>(out.size(), UINT16_MAX));
    const std::uint16_t n = rte_eth_rx_burst(port_id_, queue, out.data(), want);
    auto& c = rx_counters_[queue];
    c.add(c.packets, n);
    return n;
}

std::uint16_t Port::tx_burst(std::uint16_t queue, std::span<rte_mbuf*> pkts) {
    if (queue >= num_tx_queues_ || !open_) {
        // Not ours to send: still ours to free (the caller gave them up).
        for (rte_mbuf* m : pkts)
            rte_pktmbuf_free(m);
        if (queue < num_tx_queues_)
            tx_counters_[queue].add(tx_counters_[queue].dropped, pkts.size());
        return 0;
    }
    QueueCounters& c = tx_counters_[queue];
    std::size_t total_sent = 0;
    std::size_t i = 0;
    while (i < pkts.size()) {
        rte_mbuf** p = pkts.data() + i;
        const auto left = static_cast<std::uint16_t>(std::min<std::size_t>(pkts.size() - i, 512));
        std::uint16_t ok = left;
        if (tx_prepare_) ok = rte_eth_tx_prepare(port_id_, queue, p, left);
        std::uint16_t sent = 0;
        unsigned stalls = 0;
        while (sent < ok) {
            const std::uint16_t s =
                rte_eth_tx_burst(port_id_, queue, p + sent, static_cast<std::uint16_t>(ok - sent));
            sent = static_cast<std::uint16_t>(sent + s);
            if (s == 0 && ++stalls > tx_retries_) break;
        }
        for (std::uint16_t k = sent; k < ok; ++k)
            rte_pktmbuf_free(p[k]);
        c.add(c.packets, sent);
        c.add(c.dropped, ok - sent);
        total_sent += sent;
        if (ok < left) {
            // p[ok] is malformed for the offloads asked (rte_errno says why).
            rte_pktmbuf_free(p[ok]);
            c.add(c.prepare_dropped, 1);
            i += ok + 1u;
        } else {
            i += left;
        }
    }
    return static_cast<std::uint16_t>(std::min<std::size_t>(total_sent, UINT16_MAX));
}

Result<std::uint16_t, std::string> Port::mtu() const {
    std::uint16_t mtu = 0;
    if (int rc = rte_eth_dev_get_mtu(port_id_, &mtu); rc != 0) {
        return unexpected(errstr("rte_eth_dev_get_mtu", rc));
    }
    return mtu;
}

Result<void, std::string> Port::set_mtu(std::uint16_t mtu) {
    if (int rc = rte_eth_dev_set_mtu(port_id_, mtu); rc != 0) {
        return unexpected(errstr("rte_eth_dev_set_mtu", rc));
    }
    return {};
}

LinkStatus Port::link() const {
    rte_eth_link l{};
    if (rte_eth_link_get_nowait(port_id_, &l) != 0) return {};
    LinkStatus s;
    s.up = l.link_status == RTE_ETH_LINK_UP;
    s.speed_mbps = l.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : l.link_speed;
    s.full_duplex = l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
    return s;
}

LinkStatus Port::wait_for_link(Duration timeout) const {
    const Instant deadline = MonotonicClock::now() + timeout;
    for (;;) {
        const LinkStatus s = link();
        if (s.up || MonotonicClock::now() >= deadline) return s;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::vector<std::pair<std::string, std::uint64_t>> Port::xstats() const {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    const int n = rte_eth_xstats_get(port_id_, nullptr, 0);
    if (n <= 0) return out;
    std::vector<rte_eth_xstat_name> names(static_cast<std::size_t>(n));
    std::vector<rte_eth_xstat> values(static_cast<std::size_t>(n));
    if (rte_eth_xstats_get_names(port_id_, names.data(), static_cast<unsigned>(n)) != n) return out;
    const int got = rte_eth_xstats_get(port_id_, values.data(), static_cast<unsigned>(n));
    if (got <= 0) return out;
    out.reserve(static_cast<std::size_t>(got));
    for (int i = 0; i < got && i < n; ++i) {
        const auto& v = values[static_cast<std::size_t>(i)];
        if (v.id < names.size()) out.emplace_back(names[v.id].name, v.value);
    }
    return out;
}

PortCounters Port::counters() const {
    PortCounters sum;
    for (std::uint16_t q = 0; rx_counters_ && q < num_rx_queues_; ++q)
        sum.rx_packets += rx_counters_[q].packets.load(std::memory_order_relaxed);
    for (std::uint16_t q = 0; tx_counters_ && q < num_tx_queues_; ++q) {
        const QueueCounters& c = tx_counters_[q];
        sum.tx_packets += c.packets.load(std::memory_order_relaxed);
        sum.tx_dropped += c.dropped.load(std::memory_order_relaxed);
        sum.tx_prepare_dropped += c.prepare_dropped.load(std::memory_order_relaxed);
    }
    return sum;
}

std::optional<std::uint16_t> find_port(std::string_view name) {
    const std::string n(name);
    std::uint16_t id = 0;
    if (rte_eth_dev_get_port_by_name(n.c_str(), &id) != 0) return std::nullopt;
    return id;
}

Result<std::uint16_t, std::string> create_vdev(std::string_view name, std::string_view args) {
    const std::string n(name);
    const std::string a(args);
    if (int rc = rte_vdev_init(n.c_str(), a.c_str()); rc != 0) {
        return unexpected(errstr(("rte_vdev_init " + n).c_str(), rc));
    }
    auto id = find_port(name);
    if (!id) {
        rte_vdev_uninit(n.c_str());
        return unexpected("vdev " + n + " created but no ethdev of that name");
    }
    return *id;
}

rte_ether_addr station_mac(const Port& port) {
    rte_ether_addr mac = port.mac();
    if (port.driver_name() == "net_tap") {
        mac.addr_bytes[0] = static_cast<std::uint8_t>((mac.addr_bytes[0] | 0x02) & ~0x01);
        mac.addr_bytes[5] ^= 0x01;
    }
    return mac;
}

}  // namespace l45::drivers
