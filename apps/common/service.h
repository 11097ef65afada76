// The run-to-completion step every l45 lcore repeats: receive a burst, let
// the stack react, run its timers, transmit what it produced. Shared by the
// apps and the integration tests so both exercise the same loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <rte_ring.h>

#include "drivers/port.h"
#include "stack/base/clock.h"
#include "stack/net/interface.h"
#include "stack/tcp/stack.h"

namespace l45::apps {

inline constexpr std::uint16_t kBurst = 32;

// The port an app was told to use by name, else the first one DPDK has.
[[nodiscard]] std::optional<std::uint16_t> pick_port(const std::string& name);

// An app's interface on `port`: the port's station MAC and MTU (when the
// PMD reports one) with the address it was given.
[[nodiscard]] net::InterfaceConfig port_interface(const drivers::Port& port, net::Ipv4Addr ip,
                                                  std::uint8_t prefix_len,
                                                  std::optional<net::Ipv4Addr> gateway);

// One iteration on (port, queue); returns how many frames moved either way.
// With a TCP stack, its timers run after the received segments and before
// the frames they produced are transmitted.
std::size_t service_once(drivers::Port& port, std::uint16_t queue, net::Interface& iface,
                         Instant now, tcp::TcpStack* tcp = nullptr);

// The same iteration for an lcore that also receives frames handed over by
// another lcore (an SP/SC ring of mbufs it now owns), and that polls its rx
// queue only when `poll_port` (false when another lcore polls every queue
// and dispatches). Transmits on tx queue `queue`.
std::size_t service_once(drivers::Port& port, std::uint16_t queue, net::Interface& iface,
                         Instant now, tcp::TcpStack* tcp, rte_ring* handed_over, bool poll_port);

}  // namespace l45::apps
