#include "apps/common/wire_host.h"

#include <algorithm>

namespace l45::apps {

net::Ipv4Addr wire_host_addr(std::uint8_t n) {
    return net::Ipv4Addr::from_octets(198, 18, 0, n);
}

rte_ether_addr wire_host_mac(std::uint8_t n) {
    return rte_ether_addr{{0x02, 0, 0, 0, 0, n}};
}

WireHost make_wire_host(drivers::Port& port, const WireHostConfig& config,
                        tcp::TcpHandler& handler) {
    WireHost h;
    net::InterfaceConfig c;
    c.mac = wire_host_mac(config.n);
    c.ip = wire_host_addr(config.n);
    c.prefix_len = 24;
    c.arp.max_held_packets = std::max(c.arp.max_held_packets, config.arp_max_held);
    c.arp.gratuitous_at_start = config.gratuitous_arp;
    if (config.static_peer != 0)
        c.static_neighbours.push_back(
            {wire_host_addr(config.static_peer), wire_host_mac(config.static_peer)});
    h.ifc = std::make_unique<net::Interface>(c, port.mempool(), port.tx_offloads());
    h.adapter = std::make_unique<tcp::InterfaceAdapter>(*h.ifc);
    h.random = std::make_unique<SeededRandom>(config.seed != 0 ? config.seed : 1000 + config.n);
    tcp::TcpStackConfig tc;
    tc.local_addr = c.ip;
    tc.max_connections = config.max_connections;
    tc.tcp.msl = config.msl;
    tc.tcp.rcv_buf_len = config.buf_len;
    tc.tcp.snd_buf_len = config.buf_len;
    tc.tcp.max_syn_retransmissions = config.max_syn_retransmissions;
    h.stack = std::make_unique<tcp::TcpStack>(tc, *h.adapter, port.mempool(), *h.random, handler);
    h.adapter->attach(*h.stack);
    return h;
}

}  // namespace l45::apps
