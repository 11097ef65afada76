// ARP bindings from shard 0 to the others. See neighbour_feed.h.
#include "apps/common/neighbour_feed.h"

#include <rte_errno.h>
#include <rte_ring_elem.h>

#include <array>
#include <cstring>

namespace l45::apps {
namespace {

struct NeighbourMsg {
    std::uint32_t ip = 0;
    std::array<std::uint8_t, 6> mac{};
    std::uint16_t pad = 0;
};
static_assert(sizeof(NeighbourMsg) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

}  // namespace

Result<std::unique_ptr<NeighbourFeed>, std::string> NeighbourFeed::create(const std::string& name,
                                                                          int socket,
                                                                          unsigned size) {
    std::unique_ptr<NeighbourFeed> f(new NeighbourFeed());
    f->ring_ = rte_ring_create_elem(name.c_str(), sizeof(NeighbourMsg), size, socket,
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (f->ring_ == nullptr)
        return unexpected("rte_ring_create_elem(" + name + "): " + rte_strerror(rte_errno));
    return f;
}

NeighbourFeed::~NeighbourFeed() {
    rte_ring_free(ring_);
}

void NeighbourFeed::publish(const net::Interface& owner, Instant since) {
    owner.arp().for_each([&](const net::ArpCache::Entry& e) {
        if (e.state != net::ArpCache::State::reachable || e.is_static || e.updated < since) return;
        NeighbourMsg m;
        m.ip = e.ip.value;
        std::memcpy(m.mac.data(), e.mac.addr_bytes, m.mac.size());
        if (rte_ring_enqueue_elem(ring_, &m, sizeof m) != 0) ++dropped_;
    });
}

std::size_t NeighbourFeed::apply(Instant now, net::Interface& ifc) {
    std::size_t n = 0;
    NeighbourMsg m;
    while (rte_ring_dequeue_elem(ring_, &m, sizeof m) == 0) {
        rte_ether_addr mac;
        std::memcpy(mac.addr_bytes, m.mac.data(), m.mac.size());
        ifc.learn_neighbour(now, net::Ipv4Addr{m.ip}, mac);
        ++n;
    }
    return n;
}

void publish_neighbours(const net::Interface& owner, Instant since,
                        std::span<NeighbourFeed* const> feeds) {
    for (NeighbourFeed* f : feeds)
        if (f != nullptr) f->publish(owner, since);
}

}  // namespace l45::apps
