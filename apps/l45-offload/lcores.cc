// l45-offload on several lcores. See lcores.h.
#include "apps/l45-offload/lcores.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "apps/common/service.h"

namespace l45::offload {

namespace {
// How often the control lcore passes new ARP bindings on (l45-echo's value).
constexpr Duration kFeedInterval = std::chrono::milliseconds(5);
}  // namespace

// Everything one TLS lcore owns. Cache-line aligned: the flags the control
// lcore writes sit apart from every other lcore's.
struct alignas(64) OffloadLcores::TlsLcore {
    std::uint16_t index = 0;
    std::uint16_t queue = 0;
    unsigned eal_lcore = 0;
    OffloadLcores* owner = nullptr;  // for the worker loop
    std::unique_ptr<Random> proxy_random, tcp_random;
    std::unique_ptr<net::Interface> ifc;
    std::unique_ptr<tcp::InterfaceAdapter> adapter;
    std::unique_ptr<BackendPortChooser> chooser;
    std::unique_ptr<Proxy> proxy;
    std::unique_ptr<tcp::TcpStack> stack;
    std::unique_ptr<apps::NeighbourFeed> feed;
    rte_ring* handback = nullptr;  // control -> this lcore, SP/SC
    StatsBoard board;
    Instant next_publish{};
    bool shutting_down = false;
    std::uint64_t handed_back = 0;  // control side: frames enqueued for this lcore
    alignas(64) std::atomic<bool> shutdown_requested{false};
    std::atomic<bool> drained{false};
    std::atomic<bool> stop{false};

