#include "apps/common/service.h"

#include <array>

namespace l45::apps {

std::size_t service_once(drivers::Port& port, std::uint16_t queue, net::Interface& iface,
                         Instant now) {
    std::array<rte_mbuf*, kBurst> burst;
    const std::uint16_t received = port.rx_burst(queue, burst);
    for (std::uint16_t i = 0; i < received; ++i)
        iface.receive(now, MbufPtr(burst[i]));
    iface.poll(now);
    std::size_t sent = 0;
    while (const std::size_t n = iface.drain_tx(burst)) {
        // tx_burst owns all n from here: what the PMD refuses it frees and counts.
        sent += port.tx_burst(queue, std::span<rte_mbuf*>(burst.data(), n));
    }
    return received + sent;
}

}  // namespace l45::apps

namespace l45::apps {

rte_ether_addr stack_mac(const drivers::Port& port) {
    rte_ether_addr mac = port.mac();
    if (port.driver_name() == "net_tap") {
        mac.addr_bytes[0] |= 0x02;  // locally administered
        mac.addr_bytes[0] &= 0xfe;  // unicast
        mac.addr_bytes[5] ^= 0x01;
    }
    return mac;
}

}  // namespace l45::apps
