#include "apps/common/wire_host.h"

#include <algorithm>

namespace l45::apps {

WireHost make_wire_host(drivers::Port& port, const WireHostConfig& config,
                        tcp::TcpHandler& handler) {
    WireHost h;
    net::InterfaceConfig c;
    c.mac = rte_ether_addr{{0x02, 0, 0, 0, 0, config.n}};
    c.ip = net::Ipv4Addr::from_octets(198, 18, 0, config.n);
    c.prefix_len = 24;
    c.arp.max_held_packets = std::max(c.arp.max_held_packets, config.arp_max_held);
    h.ifc = std::make_unique<net::Interface>(c, port.mempool(), port.tx_offloads());
    h.adapter = std::make_unique<tcp::InterfaceAdapter>(*h.ifc);
    h.random = std::make_unique<SeededRandom>(config.seed != 0 ? config.seed : 1000 + config.n);
    tcp::TcpStackConfig tc;
    tc.local_addr = c.ip;
    tc.max_connections = config.max_connections;
    tc.tcp.msl = config.msl;
    h.stack = std::make_unique<tcp::TcpStack>(tc, *h.adapter, port.mempool(), *h.random, handler);
    h.adapter->attach(*h.stack);
    return h;
}

}  // namespace l45::apps
