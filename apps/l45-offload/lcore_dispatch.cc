#include "apps/l45-offload/lcore_dispatch.h"

#include <algorithm>

namespace l45::offload {

namespace {
constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint8_t kIpProtoTcp = 6;
constexpr std::uint16_t kIpv4FragmentBits = 0x3fff;  // MF and the offset
}  // namespace

BackendPortChooser::BackendPortChooser(std::uint16_t lcore, std::uint16_t num_lcores)
    : lcore_(lcore), num_lcores_(std::max<std::uint16_t>(num_lcores, 1)) {}

bool BackendPortChooser::choose(const tcp::TcpStack& stack,
                                const tcp::FourTuple& tuple_without_port, std::uint16_t& out_port) {
    // The first port of the range with p mod n = k, then every n-th.
    const std::uint32_t first =
        kBackendFirstPort + (lcore_ + num_lcores_ - kBackendFirstPort % num_lcores_) % num_lcores_;
    if (first >= kBackendFirstPort + kBackendNumPorts) return false;
    const std::uint32_t count =
        (kBackendFirstPort + kBackendNumPorts - first + num_lcores_ - 1) / num_lcores_;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t index = (next_ + i) % count;
        tcp::FourTuple t = tuple_without_port;
        t.local.port = static_cast<std::uint16_t>(first + index * num_lcores_);
        if (!stack.in_use(t)) {
            next_ = index + 1;
            out_port = t.local.port;
            return true;
        }
    }
    return false;
}

std::uint16_t backend_port_owner(std::uint16_t port, std::uint16_t num_lcores) {
    if (num_lcores == 0 || port < kBackendFirstPort ||
        std::uint32_t{port} >= kBackendFirstPort + kBackendNumPorts)
        return kControl;
    return static_cast<std::uint16_t>(port % num_lcores);
}

LcoreDispatch::LcoreDispatch(const drivers::SoftwareClassifier& classifier,
                             const std::vector<std::uint16_t>& tls_queues, net::Ipv4Addr local_ip)
    : classifier_(classifier),
      local_ip_(local_ip.value),
      num_lcores_(static_cast<std::uint16_t>(std::max<std::size_t>(tls_queues.size(), 1))) {
    std::uint16_t max_queue = 0;
    for (std::uint16_t q : tls_queues)
        max_queue = std::max(max_queue, q);
    lcore_of_queue_.assign(std::size_t{max_queue} + 1, kControl);
    for (std::size_t k = 0; k < tls_queues.size(); ++k)
        lcore_of_queue_[tls_queues[k]] = static_cast<std::uint16_t>(k);
}

std::uint16_t LcoreDispatch::lcore_of(ByteSpan frame) const {
    // The TLS listen ports: the classifier's Toeplitz spread, the same
    // queue (so the same lcore) the NIC rule would have chosen.
    const drivers::Classification c = classifier_.classify(frame);
    if (c.traffic_class == drivers::TrafficClass::tls) {
        return c.queue < lcore_of_queue_.size() ? lcore_of_queue_[c.queue] : kControl;
    }
    // A backend's reply: TCP/IPv4 to us, unfragmented, to a port of the
    // backend range. Anything else, or anything unreadable, is control's.
    Reader r(frame);
    std::uint16_t ethertype = 0;
    if (!r.skip(12) || !r.u16(ethertype) || ethertype != kEtherTypeIpv4) return kControl;
    Reader ip = r;
    std::uint8_t version_ihl = 0;
    std::uint16_t flags_fragment = 0;
    std::uint8_t protocol = 0;
    std::uint32_t dst = 0;
    if (!ip.u8(version_ihl) || !ip.skip(5) || !ip.u16(flags_fragment) || !ip.skip(1) ||
        !ip.u8(protocol) || !ip.skip(6) || !ip.u32(dst))
        return kControl;
    const std::size_t header_len = std::size_t{version_ihl & 0x0fu} * 4;
    if ((version_ihl >> 4) != 4 || header_len < 20) return kControl;
    if ((flags_fragment & kIpv4FragmentBits) != 0 || protocol != kIpProtoTcp) return kControl;
    if (dst != local_ip_) return kControl;
    Reader tcp = r;
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    if (!tcp.skip(header_len) || !tcp.u16(sport) || !tcp.u16(dport)) return kControl;
    return backend_port_owner(dport, num_lcores_);
}

}  // namespace l45::offload
