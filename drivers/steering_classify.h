// Software steering: the classification the rte_flow rules of
// drivers/steering_rules.h would have made in the NIC, done on the CPU for
// PMDs without rte_flow (net_ring, net_tap without its eBPF RSS, af_packet).
//
// Read first: RFC 791 (the IPv4 header, IHL, fragments), RFC 9293 section 3.1
// (the TCP header: ports are its first four bytes), Microsoft's "RSS hashing"
// (the Toeplitz function and its verification suite).
//
// Why it looks like this:
//   - Pure and bounds-checked: Reader over the frame's bytes, no raw offsets,
//     no allocation, no DPDK calls; the data path may call it per frame.
//   - It only ever answers "TLS queue k" or "control". Anything it cannot
//     read confidently (short, VLAN-tagged, not IPv4, bad IHL, a fragment,
//     not TCP, another port) goes to the control queue, whose full stack
//     parses it again, counts what is malformed and drops it: so the
//     drop counters stay in one place, and a malformed frame never crashes
//     or wedges a TLS lcore.
//   - The TLS queue is tls_queues[hash % n], with the symmetric Toeplitz
//     hash of (src, dst, sport, dport): both directions of a connection pick
//     the same queue. It is the same rule Port uses for its RETA
//     (queue = reta[hash % size] with reta[i] = i % n). A NIC's RSS action
//     may spread differently; that does not matter, because a connection is
//     classified by one of the two for its whole life, never both.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "drivers/steering_rules.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"

namespace l45::drivers {

// The Toeplitz hash of an IPv4 4-tuple (all host byte order), as a NIC
// computes it for RTE_ETH_RSS_NONFRAG_IPV4_TCP: net::toeplitz_hash (the one
// software Toeplitz in l45) over src, dst, sport, dport.
[[nodiscard]] std::uint32_t toeplitz_ipv4_l4(std::span<const std::uint8_t> key, std::uint32_t src,
                                             std::uint32_t dst, std::uint16_t sport,
                                             std::uint16_t dport);

enum class TrafficClass : std::uint8_t {
    tls,      // TCP to a TLS port: `queue` is the TLS queue that serves it
    control,  // everything else: the control queue
};

struct Classification {
    TrafficClass traffic_class = TrafficClass::control;
    std::uint16_t queue = 0;
};

class SoftwareClassifier {
  public:
    // Set-up path (validates like build_steering_plan).
    [[nodiscard]] static Result<SoftwareClassifier, std::string> create(
        const SteeringConfig& config);

    // Data path: no allocation. `frame` starts at the Ethernet header and holds
    // at least the headers up to the TCP ports (a first mbuf segment does).
    [[nodiscard]] Classification classify(ByteSpan frame) const;

    [[nodiscard]] std::uint16_t control_queue() const { return control_queue_; }
    [[nodiscard]] std::span<const std::uint16_t> tls_queues() const { return tls_queues_; }

  private:
    SoftwareClassifier() = default;
    [[nodiscard]] Classification control() const { return {TrafficClass::control, control_queue_}; }

    std::bitset<65536> tls_port_{};  // by TCP destination port
    std::vector<std::uint16_t> tls_queues_;
    std::uint16_t control_queue_ = 0;
    bool match_ip_ = false;
    std::uint32_t local_ip_ = 0;  // host order
    std::array<std::uint8_t, kMinRssKeyLen> key_{};
};

}  // namespace l45::drivers
