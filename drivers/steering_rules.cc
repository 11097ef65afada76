#include "drivers/steering_rules.h"

#include <rte_byteorder.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <set>

#include "drivers/port.h"

namespace l45::drivers {
namespace {

std::string queue_list(const std::vector<std::uint16_t>& queues) {
    std::string s = "[";
    for (std::size_t i = 0; i < queues.size(); ++i) {
        if (i) s += ",";
        s += std::to_string(queues[i]);
    }
    return s + "]";
}

// Dotted quad (net::Ipv4Addr::to_string lives in l45_stack, which drivers/
// does not link).
std::string dotted(net::Ipv4Addr a) {
    return std::to_string(a.value >> 24) + "." + std::to_string((a.value >> 16) & 0xff) + "." +
           std::to_string((a.value >> 8) & 0xff) + "." + std::to_string(a.value & 0xff);
}

FlowItem eth_any() {
    FlowItem item;
    item.type = RTE_FLOW_ITEM_TYPE_ETH;
    return item;
}

FlowItem ipv4_item(const std::optional<net::Ipv4Addr>& dst) {
    FlowItem item;
    item.type = RTE_FLOW_ITEM_TYPE_IPV4;
    if (dst) {
        item.has_spec = true;
        item.ipv4_spec.hdr.dst_addr = dst->to_be();
        item.ipv4_mask.hdr.dst_addr = UINT32_MAX;
    }
    return item;
}

FlowItem tcp_dst_item(std::uint16_t port) {
    FlowItem item;
    item.type = RTE_FLOW_ITEM_TYPE_TCP;
    item.has_spec = true;
    item.tcp_spec.hdr.dst_port = rte_cpu_to_be_16(port);
    item.tcp_mask.hdr.dst_port = UINT16_MAX;
    return item;
}

rte_flow_attr ingress_attr(std::uint32_t priority) {
    rte_flow_attr attr{};
    attr.group = kSteeringGroup;
    attr.priority = priority;
    attr.ingress = 1;
    return attr;
}

}  // namespace

std::uint64_t tls_rss_types() {
    return RTE_ETH_RSS_NONFRAG_IPV4_TCP;
}

Result<SteeringPlan, std::string> build_steering_plan(const SteeringConfig& config) {
    if (config.tls_ports.empty()) return unexpected(std::string("steering: no TLS port"));
    if (config.tls_queues.empty()) return unexpected(std::string("steering: no TLS queue"));
    if (config.num_rx_queues == 0) return unexpected(std::string("steering: port has no rx queue"));
    std::set<std::uint16_t> seen_ports;
    for (std::uint16_t p : config.tls_ports) {
        if (p == 0) return unexpected(std::string("steering: TLS port 0"));
        if (!seen_ports.insert(p).second)
            return unexpected("steering: TLS port " + std::to_string(p) + " given twice");
    }
    std::set<std::uint16_t> seen_queues;
    for (std::uint16_t q : config.tls_queues) {
        if (q >= config.num_rx_queues) {
            return unexpected("steering: TLS queue " + std::to_string(q) + " but the port has " +
                              std::to_string(config.num_rx_queues) + " rx queues");
        }
        if (!seen_queues.insert(q).second)
            return unexpected("steering: TLS queue " + std::to_string(q) + " given twice");
    }
    if (config.control_queue >= config.num_rx_queues) {
        return unexpected("steering: control queue " + std::to_string(config.control_queue) +
                          " but the port has " + std::to_string(config.num_rx_queues) +
                          " rx queues");
    }
    if (config.rss_key_len < kMinRssKeyLen || config.rss_key_len > kMaxRssKeyLen) {
        return unexpected("steering: RSS key of " + std::to_string(config.rss_key_len) +
                          " bytes (want " + std::to_string(kMinRssKeyLen) + ".." +
                          std::to_string(kMaxRssKeyLen) + ")");
    }

    SteeringPlan plan;
    plan.tls_queues = config.tls_queues;
    plan.control_queue = config.control_queue;
    const std::vector<std::uint8_t> key = symmetric_rss_key(config.rss_key_len);
    for (std::uint16_t port : config.tls_ports) {
        FlowRule rule;
        rule.name = "tcp dst " + std::to_string(port) +
                    (config.local_ip ? " ip dst " + dotted(*config.local_ip) : "") + " -> rss " +
                    queue_list(config.tls_queues);
        rule.attr = ingress_attr(kTlsRulePriority);
        rule.pattern = {eth_any(), ipv4_item(config.local_ip), tcp_dst_item(port)};
        rule.action.kind = FlowActionKind::rss;
        rule.action.queues = config.tls_queues;
        rule.action.rss_key = key;
        rule.action.rss_types = tls_rss_types();
        plan.tls_rules.push_back(std::move(rule));
    }
    plan.catch_all.name = "any -> queue " + std::to_string(config.control_queue);
    plan.catch_all.attr = ingress_attr(kCatchAllPriority);
    plan.catch_all.pattern = {eth_any()};
    plan.catch_all.action.kind = FlowActionKind::queue;
    plan.catch_all.action.queues = {config.control_queue};
    return plan;
}

}  // namespace l45::drivers
