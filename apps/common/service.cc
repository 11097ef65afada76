#include "apps/common/service.h"

#include <array>

namespace l45::apps {

std::size_t service_once(drivers::Port& port, std::uint16_t queue, net::Interface& iface,
                         Instant now, tcp::TcpStack* tcp) {
    std::array<rte_mbuf*, kBurst> burst;
    const std::uint16_t received = port.rx_burst(queue, burst);
    for (std::uint16_t i = 0; i < received; ++i)
        iface.receive(now, MbufPtr(burst[i]));
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
