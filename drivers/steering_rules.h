// NIC queue steering, the rules as data: which rte_flow rules send the TLS
// listen ports to the TLS queues and everything else to the control queue.
//
// Read first: DPDK's rte_flow guide (doc/guides/prog_guide/rte_flow.rst:
// attributes, pattern items, the RSS and QUEUE actions, "Priorities"), and
// the per-PMD limits in doc/guides/nics/{mlx5,ice,i40e}.rst.
//
// Why it looks like this:
//   - Building the rules is pure (no DPDK calls): the builder returns plain
//     descriptions in DPDK's own spec/mask structs, exactly the bytes a PMD
//     will read (ports and addresses in network byte order), so unit tests
//     check what the NIC is asked for. drivers/steering.h turns them into
//     rte_flow_item/rte_flow_action arrays and installs them.
//   - One rule per TLS port, priority 0 in group 0:
//       ETH / IPV4 [dst = local address] / TCP dst = port
//         -> RSS over the TLS queues, symmetric Toeplitz key, IPv4-TCP hash.
//     The symmetric key (drivers/port.h) keeps both directions of a flow on
//     one queue, hence one lcore. Group 0 because it is the only group every
//     PMD has (mlx5's non-root groups need the DV flow engine; ice and i40e
//     have no groups); priority 0 because mlx5's root table guarantees only a
//     few levels and the default route must sit below these rules.
//   - The default route (ARP, ICMP, backend connections, everything else) to
//     the control queue is a catch-all rule, ETH -> QUEUE control, at
//     priority 1. mlx5 and net_tap accept it; ice and i40e reject a pattern
//     with nothing to match, and there the installer programs the port's RETA
//     so that every entry is the control queue instead: traffic that matches
//     no rule follows the port's RSS, which then lands on that one queue. The
//     rule comes first because it leaves the RETA (and with it Port::reta(),
//     which the TCP layer uses to predict queues) as the port set it up.
//   - The hash types are IPv4-TCP only: the rule matches nothing else, and
//     asking for more makes some PMDs (i40e, ice) reject the action.
//   - ice and i40e take an RSS action only as a "queue region": contiguous
//     queues, a power of two of them. The builder does not refuse other sets
//     (mlx5 takes any list); rte_flow_validate says what the NIC thinks, and
//     the installer falls back to software steering when it says no.
#pragma once

#include <rte_flow.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/result.h"
#include "stack/net/addr.h"

namespace l45::drivers {

inline constexpr std::uint32_t kSteeringGroup = 0;
inline constexpr std::uint32_t kTlsRulePriority = 0;
inline constexpr std::uint32_t kCatchAllPriority = 1;  // lower than the TLS rules
// Bytes of key a Toeplitz hash of (src, dst, sport, dport) reads: 12 bytes of
// input need 12 + 4 bytes of key.
inline constexpr std::size_t kMinRssKeyLen = 16;
inline constexpr std::size_t kDefaultSteeringKeyLen = 40;  // mlx5 takes exactly 40
// The RSS hash types of the TLS rules (RTE_ETH_RSS_NONFRAG_IPV4_TCP).
[[nodiscard]] std::uint64_t tls_rss_types();

// What to steer. Ports are host byte order here; the builder converts.
struct SteeringConfig {
    std::vector<std::uint16_t> tls_ports;   // TCP destination ports, e.g. {443}
    std::vector<std::uint16_t> tls_queues;  // rx queues that serve them
    std::uint16_t control_queue = 0;        // may also be a TLS queue (one-queue set-ups)
    std::uint16_t num_rx_queues = 1;        // the port's, for range checks
    // Also match the destination address (traffic to other addresses on the
    // same port then follows the default route).
    std::optional<net::Ipv4Addr> local_ip;
    std::size_t rss_key_len = kDefaultSteeringKeyLen;
};

// One pattern item. A header without a spec matches any header of its type.
struct FlowItem {
    rte_flow_item_type type = RTE_FLOW_ITEM_TYPE_VOID;
    bool has_spec = false;
    // Used when type is IPV4 / TCP and has_spec (network byte order).
    rte_flow_item_ipv4 ipv4_spec{};
    rte_flow_item_ipv4 ipv4_mask{};
    rte_flow_item_tcp tcp_spec{};
    rte_flow_item_tcp tcp_mask{};
};

enum class FlowActionKind : std::uint8_t {
    rss,    // RTE_FLOW_ACTION_TYPE_RSS over `queues`
    queue,  // RTE_FLOW_ACTION_TYPE_QUEUE to queues[0]
};

struct FlowAction {
    FlowActionKind kind = FlowActionKind::queue;
    std::vector<std::uint16_t> queues;
    // RSS only.
    std::vector<std::uint8_t> rss_key;
    std::uint64_t rss_types = 0;
};

struct FlowRule {
    std::string name;  // for logs: "tcp dst 443 -> rss [1,2]"
    rte_flow_attr attr{};
    std::vector<FlowItem> pattern;  // without the END item
    FlowAction action;
};

struct SteeringPlan {
    std::vector<FlowRule> tls_rules;  // one per TLS port, kTlsRulePriority
    FlowRule catch_all;               // ETH -> QUEUE control, kCatchAllPriority
    std::vector<std::uint16_t> tls_queues;
    std::uint16_t control_queue = 0;
};

// Checks the configuration (ports non-zero and distinct, queues distinct and
// below num_rx_queues, key long enough) and builds the rules.
[[nodiscard]] Result<SteeringPlan, std::string> build_steering_plan(const SteeringConfig& config);

}  // namespace l45::drivers
