// NIC queue steering, installed: the rules of drivers/steering_rules.h on a
// started Port, or the software classifier when the PMD will not take them.
//
// Why it looks like this:
//   - Every rule is checked with rte_flow_validate before any is created, and
//     it is all or nothing: half the TLS ports in hardware and half in
//     software would make two classifiers disagree about one connection. A
//     create that fails after validation destroys what was created (and
//     restores the RETA) before falling back.
//   - "No rte_flow" is not an error. Every virtual PMD here lacks it (net_ring
//     has no flow ops, net_tap implements rules through TC and its RSS
//     action through an eBPF program that is often unavailable), and the
//     appliance must keep working there: install() then returns a Steering in
//     software mode, and says once per driver and process, at WARNING
//     level, "steering: <driver> has no rte_flow support for <reason>;
//     falling back to software classification". The app asks classifier()
//     which queue a frame belongs to.
//   - Only a bad configuration (a queue the port does not have, a port given
//     twice) is an error.
//   - The default route is the catch-all rule when the PMD accepts it, else
//     the RETA with every entry set to the control queue (see
//     steering_rules.h for why in that order). The RETA is restored on
//     teardown.
//   - Teardown destroys exactly the rules this object created (never
//     rte_flow_flush, which would also remove rules others own). Destroy the
//     Steering before its Port.
#pragma once

#include <rte_flow.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "drivers/port.h"
#include "drivers/steering_classify.h"
#include "drivers/steering_rules.h"
#include "stack/base/result.h"

namespace l45::drivers {

enum class SteeringMode : std::uint8_t {
    hardware,  // rte_flow rules route every frame; no classification on the CPU
    software,  // the NIC spreads as it likes; classifier() decides
};

enum class DefaultRoute : std::uint8_t {
    none,            // software mode
    catch_all_rule,  // ETH -> QUEUE control at kCatchAllPriority
    reta,            // every RETA entry is the control queue
};

[[nodiscard]] const char* to_string(SteeringMode mode);
[[nodiscard]] const char* to_string(DefaultRoute route);

// A FlowRule as the arrays rte_flow_* read (END-terminated items and
// actions). Points into the FlowRule, which must outlive it, and into
// itself, so it never moves.
class RteFlowRule {
  public:
    explicit RteFlowRule(const FlowRule& rule);
    RteFlowRule(const RteFlowRule&) = delete;
    RteFlowRule& operator=(const RteFlowRule&) = delete;

    [[nodiscard]] const rte_flow_attr& attr() const { return rule_.attr; }
    [[nodiscard]] std::span<const rte_flow_item> items() const { return items_; }
    [[nodiscard]] std::span<const rte_flow_action> actions() const { return actions_; }

    // "" when the PMD accepts the rule, else why not.
    [[nodiscard]] std::string validate(std::uint16_t port_id) const;
    // nullptr (and why in out_error) when the PMD refuses.
    [[nodiscard]] rte_flow* create(std::uint16_t port_id, std::string& out_error) const;

  private:
    [[nodiscard]] std::string describe(const char* call, int rc, const rte_flow_error& error) const;

    const FlowRule& rule_;
    std::vector<rte_flow_item> items_;
    std::vector<rte_flow_action> actions_;
    rte_flow_action_rss rss_{};
    rte_flow_action_queue queue_{};
};

struct SteeringOptions {
    // Skip rte_flow (configuration "steering = software"); nothing is logged.
    bool software_only = false;
};

class Steering {
  public:
    // `port` must be started (Port::open does) and outlive the Steering.
    // config.num_rx_queues and rss_key_len are taken from the port.
    [[nodiscard]] static Result<Steering, std::string> install(Port& port, SteeringConfig config,
                                                               const SteeringOptions& options = {});

    Steering(Steering&& other) noexcept;
    Steering& operator=(Steering&& other) noexcept;
    Steering(const Steering&) = delete;
    Steering& operator=(const Steering&) = delete;
    ~Steering();  // destroys the rules, restores the RETA

    [[nodiscard]] SteeringMode mode() const { return mode_; }
    [[nodiscard]] DefaultRoute default_route() const { return default_route_; }
    // Why software steering is in effect ("" in hardware mode).
    [[nodiscard]] const std::string& fallback_reason() const { return fallback_reason_; }
    [[nodiscard]] std::size_t num_rules() const { return flows_.size(); }
    [[nodiscard]] const SteeringPlan& plan() const { return plan_; }
    // Valid in both modes (in hardware mode it says what the NIC does, bar
    // the NIC's own RSS spread over the TLS queues).
    [[nodiscard]] const SoftwareClassifier& classifier() const { return classifier_; }

  private:
    Steering(SoftwareClassifier classifier, SteeringPlan plan)
        : classifier_(std::move(classifier)), plan_(std::move(plan)) {}
    void teardown();

    std::uint16_t port_id_ = 0;
    bool owns_ = false;  // false once moved from
    SteeringMode mode_ = SteeringMode::software;
    DefaultRoute default_route_ = DefaultRoute::none;
    std::string fallback_reason_;
    std::vector<rte_flow*> flows_;
    std::vector<std::uint16_t> saved_reta_;  // restored when default_route_ == reta
    SoftwareClassifier classifier_;
    SteeringPlan plan_;
};

// Forgets which drivers have had their fallback notice, so a test can see it.
void forget_steering_fallback_notices_for_testing();

}  // namespace l45::drivers
