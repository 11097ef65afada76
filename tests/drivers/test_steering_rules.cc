// The steering rules as data (drivers/steering_rules.h) and the software
// classifier (drivers/steering_classify.h): no port, no rte_flow call.
#include <gtest/gtest.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "drivers/port.h"
#include "drivers/steering.h"
#include "drivers/steering_classify.h"
#include "drivers/steering_rules.h"
#include "tests/stack/net_frames.h"

namespace l45 {
namespace {

using drivers::build_steering_plan;
using drivers::Classification;
using drivers::FlowActionKind;
using drivers::SoftwareClassifier;
using drivers::SteeringConfig;
using drivers::TrafficClass;
using net::test::Bytes;

SteeringConfig four_queue_config() {
    SteeringConfig c;
    c.tls_ports = {443};
    c.tls_queues = {1, 2, 3};
    c.control_queue = 0;
    c.num_rx_queues = 4;
    return c;
}

template <class T>
Bytes bytes_of(const T& v) {
    Bytes b(sizeof v);
    std::memcpy(b.data(), &v, sizeof v);
    return b;
}

// ---------------------------------------------------------------- the rules

TEST(SteeringRules, OneTlsPortIsEthIpv4TcpDstToRssOverTheTlsQueues) {
    auto plan = build_steering_plan(four_queue_config());
    ASSERT_TRUE(plan) << plan.error();
    ASSERT_EQ(plan->tls_rules.size(), 1u);
    const auto& rule = plan->tls_rules[0];
    EXPECT_EQ(rule.attr.group, 0u);
    EXPECT_EQ(rule.attr.priority, drivers::kTlsRulePriority);
    EXPECT_EQ(rule.attr.ingress, 1u);
    EXPECT_EQ(rule.attr.egress, 0u);
    EXPECT_EQ(rule.attr.transfer, 0u);

    ASSERT_EQ(rule.pattern.size(), 3u);
    EXPECT_EQ(rule.pattern[0].type, RTE_FLOW_ITEM_TYPE_ETH);
    EXPECT_FALSE(rule.pattern[0].has_spec);
    EXPECT_EQ(rule.pattern[1].type, RTE_FLOW_ITEM_TYPE_IPV4);
    EXPECT_FALSE(rule.pattern[1].has_spec) << "no local address given: any IPv4";
    const auto& tcp = rule.pattern[2];
    EXPECT_EQ(tcp.type, RTE_FLOW_ITEM_TYPE_TCP);
    ASSERT_TRUE(tcp.has_spec);
    // 443 = 0x01bb, in network byte order where the PMD reads it.
    EXPECT_EQ(bytes_of(tcp.tcp_spec.hdr.dst_port), (Bytes{0x01, 0xbb}));
    EXPECT_EQ(bytes_of(tcp.tcp_mask.hdr.dst_port), (Bytes{0xff, 0xff}));
    // Nothing else of the TCP header is matched.
    rte_flow_item_tcp only_dport{};
    only_dport.hdr.dst_port = UINT16_MAX;
    EXPECT_EQ(bytes_of(tcp.tcp_mask), bytes_of(only_dport));

    EXPECT_EQ(rule.action.kind, FlowActionKind::rss);
    EXPECT_EQ(rule.action.queues, (std::vector<std::uint16_t>{1, 2, 3}));
    EXPECT_EQ(rule.action.rss_types, std::uint64_t{RTE_ETH_RSS_NONFRAG_IPV4_TCP});
    ASSERT_EQ(rule.action.rss_key.size(), drivers::kDefaultSteeringKeyLen);
    for (std::size_t i = 0; i < rule.action.rss_key.size(); ++i)
        EXPECT_EQ(rule.action.rss_key[i], i % 2 == 0 ? 0x6d : 0x5a) << "byte " << i;
    EXPECT_EQ(rule.name, "tcp dst 443 -> rss [1,2,3]");
}

TEST(SteeringRules, CatchAllSendsEverythingToTheControlQueueBelowTheTlsRules) {
    auto c = four_queue_config();
    c.control_queue = 2;
    c.tls_queues = {0, 1, 3};
    auto plan = build_steering_plan(c);
    ASSERT_TRUE(plan) << plan.error();
    const auto& any = plan->catch_all;
    EXPECT_EQ(any.attr.group, plan->tls_rules[0].attr.group);
    EXPECT_GT(any.attr.priority, plan->tls_rules[0].attr.priority)
        << "rte_flow: a higher number is a lower priority";
    EXPECT_EQ(any.attr.ingress, 1u);
    ASSERT_EQ(any.pattern.size(), 1u);
    EXPECT_EQ(any.pattern[0].type, RTE_FLOW_ITEM_TYPE_ETH);
    EXPECT_FALSE(any.pattern[0].has_spec);
    EXPECT_EQ(any.action.kind, FlowActionKind::queue);
    EXPECT_EQ(any.action.queues, (std::vector<std::uint16_t>{2}));
    EXPECT_EQ(plan->control_queue, 2);
}

TEST(SteeringRules, OneRulePerPortInOrderWithTheSameQueues) {
    auto c = four_queue_config();
    c.tls_ports = {8443, 443, 80};
    auto plan = build_steering_plan(c);
    ASSERT_TRUE(plan) << plan.error();
    ASSERT_EQ(plan->tls_rules.size(), 3u);
    const std::uint16_t want[] = {8443, 443, 80};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& tcp = plan->tls_rules[i].pattern.at(2);
        const Bytes be = {static_cast<std::uint8_t>(want[i] >> 8),
                          static_cast<std::uint8_t>(want[i])};
        EXPECT_EQ(bytes_of(tcp.tcp_spec.hdr.dst_port), be) << want[i];
        EXPECT_EQ(plan->tls_rules[i].action.queues, c.tls_queues);
        EXPECT_EQ(plan->tls_rules[i].attr.priority, drivers::kTlsRulePriority);
    }
}

TEST(SteeringRules, LocalAddressIsMatchedInNetworkOrder) {
    auto c = four_queue_config();
    c.local_ip = net::Ipv4Addr::from_octets(198, 18, 0, 2);
    auto plan = build_steering_plan(c);
    ASSERT_TRUE(plan) << plan.error();
    const auto& ip = plan->tls_rules[0].pattern.at(1);
    ASSERT_TRUE(ip.has_spec);
    EXPECT_EQ(bytes_of(ip.ipv4_spec.hdr.dst_addr), (Bytes{198, 18, 0, 2}));
    rte_flow_item_ipv4 only_dst{};
    only_dst.hdr.dst_addr = UINT32_MAX;
    EXPECT_EQ(bytes_of(ip.ipv4_mask), bytes_of(only_dst));
    EXPECT_EQ(plan->tls_rules[0].name, "tcp dst 443 ip dst 198.18.0.2 -> rss [1,2,3]");
}

TEST(SteeringRules, KeyLengthFollowsThePort) {
    auto c = four_queue_config();
    c.rss_key_len = 52;  // i40e, ice
    auto plan = build_steering_plan(c);
    ASSERT_TRUE(plan) << plan.error();
    EXPECT_EQ(plan->tls_rules[0].action.rss_key, drivers::symmetric_rss_key(52));
}

TEST(SteeringRules, OneQueueServesBothTlsAndControl) {
    SteeringConfig c;
    c.tls_ports = {443};
    c.tls_queues = {0};
    c.control_queue = 0;
    c.num_rx_queues = 1;
    auto plan = build_steering_plan(c);
    ASSERT_TRUE(plan) << plan.error();
    EXPECT_EQ(plan->tls_rules[0].action.queues, (std::vector<std::uint16_t>{0}));
    EXPECT_EQ(plan->catch_all.action.queues, (std::vector<std::uint16_t>{0}));
}

TEST(SteeringRules, RejectsBadConfigurations) {
    struct Case {
        const char* what;
        void (*edit)(SteeringConfig&);
        const char* error;
    };
    const Case cases[] = {
        {"no port", [](SteeringConfig& c) { c.tls_ports.clear(); }, "no TLS port"},
        {"port 0", [](SteeringConfig& c) { c.tls_ports = {0}; }, "TLS port 0"},
        {"port twice",
         [](SteeringConfig& c) {
             c.tls_ports = {443, 8443, 443};
         },
         "TLS port 443 given twice"},
        {"no queue", [](SteeringConfig& c) { c.tls_queues.clear(); }, "no TLS queue"},
        {"queue twice",
         [](SteeringConfig& c) {
             c.tls_queues = {1, 2, 1};
         },
         "TLS queue 1 given twice"},
        {"queue out of range",
         [](SteeringConfig& c) {
             c.tls_queues = {1, 4};
         },
         "TLS queue 4 but the port has 4 rx queues"},
        {"control out of range", [](SteeringConfig& c) { c.control_queue = 7; },
         "control queue 7 but the port has 4 rx queues"},
        {"no rx queue", [](SteeringConfig& c) { c.num_rx_queues = 0; }, "no rx queue"},
        {"short key", [](SteeringConfig& c) { c.rss_key_len = 12; }, "RSS key of 12 bytes"},
        {"long key", [](SteeringConfig& c) { c.rss_key_len = 64; }, "RSS key of 64 bytes"},
    };
    for (const Case& k : cases) {
        SteeringConfig c = four_queue_config();
        k.edit(c);
        auto plan = build_steering_plan(c);
        ASSERT_FALSE(plan) << k.what;
        EXPECT_NE(plan.error().find(k.error), std::string::npos) << k.what << ": " << plan.error();
        // The classifier applies the same rules.
        auto cls = SoftwareClassifier::create(c);
        ASSERT_FALSE(cls) << k.what;
        EXPECT_EQ(cls.error(), plan.error());
    }
}

// What the installer hands rte_flow_validate/create: END-terminated arrays
// whose spec/mask/conf point at the plan's values.
TEST(SteeringRules, LoweredToRteFlowArrays) {
    auto c = four_queue_config();
    c.local_ip = net::Ipv4Addr::from_octets(198, 18, 0, 2);
    auto plan = build_steering_plan(c);
    ASSERT_TRUE(plan) << plan.error();

    const drivers::RteFlowRule tls(plan->tls_rules[0]);
    EXPECT_EQ(tls.attr().priority, drivers::kTlsRulePriority);
    const auto items = tls.items();
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(items[0].type, RTE_FLOW_ITEM_TYPE_ETH);
    EXPECT_EQ(items[0].spec, nullptr);
    EXPECT_EQ(items[0].mask, nullptr);
    EXPECT_EQ(items[1].type, RTE_FLOW_ITEM_TYPE_IPV4);
    ASSERT_NE(items[1].spec, nullptr);
    ASSERT_NE(items[1].mask, nullptr);
    EXPECT_EQ(bytes_of(static_cast<const rte_flow_item_ipv4*>(items[1].spec)->hdr.dst_addr),
              (Bytes{198, 18, 0, 2}));
    EXPECT_EQ(items[2].type, RTE_FLOW_ITEM_TYPE_TCP);
    ASSERT_NE(items[2].spec, nullptr);
    EXPECT_EQ(bytes_of(static_cast<const rte_flow_item_tcp*>(items[2].spec)->hdr.dst_port),
              (Bytes{0x01, 0xbb}));
    EXPECT_EQ(bytes_of(static_cast<const rte_flow_item_tcp*>(items[2].mask)->hdr.dst_port),
              (Bytes{0xff, 0xff}));
    EXPECT_EQ(items[2].last, nullptr) << "no ranges";
    EXPECT_EQ(items[3].type, RTE_FLOW_ITEM_TYPE_END);

    const auto actions = tls.actions();
    ASSERT_EQ(actions.size(), 2u);
    ASSERT_EQ(actions[0].type, RTE_FLOW_ACTION_TYPE_RSS);
    const auto* rss = static_cast<const rte_flow_action_rss*>(actions[0].conf);
    ASSERT_NE(rss, nullptr);
    EXPECT_EQ(rss->func, RTE_ETH_HASH_FUNCTION_TOEPLITZ);
    EXPECT_EQ(rss->level, 0u);
    EXPECT_EQ(rss->types, std::uint64_t{RTE_ETH_RSS_NONFRAG_IPV4_TCP});
    ASSERT_EQ(rss->key_len, 40u);
    EXPECT_EQ(Bytes(rss->key, rss->key + rss->key_len), drivers::symmetric_rss_key(40));
    ASSERT_EQ(rss->queue_num, 3u);
    EXPECT_EQ(std::vector<std::uint16_t>(rss->queue, rss->queue + 3),
              (std::vector<std::uint16_t>{1, 2, 3}));
    EXPECT_EQ(actions[1].type, RTE_FLOW_ACTION_TYPE_END);

    const drivers::RteFlowRule any(plan->catch_all);
    EXPECT_EQ(any.attr().priority, drivers::kCatchAllPriority);
    ASSERT_EQ(any.items().size(), 2u);
    EXPECT_EQ(any.items()[0].type, RTE_FLOW_ITEM_TYPE_ETH);
    EXPECT_EQ(any.items()[0].spec, nullptr);
    EXPECT_EQ(any.items()[1].type, RTE_FLOW_ITEM_TYPE_END);
    ASSERT_EQ(any.actions().size(), 2u);
    ASSERT_EQ(any.actions()[0].type, RTE_FLOW_ACTION_TYPE_QUEUE);
    EXPECT_EQ(static_cast<const rte_flow_action_queue*>(any.actions()[0].conf)->index, 0);
    EXPECT_EQ(any.actions()[1].type, RTE_FLOW_ACTION_TYPE_END);
}

// ---------------------------------------------------------------- Toeplitz

// Microsoft's RSS verification suite ("Verifying the RSS Hash Calculation"),
// the IPv4-with-TCP column, as DPDK's app/test/test_thash.c also uses it.
TEST(SteeringToeplitz, MicrosoftVerificationSuite) {
    const Bytes ms_key = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
                          0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
                          0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
                          0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
    struct Vector {
        std::uint32_t src, dst;
        std::uint16_t sport, dport;
        std::uint32_t hash;
    };
    const Vector vectors[] = {
        {net::Ipv4Addr::from_octets(66, 9, 149, 187).value,
         net::Ipv4Addr::from_octets(161, 142, 100, 80).value, 2794, 1766, 0x51ccc178},
        {net::Ipv4Addr::from_octets(199, 92, 111, 2).value,
         net::Ipv4Addr::from_octets(65, 69, 140, 83).value, 14230, 4739, 0xc626b0ea},
        {net::Ipv4Addr::from_octets(24, 19, 198, 95).value,
         net::Ipv4Addr::from_octets(12, 22, 207, 184).value, 12898, 38024, 0x5c2b394a},
        {net::Ipv4Addr::from_octets(38, 27, 205, 30).value,
         net::Ipv4Addr::from_octets(209, 142, 163, 6).value, 48228, 2217, 0xafc7327f},
        {net::Ipv4Addr::from_octets(153, 39, 163, 191).value,
         net::Ipv4Addr::from_octets(202, 188, 127, 2).value, 44251, 1303, 0x10e828a2},
    };
    for (const Vector& v : vectors) {
        EXPECT_EQ(drivers::toeplitz_ipv4_l4(ms_key, v.src, v.dst, v.sport, v.dport), v.hash)
            << std::hex << v.hash;
    }
}

TEST(SteeringToeplitz, SymmetricKeyHashesBothDirectionsAlike) {
    const auto key = drivers::symmetric_rss_key(40);
    std::mt19937 rng(7);
    std::set<std::uint32_t> hashes;
    for (int i = 0; i < 1000; ++i) {
        const std::uint32_t a = rng();
        const std::uint32_t b = rng();
        const auto p = static_cast<std::uint16_t>(rng());
        const auto q = static_cast<std::uint16_t>(rng());
        const std::uint32_t h = drivers::toeplitz_ipv4_l4(key, a, b, p, q);
        EXPECT_EQ(h, drivers::toeplitz_ipv4_l4(key, b, a, q, p));
        hashes.insert(h);
    }
    EXPECT_GT(hashes.size(), 900u) << "the hash should spread";
}

// ---------------------------------------------------------------- classifier

constexpr std::uint32_t kServerIp = 0xc6120002;  // 198.18.0.2
constexpr std::uint32_t kClientIp = 0xc6120063;  // 198.18.0.99

Bytes tcp_ports(std::uint16_t sport, std::uint16_t dport) {
    Bytes t;
    net::test::put16(t, sport);
    net::test::put16(t, dport);
    net::test::put32(t, 1000);        // seq
    net::test::put32(t, 0);           // ack
    net::test::put(t, {0x50, 0x02});  // data offset 5, SYN
    net::test::put16(t, 65535);       // window
    net::test::put(t, {0, 0, 0, 0});  // checksum (not checked here), urgent
    return t;
}

Bytes tcp_frame(std::uint16_t sport, std::uint16_t dport, std::uint32_t src = kClientIp,
                std::uint32_t dst = kServerIp) {
    net::test::IpOpts o;
    o.src = src;
    o.dst = dst;
    o.protocol = 6;
    return net::test::ip_frame(o, tcp_ports(sport, dport));
}

SoftwareClassifier make_classifier(const SteeringConfig& c = four_queue_config()) {
    auto cls = SoftwareClassifier::create(c);
    EXPECT_TRUE(cls) << cls.error();
    if (!cls) std::abort();
    return std::move(*cls);
}

std::uint16_t expected_tls_queue(const SteeringConfig& c, std::uint32_t src, std::uint32_t dst,
                                 std::uint16_t sport, std::uint16_t dport) {
    const auto key = drivers::symmetric_rss_key(40);
    return c
        .tls_queues[drivers::toeplitz_ipv4_l4(key, src, dst, sport, dport) % c.tls_queues.size()];
}

TEST(SteeringClassifier, TcpToATlsPortGoesToTheTlsQueueOfItsHash) {
    const SteeringConfig c = four_queue_config();
    const SoftwareClassifier cls = make_classifier(c);
    std::map<std::uint16_t, int> per_queue;
    for (std::uint16_t sport = 40000; sport < 41200; ++sport) {
        const Classification got = cls.classify(tcp_frame(sport, 443));
        ASSERT_EQ(got.traffic_class, TrafficClass::tls) << sport;
        EXPECT_EQ(got.queue, expected_tls_queue(c, kClientIp, kServerIp, sport, 443)) << sport;
        ++per_queue[got.queue];
    }
    // Every TLS queue gets a fair share and the control queue none.
    ASSERT_EQ(per_queue.size(), 3u);
    for (const auto& [queue, n] : per_queue) {
        EXPECT_NE(queue, c.control_queue);
        EXPECT_GT(n, 250) << "queue " << queue;
    }
}

TEST(SteeringClassifier, EverythingElseGoesToTheControlQueue) {
    SteeringConfig c = four_queue_config();
    c.control_queue = 2;
    c.tls_queues = {0, 1, 3};
    const SoftwareClassifier cls = make_classifier(c);
    const auto control = [&](const Bytes& frame, const char* what) {
        const Classification got = cls.classify(frame);
        EXPECT_EQ(got.traffic_class, TrafficClass::control) << what;
        EXPECT_EQ(got.queue, 2) << what;
    };
    control(tcp_frame(443, 40000), "from port 443 (a backend's or our reply)");
    control(tcp_frame(40000, 80), "another port");
    control(tcp_frame(40000, 8080, kServerIp, kClientIp), "backend connection");
    control(net::test::arp_frame(1, net::test::kBcastMac, net::test::kPeerMac, kClientIp,
                                 Bytes(6, 0), kServerIp),
            "ARP request");
    net::test::IpOpts icmp;
    icmp.src = kClientIp;
    icmp.dst = kServerIp;
    control(net::test::ip_frame(icmp, net::test::icmp_msg(8, 0, 1, 1, Bytes(32, 0xab))),
            "ICMP echo");
    net::test::IpOpts udp = icmp;
    udp.protocol = 17;
    control(net::test::ip_frame(udp, tcp_ports(40000, 443)), "UDP to 443");
    Bytes v6 = net::test::eth(net::test::kOurMac, net::test::kPeerMac, 0x86dd);
    net::test::put(v6, Bytes(60, 0));
    control(v6, "IPv6");
    // 802.1Q-tagged TCP to 443: the NIC's rule would not match it either.
    Bytes tagged = tcp_frame(40000, 443);
    const Bytes tag = {0x81, 0x00, 0x00, 0x05};
    tagged.insert(tagged.begin() + 12, tag.begin(), tag.end());
    control(tagged, "VLAN-tagged");
}

TEST(SteeringClassifier, FragmentsGoToControl) {
    const SoftwareClassifier cls = make_classifier();
    net::test::IpOpts o;
    o.src = kClientIp;
    o.dst = kServerIp;
    o.protocol = 6;
    o.flags_frag = 0x2000;  // MF, offset 0: carries the ports, still a fragment
    EXPECT_EQ(cls.classify(net::test::ip_frame(o, tcp_ports(40000, 443))).traffic_class,
              TrafficClass::control);
    o.flags_frag = 0x0003;  // offset 24 bytes: "ports" would be payload bytes
    EXPECT_EQ(cls.classify(net::test::ip_frame(o, tcp_ports(40000, 443))).traffic_class,
              TrafficClass::control);
    o.flags_frag = 0x4000;  // DF only: not a fragment
    EXPECT_EQ(cls.classify(net::test::ip_frame(o, tcp_ports(40000, 443))).traffic_class,
              TrafficClass::tls);
}

TEST(SteeringClassifier, IpOptionsMoveThePorts) {
    const SoftwareClassifier cls = make_classifier();
    net::test::IpOpts o;
    o.src = kClientIp;
    o.dst = kServerIp;
    o.protocol = 6;
    o.options = {1, 1, 1, 0};  // NOP NOP NOP EOL: IHL 6
    EXPECT_EQ(cls.classify(net::test::ip_frame(o, tcp_ports(40000, 443))).traffic_class,
              TrafficClass::tls);
    // The same bytes read with IHL 5 would see ports 0x0101:0x0100.
    EXPECT_EQ(cls.classify(net::test::ip_frame(o, tcp_ports(40000, 80))).traffic_class,
              TrafficClass::control);
}

TEST(SteeringClassifier, LocalAddressFiltersWhenGiven) {
    SteeringConfig c = four_queue_config();
    c.local_ip = net::Ipv4Addr{kServerIp};
    const SoftwareClassifier cls = make_classifier(c);
    EXPECT_EQ(cls.classify(tcp_frame(40000, 443)).traffic_class, TrafficClass::tls);
    EXPECT_EQ(cls.classify(tcp_frame(40000, 443, kClientIp, kServerIp + 1)).traffic_class,
              TrafficClass::control);
}

TEST(SteeringClassifier, TruncatedFramesGoToControlNeverOutOfBounds) {
    const SoftwareClassifier cls = make_classifier();
    const Bytes full = tcp_frame(40000, 443);
    // Ethernet 14 + IPv4 20 + the two ports 4: shorter cannot be classified.
    for (std::size_t len = 0; len <= full.size(); ++len) {
        // A heap copy of exactly `len` bytes, so ASan sees any read past it.
        const std::vector<std::uint8_t> prefix(full.begin(), full.begin() + len);
        const Classification got = cls.classify(ByteSpan(prefix.data(), prefix.size()));
        EXPECT_EQ(got.traffic_class, len >= 38 ? TrafficClass::tls : TrafficClass::control) << len;
    }
}

TEST(SteeringClassifier, MalformedIpHeadersGoToControl) {
    const SoftwareClassifier cls = make_classifier();
    const Bytes good = tcp_frame(40000, 443);
    ASSERT_EQ(cls.classify(good).traffic_class, TrafficClass::tls);
    struct Case {
        const char* what;
        std::uint8_t version_ihl;
    };
    const Case cases[] = {
        {"IHL 4", 0x44},
        {"IHL 0", 0x40},
        {"version 6", 0x65},
        {"version 0", 0x05},
        {"IHL 15 beyond the frame", 0x4f},  // 60-byte header, frame has 20 + 20
    };
    for (const Case& k : cases) {
        Bytes f = good;
        f[14] = k.version_ihl;
        EXPECT_EQ(cls.classify(f).traffic_class, TrafficClass::control) << k.what;
    }
}

TEST(SteeringClassifier, RandomBytesNeverCrashAndNameAConfiguredQueue) {
    const SteeringConfig c = four_queue_config();
    const SoftwareClassifier cls = make_classifier(c);
    std::mt19937 rng(45);
    const Bytes base = tcp_frame(40000, 443);
    int tls = 0;
    for (int i = 0; i < 20000; ++i) {
        // Half mutated real frames (so some stay classifiable), half noise.
        std::vector<std::uint8_t> f;
        if (i % 2 == 0) {
            f = base;
            for (int k = 0; k < 3; ++k)
                f[rng() % f.size()] = static_cast<std::uint8_t>(rng());
            f.resize(rng() % (f.size() + 1));
        } else {
            f.resize(rng() % 80);
            for (auto& b : f)
                b = static_cast<std::uint8_t>(rng());
        }
        const Classification got = cls.classify(ByteSpan(f.data(), f.size()));
        if (got.traffic_class == TrafficClass::tls) {
            ++tls;
            EXPECT_NE(std::find(c.tls_queues.begin(), c.tls_queues.end(), got.queue),
                      c.tls_queues.end());
        } else {
            EXPECT_EQ(got.queue, c.control_queue);
        }
    }
    EXPECT_GT(tls, 0) << "some mutated frames still reach a TLS queue";
}

}  // namespace
}  // namespace l45