    ~TlsLcore() {
        if (adapter) adapter->detach();
        if (handback != nullptr) {
            void* m = nullptr;
            while (rte_ring_sc_dequeue(handback, &m) == 0)
                rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
            rte_ring_free(handback);
        }
    }
};

OffloadLcores::OffloadLcores(drivers::Port& port, const drivers::SoftwareClassifier& classifier,
                             const LcoresConfig& config)
    : port_(port), config_(config), dispatch_(classifier, config.tls_queues, config.iface.ip) {}

OffloadLcores::~OffloadLcores() {
    if (launched_) stop();
    lcores_.clear();
}

Result<std::unique_ptr<OffloadLcores>, std::string> OffloadLcores::create(
    drivers::Port& port, const drivers::SoftwareClassifier& classifier,
    const LcoresConfig& config) {
    const std::size_t n = config.tls_queues.size();
    if (n == 0) return unexpected(std::string("lcores: no TLS queue"));
    for (std::uint16_t q : config.tls_queues) {
        if (q == config.control_queue)
            return unexpected("lcores: queue " + std::to_string(q) +
                              " is both a TLS queue and the control queue");
        if (q >= port.num_rx_queues() || q >= port.num_tx_queues())
            return unexpected("lcores: the port has no queue " + std::to_string(q));
    }
    std::unique_ptr<OffloadLcores> self(new OffloadLcores(port, classifier, config));
    self->control_ifc_ =
        std::make_unique<net::Interface>(config.iface, port.mempool(), port.tx_offloads());

    for (std::size_t k = 0; k < n; ++k) {
        auto l = std::make_unique<TlsLcore>();
        l->index = static_cast<std::uint16_t>(k);
        l->queue = config.tls_queues[k];
        if (config.seed != 0) {
            l->proxy_random = std::make_unique<SeededRandom>(config.seed + 2 * k);
            l->tcp_random = std::make_unique<SeededRandom>(config.seed + 2 * k + 1);
        } else {
            l->proxy_random = std::make_unique<SystemRandom>();
            l->tcp_random = std::make_unique<SystemRandom>();
        }
        net::InterfaceConfig ic = config.iface;
        ic.arp.gratuitous_at_start = false;  // the control lcore announces us
        // The binding of a new neighbour reaches this lcore through the feed,
        // up to kFeedInterval after the control lcore learnt it: a burst of
        // SYN-ACKs to a new client must wait that long without being dropped
        // (each drop costs the client a 1 s SYN retransmission).
        ic.arp.max_held_packets = std::max<std::size_t>(ic.arp.max_held_packets, 64);
        l->ifc = std::make_unique<net::Interface>(ic, port.mempool(), port.tx_offloads());
        l->adapter = std::make_unique<tcp::InterfaceAdapter>(*l->ifc);
        ProxyOptions po = config.proxy;
        po.random = l->proxy_random.get();
        auto proxy = Proxy::create(po, config.tcp.max_connections);
        if (!proxy) return unexpected("lcores: " + proxy.error());
        l->proxy = std::move(*proxy);
        l->stack = std::make_unique<tcp::TcpStack>(config.tcp, *l->adapter, port.mempool(),
                                                   *l->tcp_random, *l->proxy);
        l->adapter->attach(*l->stack);
        l->chooser = std::make_unique<BackendPortChooser>(l->index, static_cast<std::uint16_t>(n));
        l->stack->set_port_chooser(l->chooser.get());

        char name[RTE_RING_NAMESIZE];
        std::snprintf(name, sizeof name, "l45o_nb_p%u_%u", unsigned{port.port_id()},
                      unsigned{l->index});
        auto feed = apps::NeighbourFeed::create(name, port.socket());
        if (!feed) return unexpected("lcores: " + feed.error());
        l->feed = std::move(*feed);
        std::snprintf(name, sizeof name, "l45o_hb_p%u_%u", unsigned{port.port_id()},
                      unsigned{l->index});
        l->handback = rte_ring_create(name, config.handback_ring_size, port.socket(),
                                      RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (l->handback == nullptr)
            return unexpected(std::string("lcores: rte_ring_create ") + name + ": " +
                              rte_strerror(rte_errno));
        self->feeds_.push_back(l->feed.get());
        self->lcores_.push_back(std::move(l));
    }
    return self;
}

Result<void, std::string> OffloadLcores::start(Instant now) {
    control_ifc_->start(now);
    for (auto& l : lcores_) {
        l->ifc->start(now);
        if (auto r = l->proxy->start(*l->stack, now); !r) return unexpected(r.error());
        l->next_publish = now;
    }
    next_feed_ = now + kFeedInterval;
    fed_until_ = now;
    next_control_publish_ = now;
    return {};
}

void OffloadLcores::publish(TlsLcore& l) {
    // A TLS lcore has no port counters of its own: the control board carries
    // the port's.
    l.board.publish(l.proxy->counters(), l.stack->counters(), l.ifc->counters(),
                    drivers::PortCounters{});
}

void OffloadLcores::poll_lcore(std::uint16_t k, Instant now) {
    TlsLcore& l = *lcores_[k];
    if (l.shutdown_requested.load(std::memory_order_relaxed) && !l.shutting_down) {
        l.proxy->shutdown(now);
        l.shutting_down = true;
    }
    (void)l.feed->apply(now, *l.ifc);
    l.proxy->poll(now);
    apps::service_once(port_, l.queue, *l.ifc, now, l.stack.get(), l.handback,
                       !config_.dispatch_all);
    if (l.shutting_down) l.drained.store(l.proxy->drained(), std::memory_order_relaxed);
    if (now >= l.next_publish) {
        publish(l);
        l.next_publish = now + config_.publish_interval;
    }
}

void OffloadLcores::poll_control(Instant now) {
    std::array<rte_mbuf*, apps::kBurst> burst;
    const auto receive = [&](std::uint16_t queue) {
        const std::uint16_t n = port_.rx_burst(queue, burst);
        for (std::uint16_t i = 0; i < n; ++i) {
            rte_mbuf* m = burst[i];
            const std::uint16_t k = dispatch_.lcore_of(
                ByteSpan(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m)));
            if (k == kControl) {
                control_ifc_->receive(now, MbufPtr(m));
            } else if (rte_ring_sp_enqueue(lcores_[k]->handback, m) == 0) {
                ++lcores_[k]->handed_back;  // the ring owns it now, then lcore k
            } else {
                rte_pktmbuf_free(m);
                ++handback_dropped_;
            }
        }
    };
    if (config_.dispatch_all) {
        for (std::uint16_t q = 0; q < port_.num_rx_queues(); ++q)
            receive(q);
    } else {
        receive(config_.control_queue);
    }
    // ARP, ICMP and the rest: the control interface's own iteration.
    apps::service_once(port_, config_.control_queue, *control_ifc_, now, nullptr, nullptr, false);
    if (now >= next_feed_) {
        apps::publish_neighbours(*control_ifc_, fed_until_, feeds_);
        fed_until_ = now;
        next_feed_ = now + kFeedInterval;
    }
    if (now >= next_control_publish_) {
        control_board_.publish(ProxyCounters{}, tcp::TcpCounters{}, control_ifc_->counters(),
                               port_.counters());
        next_control_publish_ = now + config_.publish_interval;
    }
}

Result<void, std::string> OffloadLcores::launch() {
    if (launched_) return unexpected(std::string("lcores: launched twice"));
    if (rte_lcore_count() < 1u + lcores_.size())
        return unexpected("lcores: " + std::to_string(lcores_.size()) +
                          " TLS lcores and the main lcore need " +
                          std::to_string(lcores_.size() + 1) + " EAL lcores, have " +
                          std::to_string(rte_lcore_count()));
    unsigned lcore = 0;
    std::size_t k = 0;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        if (k == lcores_.size()) break;
        lcores_[k]->owner = this;
        const int rc = rte_eal_remote_launch(
            [](void* p) -> int {
                auto* l = static_cast<TlsLcore*>(p);
                while (!l->stop.load(std::memory_order_relaxed))
                    l->owner->poll_lcore(l->index, MonotonicClock::now());
                return 0;
            },
            lcores_[k].get(), lcore);
        if (rc != 0) {
            stop();
            return unexpected("lcores: rte_eal_remote_launch on lcore " + std::to_string(lcore) +
                              ": " + std::to_string(rc));
        }
        lcores_[k]->eal_lcore = lcore;
        launched_ = true;
        ++k;
    }
    return {};
}

