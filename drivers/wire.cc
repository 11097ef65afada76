#include "drivers/wire.h"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>

namespace l45::drivers {
namespace {

constexpr unsigned kPumpBurst = 32;

int wire_socket() {
    const unsigned s = rte_socket_id();
    return s == static_cast<unsigned>(SOCKET_ID_ANY) ? 0 : static_cast<int>(s);
}

}  // namespace

// Puts what leaves an injector into one rx ring of the other side.
class RingWire::RxSink final : public FrameSink {
  public:
    RxSink(rte_ring* ring, std::uint64_t& delivered, std::uint64_t& full)
        : ring_(ring), delivered_(delivered), full_(full) {}
    void deliver(rte_mbuf* m) override {
        if (rte_ring_enqueue(ring_, m) != 0) {
            rte_pktmbuf_free(m);
            ++full_;
        } else {
            ++delivered_;
        }
    }

  private:
    rte_ring* ring_;
    std::uint64_t& delivered_;
    std::uint64_t& full_;
};

Result<std::unique_ptr<RingWire>, std::string> RingWire::create(const WireConfig& config) {
    if (config.num_queues == 0) return unexpected(std::string("a wire needs a queue"));
    if (!rte_is_power_of_2(config.ring_size) || config.ring_size < 2) {
        return unexpected("ring_size " + std::to_string(config.ring_size) +
                          " is not a power of two");
    }
    static std::atomic<unsigned> next_id{0};
    std::unique_ptr<RingWire> w(new RingWire());
    w->id_ = ++next_id;
    w->direct_ = config.direct;
    const int socket = wire_socket();
    const unsigned n = config.num_queues;

    auto make_ring = [&](const char* role, unsigned q) -> rte_ring* {
        char name[RTE_RING_NAMESIZE];
        std::snprintf(name, sizeof name, "l45w%u_%s%u", w->id_, role, q);
        // One producer and one consumer per ring: a queue belongs to one lcore.
        // The usable size is ring_size - 1 (rte_ring keeps one slot free).
        return rte_ring_create(name, config.ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    };
    for (unsigned q = 0; q < n; ++q) {
        rte_ring* ab = make_ring("ab", q);
        if (ab) w->a_tx_.push_back(ab);
        rte_ring* ba = make_ring("ba", q);
        if (ba) w->b_tx_.push_back(ba);
        if (!ab || !ba) {
            return unexpected(std::string("rte_ring_create: ") + rte_strerror(rte_errno));
        }
        if (config.direct) {
            w->b_rx_.push_back(ab);
            w->a_rx_.push_back(ba);
        } else {
            rte_ring* arx = make_ring("arx", q);
            if (arx) w->a_rx_.push_back(arx);
            rte_ring* brx = make_ring("brx", q);
            if (brx) w->b_rx_.push_back(brx);
            if (!arx || !brx) {
                return unexpected(std::string("rte_ring_create: ") + rte_strerror(rte_errno));
            }
        }
    }

    PortConfig pc = config.port;
    pc.num_rx_queues = config.num_queues;
    pc.num_tx_queues = config.num_queues;
    auto make_port = [&](char side, std::vector<rte_ring*>& rx,
                         std::vector<rte_ring*>& tx) -> Result<Port, std::string> {
        char name[64];
        std::snprintf(name, sizeof name, "l45_wire_%c%u", side, w->id_);
        const int id =
            rte_eth_from_rings(name, rx.data(), n, tx.data(), n, static_cast<unsigned>(socket));
        if (id < 0) {
            return unexpected(std::string("rte_eth_from_rings(") + name +
                              "): " + rte_strerror(rte_errno));
        }
        // rte_eth_from_rings registers the vdev "net_ring_<name>".
        w->vdev_names_.push_back(std::string("net_ring_") + name);
        return Port::open(static_cast<std::uint16_t>(id), pc);
    };
    auto a = make_port('a', w->a_rx_, w->a_tx_);
    if (!a) return unexpected("wire side a: " + a.error());
    w->a_.emplace(std::move(*a));
    auto b = make_port('b', w->b_rx_, w->b_tx_);
    if (!b) return unexpected("wire side b: " + b.error());
    w->b_.emplace(std::move(*b));

    if (!config.direct) {
        w->inj_ab_.reserve(n);
        w->inj_ba_.reserve(n);
        for (unsigned q = 0; q < n; ++q) {
            w->inj_ab_.emplace_back(config.a_to_b, config.seed + 2 * q, w->a_->mempool());
            w->inj_ba_.emplace_back(config.b_to_a, config.seed + 2 * q + 1, w->b_->mempool());
        }
    }
    return w;
}

RingWire::~RingWire() {
    // Held frames first, then the ports (no more rx/tx), then whatever is
    // still in a ring, then the rings and the ring vdevs.
    inj_ab_.clear();
    inj_ba_.clear();
    a_.reset();
    b_.reset();
    std::vector<rte_ring*> rings;
    for (auto* v : {&a_rx_, &a_tx_, &b_rx_, &b_tx_})
        rings.insert(rings.end(), v->begin(), v->end());
    std::sort(rings.begin(), rings.end());
    rings.erase(std::unique(rings.begin(), rings.end()), rings.end());
    for (rte_ring* r : rings) {
        void* obj = nullptr;
        while (rte_ring_dequeue(r, &obj) == 0)
            rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
        rte_ring_free(r);
    }
    for (const std::string& name : vdev_names_)
        rte_vdev_uninit(name.c_str());
}

FaultInjector* RingWire::a_to_b(std::uint16_t queue) {
    return queue < inj_ab_.size() ? &inj_ab_[queue] : nullptr;
}

FaultInjector* RingWire::b_to_a(std::uint16_t queue) {
    return queue < inj_ba_.size() ? &inj_ba_[queue] : nullptr;
}

void RingWire::move(rte_ring* from, FaultInjector& inj, RxSink& sink, Instant now) {
    std::array<void*, kPumpBurst> burst;
    for (;;) {
        const unsigned got = rte_ring_dequeue_burst(from, burst.data(), kPumpBurst, nullptr);
        for (unsigned i = 0; i < got; ++i)
            inj.push(now, static_cast<rte_mbuf*>(burst[i]), sink);
        if (got < kPumpBurst) break;
    }
    inj.poll(now, sink);
}

void RingWire::pump(Instant now) {
    if (direct_) return;
    for (std::size_t q = 0; q < inj_ab_.size(); ++q) {
        RxSink to_b(b_rx_[q], counters_.a_to_b, counters_.rx_ring_full);
        move(a_tx_[q], inj_ab_[q], to_b, now);
        RxSink to_a(a_rx_[q], counters_.b_to_a, counters_.rx_ring_full);
        move(b_tx_[q], inj_ba_[q], to_a, now);
    }
}

void RingWire::flush() {
    for (std::size_t q = 0; q < inj_ab_.size(); ++q) {
        RxSink to_b(b_rx_[q], counters_.a_to_b, counters_.rx_ring_full);
        inj_ab_[q].flush(to_b);
        RxSink to_a(a_rx_[q], counters_.b_to_a, counters_.rx_ring_full);
        inj_ba_[q].flush(to_a);
    }
}

}  // namespace l45::drivers
