#include "drivers/wire.h"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_thash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>

#include "stack/base/bytes.h"

namespace l45::drivers {
namespace {

constexpr unsigned kPumpBurst = 32;
constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::size_t kEthIpv4Len = 14 + 20;  // Ethernet + option-less IPv4 header

int wire_socket() {
    const unsigned s = rte_socket_id();
    return s == static_cast<unsigned>(SOCKET_ID_ANY) ? 0 : static_cast<int>(s);
}

}  // namespace

// Puts what leaves an injector into an rx ring of the other side: the
// queue's own, or with rss the one the emulated NIC's hash picks. Counts
// into the direction's counters only (see DirectionCounters).
class RingWire::RxSink final : public FrameSink {
  public:
    RxSink(const RingWire& wire, const std::vector<rte_ring*>& rings, std::size_t queue,
           DirectionCounters& counters)
        : wire_(wire), rings_(rings), queue_(queue), counters_(counters) {}
    void deliver(rte_mbuf* m) override {
        rte_ring* ring =
            wire_.rss_ ? rings_[wire_.rss_queue_of(m, counters_.rss_unhashed)] : rings_[queue_];
        if (rte_ring_enqueue(ring, m) != 0) {
            rte_pktmbuf_free(m);
            ++counters_.rx_ring_full;
        } else {
            ++counters_.delivered;
        }
    }

