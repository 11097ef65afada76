// One l45 host on a test wire's port: an Interface at 198.18.0.<n>/24 (MAC
// 02:00:00:00:00:<n>), its TCP adapter and a TcpStack whose handler is the
// caller's. Shared by the in-process wire tests (tests/tcp_wire, tests/shards,
// tests/offload) and the two-lcore l45-bench/l45-offload harness
// (apps/bench/ring_pair.h), so all of them build their hosts the same way.
//
// The caller owns the loop: apps::service_once(port, 0, *ifc, now, stack)
// once per iteration. Before the WireHost goes, detach() the adapter (the
// stack may still hand it frames from its destructor otherwise).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "drivers/port.h"
#include "stack/base/clock.h"
#include "stack/base/random.h"
#include "stack/net/interface.h"
#include "stack/tcp/interface_adapter.h"
#include "stack/tcp/stack.h"

namespace l45::apps {

struct WireHostConfig {
    std::uint8_t n = 1;  // the last octet of the address and of the MAC
    std::uint32_t max_connections = 1024;
    // TIME-WAIT lasts 2*MSL: short, because a test wire carries no stray
    // segments from older incarnations of a tuple, and thousands of short
    // connections would otherwise fill the TIME-WAIT table.
    Duration msl = std::chrono::seconds(1);
    // Frames held while ARP resolves (0: the Interface's default). Every
    // first connection of a run waits for the one ARP reply: a load
    // generator opening `concurrency` connections at once needs that many.
    std::size_t arp_max_held = 0;
    std::uint64_t seed = 0;  // the stack's randomness; 0: 1000 + n
    // Each connection's send and receive buffer.
    std::uint32_t buf_len = tcp::TcpConfig{}.rcv_buf_len;
    std::uint32_t max_syn_retransmissions = tcp::TcpConfig{}.max_syn_retransmissions;
    // A shard that does not own its port's ARP (it gets no ARP frames, as
    // queue >= 1 under RSS): false, so it announces nothing at start, and
    // static_peer names the host it knows without asking (0: none).
    bool gratuitous_arp = true;
    std::uint8_t static_peer = 0;
};

// The address and MAC of host n on a test wire.
[[nodiscard]] net::Ipv4Addr wire_host_addr(std::uint8_t n);
[[nodiscard]] rte_ether_addr wire_host_mac(std::uint8_t n);

struct WireHost {
    std::unique_ptr<net::Interface> ifc;
    std::unique_ptr<tcp::InterfaceAdapter> adapter;
    std::unique_ptr<SeededRandom> random;
    std::unique_ptr<tcp::TcpStack> stack;

    void detach() {
        if (adapter) adapter->detach();
    }
};

[[nodiscard]] WireHost make_wire_host(drivers::Port& port, const WireHostConfig& config,
                                      tcp::TcpHandler& handler);

}  // namespace l45::apps
