#include "drivers/steering.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include <memory>
#include <mutex>
#include <set>
#include <utility>

namespace l45::drivers {
namespace {

std::mutex g_notice_mutex;
std::set<std::string> g_noticed_drivers;

void fallback_notice(const std::string& driver, const std::string& reason) {
    std::lock_guard lock(g_notice_mutex);
    if (!g_noticed_drivers.insert(driver).second) return;
    RTE_LOG(WARNING, USER1,
            "steering: %s has no rte_flow support for %s; falling back to software "
            "classification\n",
            driver.c_str(), reason.c_str());
}

// Reads or writes the whole RETA. Returns 0 or a negative errno.
int reta_io(std::uint16_t port_id, std::vector<std::uint16_t>& reta, bool write) {
    const std::size_t size = reta.size();
    std::vector<rte_eth_rss_reta_entry64> entries((size + RTE_ETH_RETA_GROUP_SIZE - 1) /
                                                  RTE_ETH_RETA_GROUP_SIZE);
    for (std::size_t i = 0; i < size; ++i) {
        auto& e = entries[i / RTE_ETH_RETA_GROUP_SIZE];
        e.mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
        if (write) e.reta[i % RTE_ETH_RETA_GROUP_SIZE] = reta[i];
    }
    const auto n = static_cast<std::uint16_t>(size);
    const int rc = write ? rte_eth_dev_rss_reta_update(port_id, entries.data(), n)
                         : rte_eth_dev_rss_reta_query(port_id, entries.data(), n);
    if (rc == 0 && !write) {
        for (std::size_t i = 0; i < size; ++i)
            reta[i] = entries[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
    }
    return rc;
}

}  // namespace

RteFlowRule::RteFlowRule(const FlowRule& rule) : rule_(rule) {
    for (const FlowItem& item : rule.pattern) {
        rte_flow_item it{};
        it.type = item.type;
        if (item.has_spec && item.type == RTE_FLOW_ITEM_TYPE_IPV4) {
            it.spec = &item.ipv4_spec;
            it.mask = &item.ipv4_mask;
        } else if (item.has_spec && item.type == RTE_FLOW_ITEM_TYPE_TCP) {
            it.spec = &item.tcp_spec;
            it.mask = &item.tcp_mask;
        }
        items_.push_back(it);
    }
    items_.push_back(rte_flow_item{RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr, nullptr});

    rte_flow_action act{};
    if (rule.action.kind == FlowActionKind::rss) {
        rss_.func = RTE_ETH_HASH_FUNCTION_TOEPLITZ;
        rss_.level = 0;  // the outermost headers: there is no tunnel here
        rss_.types = rule.action.rss_types;
        rss_.key_len = static_cast<std::uint32_t>(rule.action.rss_key.size());
        rss_.key = rule.action.rss_key.data();
        rss_.queue_num = static_cast<std::uint32_t>(rule.action.queues.size());
        rss_.queue = rule.action.queues.data();
        act.type = RTE_FLOW_ACTION_TYPE_RSS;
        act.conf = &rss_;
    } else {
        queue_.index = rule.action.queues.empty() ? 0 : rule.action.queues[0];
        act.type = RTE_FLOW_ACTION_TYPE_QUEUE;
        act.conf = &queue_;
    }
    actions_.push_back(act);
    actions_.push_back(rte_flow_action{RTE_FLOW_ACTION_TYPE_END, nullptr});
}

std::string RteFlowRule::validate(std::uint16_t port_id) const {
    rte_flow_error error{};
    const int rc = rte_flow_validate(port_id, &rule_.attr, items_.data(), actions_.data(), &error);
    return rc == 0 ? std::string() : describe("rte_flow_validate", rc, error);
}

rte_flow* RteFlowRule::create(std::uint16_t port_id, std::string& out_error) const {
    rte_flow_error error{};
    rte_flow* flow = rte_flow_create(port_id, &rule_.attr, items_.data(), actions_.data(), &error);
    if (flow == nullptr) out_error = describe("rte_flow_create", -rte_errno, error);
    return flow;
}

std::string RteFlowRule::describe(const char* call, int rc, const rte_flow_error& error) const {
    // rte_flow fills `message` with the PMD's reason, or with
    // rte_strerror() itself when the PMD has no flow ops at all.
    const std::string errno_text = rte_strerror(rc < 0 ? -rc : rc);
    std::string s = "rule '" + rule_.name + "' (" + call + ": ";
    if (error.message != nullptr && error.message[0] != '\0' && errno_text != error.message)
        s += std::string(error.message) + ", ";
    return s + errno_text + ")";
}

const char* to_string(SteeringMode mode) {
    switch (mode) {
        case SteeringMode::hardware:
            return "hardware";
        case SteeringMode::software:
            return "software";
    }
    return "?";
}

const char* to_string(DefaultRoute route) {
    switch (route) {
        case DefaultRoute::none:
            return "none";
        case DefaultRoute::catch_all_rule:
            return "catch-all rule";
        case DefaultRoute::reta:
            return "reta";
    }
    return "?";
}

Result<Steering, std::string> Steering::install(Port& port, SteeringConfig config,
                                                const SteeringOptions& options) {
    config.num_rx_queues = port.num_rx_queues();
    if (!port.rss_key().empty()) config.rss_key_len = port.rss_key().size();
    auto plan = build_steering_plan(config);
    if (!plan) return unexpected(plan.error());
    auto classifier = SoftwareClassifier::create(config);
    if (!classifier) return unexpected(classifier.error());

    Steering s(std::move(*classifier), std::move(*plan));
    s.port_id_ = port.port_id();
    s.owns_ = true;
    if (options.software_only) {
        s.fallback_reason_ = "configured";
        return s;
    }
    auto fall_back = [&](std::string reason) -> Result<Steering, std::string> {
        s.teardown();
        s.owns_ = true;
        s.mode_ = SteeringMode::software;
        s.default_route_ = DefaultRoute::none;
        fallback_notice(port.driver_name(), reason);
        s.fallback_reason_ = std::move(reason);
        return std::move(s);
    };

    // Validate everything first: all or nothing.
    std::vector<std::unique_ptr<RteFlowRule>> tls;
    for (const FlowRule& rule : s.plan_.tls_rules) {
        tls.push_back(std::make_unique<RteFlowRule>(rule));
        if (std::string why = tls.back()->validate(s.port_id_); !why.empty())
            return fall_back(std::move(why));
    }
    RteFlowRule catch_all(s.plan_.catch_all);
    std::string catch_all_why = catch_all.validate(s.port_id_);
    DefaultRoute route = DefaultRoute::catch_all_rule;
    std::uint16_t reta_size = 0;
    if (!catch_all_why.empty()) {
        rte_eth_dev_info info{};
        if (rte_eth_dev_info_get(s.port_id_, &info) == 0) reta_size = info.reta_size;
        if (!port.rss() || reta_size == 0) {
            return fall_back("a default route to the control queue: " + catch_all_why +
                             ", and the port has no RETA");
        }
        route = DefaultRoute::reta;
    }

    // Create. TLS rules first: until the default route exists the port's
    // RSS still spreads the rest, which is harmless at start-up.
    for (const auto& rule : tls) {
        std::string why;
        rte_flow* flow = rule->create(s.port_id_, why);
        if (flow == nullptr) return fall_back(std::move(why));
        s.flows_.push_back(flow);
    }
    if (route == DefaultRoute::catch_all_rule) {
        std::string why;
        rte_flow* flow = catch_all.create(s.port_id_, why);
        if (flow == nullptr) return fall_back(std::move(why));
        s.flows_.push_back(flow);
    } else {
        std::vector<std::uint16_t> saved(reta_size);
        if (int rc = reta_io(s.port_id_, saved, false); rc != 0) {
            return fall_back("a default route: reading the RETA: " +
                             std::string(rte_strerror(-rc)));
        }
        std::vector<std::uint16_t> all_control(reta_size, s.plan_.control_queue);
        if (int rc = reta_io(s.port_id_, all_control, true); rc != 0) {
            return fall_back("a default route: writing the RETA: " +
                             std::string(rte_strerror(-rc)));
        }
        s.saved_reta_ = std::move(saved);
    }
    s.mode_ = SteeringMode::hardware;
    s.default_route_ = route;
    return s;
}

Steering::Steering(Steering&& other) noexcept
    : port_id_(other.port_id_),
      owns_(std::exchange(other.owns_, false)),
      mode_(other.mode_),
      default_route_(other.default_route_),
      fallback_reason_(std::move(other.fallback_reason_)),
      flows_(std::move(other.flows_)),
      saved_reta_(std::move(other.saved_reta_)),
      classifier_(std::move(other.classifier_)),
      plan_(std::move(other.plan_)) {
    other.flows_.clear();
    other.saved_reta_.clear();
}

Steering& Steering::operator=(Steering&& other) noexcept {
    if (this != &other) {
        teardown();
        port_id_ = other.port_id_;
        owns_ = std::exchange(other.owns_, false);
        mode_ = other.mode_;
        default_route_ = other.default_route_;
        fallback_reason_ = std::move(other.fallback_reason_);
        flows_ = std::move(other.flows_);
        other.flows_.clear();
        saved_reta_ = std::move(other.saved_reta_);
        other.saved_reta_.clear();
        classifier_ = std::move(other.classifier_);
        plan_ = std::move(other.plan_);
    }
    return *this;
}

Steering::~Steering() {
    teardown();
}

void Steering::teardown() {
    if (!owns_) return;
    owns_ = false;
    for (auto it = flows_.rbegin(); it != flows_.rend(); ++it) {
        rte_flow_error error{};
        if (rte_flow_destroy(port_id_, *it, &error) != 0) {
            RTE_LOG(WARNING, USER1, "steering: port %u: rte_flow_destroy: %s\n", port_id_,
                    error.message ? error.message : rte_strerror(rte_errno));
        }
    }
    flows_.clear();
    if (!saved_reta_.empty()) {
        if (int rc = reta_io(port_id_, saved_reta_, true); rc != 0) {
            RTE_LOG(WARNING, USER1, "steering: port %u: restoring the RETA: %s\n", port_id_,
                    rte_strerror(-rc));
        }
        saved_reta_.clear();
    }
}

void forget_steering_fallback_notices_for_testing() {
    std::lock_guard lock(g_notice_mutex);
    g_noticed_drivers.clear();
}

}  // namespace l45::drivers