  private:
    const RingWire& wire_;
    const std::vector<rte_ring*>& rings_;
    std::size_t queue_;
    DirectionCounters& counters_;
};

Result<std::unique_ptr<RingWire>, std::string> RingWire::create(const WireConfig& config) {
    if (config.num_queues == 0) return unexpected(std::string("a wire needs a queue"));
    if (!rte_is_power_of_2(config.ring_size) || config.ring_size < 2) {
        return unexpected("ring_size " + std::to_string(config.ring_size) +
                          " is not a power of two");
    }
    if (config.rss && config.direct) {
        // Direct mode has no mover between the rings to do the hashing.
        return unexpected(std::string("software RSS needs the pumped wire (direct = false)"));
    }
    if (config.rss && config.reta_size == 0)
        return unexpected(std::string("rss with an empty RETA"));
    static std::atomic<unsigned> next_id{0};
    std::unique_ptr<RingWire> w(new RingWire());
    w->id_ = ++next_id;
    w->direct_ = config.direct;
    w->rss_ = config.rss;
    if (config.rss) {
        const auto key = symmetric_rss_key(w->rss_key_.size());
        std::copy(key.begin(), key.end(), w->rss_key_.begin());
        // Round robin, as Port::open programs a NIC's RETA.
        w->reta_.resize(config.reta_size);
        for (std::uint16_t i = 0; i < config.reta_size; ++i)
            w->reta_[i] = static_cast<std::uint16_t>(i % config.num_queues);
    }
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

WireCounters RingWire::counters() const {
    WireCounters c;
    c.a_to_b = ab_counters_.delivered;
    c.b_to_a = ba_counters_.delivered;
    c.rx_ring_full = ab_counters_.rx_ring_full + ba_counters_.rx_ring_full;
    c.rss_unhashed = ab_counters_.rss_unhashed + ba_counters_.rss_unhashed + rss_unhashed_;
    return c;
}

std::uint16_t RingWire::rss_queue_of(const rte_mbuf* m) {
    return rss_queue_of(m, rss_unhashed_);
}

std::uint16_t RingWire::rss_queue_of(const rte_mbuf* m, std::uint64_t& unhashed) const {
    if (!rss_) return 0;
    std::array<std::uint8_t, kEthIpv4Len> buf;
    const void* p = rte_pktmbuf_read(m, 0, buf.size(), buf.data());
    std::uint16_t type = 0;
    std::uint8_t version_ihl = 0;
    std::uint16_t frag = 0;
    std::uint8_t protocol = 0;
    rte_ipv4_tuple tuple{};
    bool ok = p != nullptr;
    if (ok) {
        Reader r(ByteSpan(static_cast<const std::uint8_t*>(p), buf.size()));
        // dst, src MAC | type | version+IHL, TOS, total length, id | flags +
        // fragment offset | TTL | protocol | checksum | src | dst.
        ok = r.skip(12) && r.u16(type) && type == kEtherTypeIpv4 && r.u8(version_ihl) &&
             (version_ihl >> 4) == 4 && (version_ihl & 0xf) >= 5 && r.skip(5) && r.u16(frag) &&
             r.skip(1) && r.u8(protocol) && r.skip(2) && r.u32(tuple.src_addr) &&
             r.u32(tuple.dst_addr);
    }
    if (!ok) {
        ++unhashed;
        return 0;
    }
    std::uint32_t input_words = RTE_THASH_V4_L3_LEN;
    // Ports only for the first (only) fragment-less TCP/UDP datagram: a NIC
    // cannot see the ports of later fragments, so it hashes addresses alone.
    const bool fragment = (frag & 0x3fff) != 0;
    if (!fragment && (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP)) {
        std::array<std::uint8_t, 4> ports_buf;
        const std::uint32_t l4 = 14 + 4u * (version_ihl & 0xf);
        if (const void* q = rte_pktmbuf_read(m, l4, ports_buf.size(), ports_buf.data())) {
            Reader r(ByteSpan(static_cast<const std::uint8_t*>(q), ports_buf.size()));
            std::uint16_t sport = 0, dport = 0;
            if (r.u16(sport) && r.u16(dport)) {
                tuple.sport = sport;
                tuple.dport = dport;
                input_words = RTE_THASH_V4_L4_LEN;
            }
        }
    }
    const std::uint32_t hash =
        rte_softrss(reinterpret_cast<std::uint32_t*>(&tuple), input_words, rss_key_.data());
    return reta_[hash % reta_.size()];
}

void RingWire::move(rte_ring* from, FaultInjector& inj, FrameSink& sink, Instant now) {
    std::array<void*, kPumpBurst> burst;
    for (;;) {
        const unsigned got = rte_ring_dequeue_burst(from, burst.data(), kPumpBurst, nullptr);
        for (unsigned i = 0; i < got; ++i)
            inj.push(now, static_cast<rte_mbuf*>(burst[i]), sink);
        if (got < kPumpBurst) break;
    }
    inj.poll(now, sink);
}

void RingWire::pump_direction(bool a_to_b, Instant now) {
    if (direct_) return;
    const std::vector<rte_ring*>& tx = a_to_b ? a_tx_ : b_tx_;
    const std::vector<rte_ring*>& rx = a_to_b ? b_rx_ : a_rx_;
    std::vector<FaultInjector>& inj = a_to_b ? inj_ab_ : inj_ba_;
    DirectionCounters& k = a_to_b ? ab_counters_ : ba_counters_;
    for (std::size_t q = 0; q < inj.size(); ++q) {
        RxSink sink(*this, rx, q, k);
        move(tx[q], inj[q], sink, now);
    }
}

void RingWire::pump_a_to_b(Instant now) {
    pump_direction(true, now);
}

void RingWire::pump_b_to_a(Instant now) {
    pump_direction(false, now);
}

// The directions share nothing, so one after the other is the same as
// interleaving them queue by queue.
void RingWire::pump(Instant now) {
    pump_direction(true, now);
    pump_direction(false, now);
}

void RingWire::flush() {
    for (std::size_t q = 0; q < inj_ab_.size(); ++q) {
        RxSink to_b(*this, b_rx_, q, ab_counters_);
        inj_ab_[q].flush(to_b);
    }
    for (std::size_t q = 0; q < inj_ba_.size(); ++q) {
        RxSink to_a(*this, a_rx_, q, ba_counters_);
        inj_ba_[q].flush(to_a);
    }
}

}  // namespace l45::drivers