void OffloadLcores::stop() {
    if (launched_) {
        for (auto& l : lcores_)
            l->stop.store(true, std::memory_order_relaxed);
        for (auto& l : lcores_)
            (void)rte_eal_wait_lcore(l->eal_lcore);
        launched_ = false;
    }
    // No TLS lcore runs now: their last counters, for the final summary.
    for (auto& l : lcores_)
        publish(*l);
}

void OffloadLcores::request_shutdown() {
    for (auto& l : lcores_)
        l->shutdown_requested.store(true, std::memory_order_relaxed);
}

bool OffloadLcores::drained() const {
    for (const auto& l : lcores_)
        if (!l->drained.load(std::memory_order_relaxed)) return false;
    return true;
}

void OffloadLcores::publish_sum(StatsBoard& total) {
    control_board_.publish(ProxyCounters{}, tcp::TcpCounters{}, control_ifc_->counters(),
                           port_.counters());
    std::vector<const StatsBoard*> parts;
    parts.reserve(lcores_.size() + 1);
    parts.push_back(&control_board_);
    for (const auto& l : lcores_)
        parts.push_back(&l->board);
    total.publish_sum(parts);
}

std::uint16_t OffloadLcores::lcore_id(std::uint16_t k) const {
    return static_cast<std::uint16_t>(lcores_[k]->eal_lcore);
}
const Proxy& OffloadLcores::proxy(std::uint16_t k) const {
    return *lcores_[k]->proxy;
}
const tcp::TcpStack& OffloadLcores::stack(std::uint16_t k) const {
    return *lcores_[k]->stack;
}
const StatsBoard& OffloadLcores::board(std::uint16_t k) const {
    return lcores_[k]->board;
}
std::uint64_t OffloadLcores::handed_back(std::uint16_t k) const {
    return lcores_[k]->handed_back;
}

}  // namespace l45::offload
