#include "apps/common/service.h"

#include <rte_ethdev.h>

#include <array>

namespace l45::apps {

std::optional<std::uint16_t> pick_port(const std::string& name) {
    if (!name.empty()) return drivers::find_port(name);
    std::uint16_t id = 0;
    RTE_ETH_FOREACH_DEV(id) {
        return id;
    }
    return std::nullopt;
}

net::InterfaceConfig port_interface(const drivers::Port& port, net::Ipv4Addr ip,
                                    std::uint8_t prefix_len, std::optional<net::Ipv4Addr> gateway) {
    net::InterfaceConfig ic;
    ic.mac = drivers::station_mac(port);
    ic.ip = ip;
    ic.prefix_len = prefix_len;
    ic.gateway = gateway;
    if (auto mtu = port.mtu()) ic.mtu = *mtu;
    return ic;
}

std::size_t service_once(drivers::Port& port, std::uint16_t queue, net::Interface& iface,
                         Instant now, tcp::TcpStack* tcp) {
    return service_once(port, queue, iface, now, tcp, nullptr, true);
}

std::size_t service_once(drivers::Port& port, std::uint16_t queue, net::Interface& iface,
                         Instant now, tcp::TcpStack* tcp, rte_ring* handed_over, bool poll_port) {
    std::array<rte_mbuf*, kBurst> burst;
    std::size_t received = 0;
    if (handed_over != nullptr) {
        const unsigned n = rte_ring_sc_dequeue_burst(
            handed_over, reinterpret_cast<void**>(burst.data()), kBurst, nullptr);
        for (unsigned i = 0; i < n; ++i)
            iface.receive(now, MbufPtr(burst[i]));
        received += n;
    }
    if (poll_port) {
        const std::uint16_t n = port.rx_burst(queue, burst);
        for (std::uint16_t i = 0; i < n; ++i)
            iface.receive(now, MbufPtr(burst[i]));
        received += n;
    }
    if (tcp != nullptr) tcp->poll(now);
    iface.poll(now);
    std::size_t sent = 0;
    while (const std::size_t n = iface.drain_tx(burst)) {
        // tx_burst owns all n from here: what the PMD refuses it frees and counts.
        sent += port.tx_burst(queue, std::span<rte_mbuf*>(burst.data(), n));
    }
    return received + sent;
}

}  // namespace l45::apps
