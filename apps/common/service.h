// The run-to-completion step every l45 lcore repeats: receive a burst, let
// the stack react, run its timers, transmit what it produced. Shared by the
// apps and the integration tests so both exercise the same loop.
#pragma once

#include <cstddef>
#include <cstdint>

#include "drivers/port.h"
#include "stack/base/clock.h"
#include "stack/net/interface.h"

namespace l45::apps {

inline constexpr std::uint16_t kBurst = 32;

// One iteration on (port, queue); returns how many frames moved either way.
std::size_t service_once(drivers::Port& port, std::uint16_t queue, net::Interface& iface,
                         Instant now);

}  // namespace l45::apps

namespace l45::apps {

// The MAC the stack owns on `port`: the port's own, except on net_tap. There
// the kernel's end of the tap carries the same MAC as the DPDK port, so a
// stack using it would see its neighbour's frames as its own (and drop ARP
// from "itself"); it takes a locally administered neighbour address instead.
// A tap delivers every frame the kernel writes, whatever its destination.
[[nodiscard]] rte_ether_addr stack_mac(const drivers::Port& port);

}  // namespace l45::apps
