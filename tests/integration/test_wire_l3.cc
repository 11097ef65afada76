// Two l45 stacks in one process, joined by the net_ring wire: they resolve
// each other by ARP and ping, also when the wire loses 20% of the frames.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "apps/common/service.h"
#include "drivers/wire.h"
#include "stack/net/interface.h"
#include "tests/integration/l3_helpers.h"
#include "tests/support/eal_env.h"

namespace l45 {
namespace {

using namespace std::chrono_literals;

struct TwoStacks {
    std::unique_ptr<drivers::RingWire> wire;
    std::unique_ptr<net::Interface> a;
    std::unique_ptr<net::Interface> b;
    ManualClock clock;

    explicit TwoStacks(const drivers::WireConfig& config, const net::ArpConfig& arp = {}) {
        auto w = drivers::RingWire::create(config);
        if (!w) {
            ADD_FAILURE() << "RingWire: " << w.error();
            return;
        }
        wire = std::move(*w);
        a = make(wire->a(), 1, arp);
        b = make(wire->b(), 2, arp);
        a->start(clock.now());
        b->start(clock.now());
    }

    // Host n of the wire: 02:00:00:00:00:0n at 198.18.0.n (ring ports carry
    // every frame whatever its MAC, and have none of their own).
    static std::unique_ptr<net::Interface> make(drivers::Port& port, std::uint8_t n,
                                                const net::ArpConfig& arp) {
        net::InterfaceConfig c;
        c.mac = rte_ether_addr{{0x02, 0, 0, 0, 0, n}};
        c.ip = net::Ipv4Addr::from_octets(198, 18, 0, n);
        c.prefix_len = 24;
        c.arp = arp;
        return std::make_unique<net::Interface>(c, port.mempool(), port.tx_offloads());
    }

    // One round: both stacks serve their port, the wire carries frames.
    void step(Duration dt = 1ms) {
        clock.advance(dt);
        apps::service_once(wire->a(), 0, *a, clock.now());
        wire->pump(clock.now());
        apps::service_once(wire->b(), 0, *b, clock.now());
        wire->pump(clock.now());
    }
};

TEST(WireL3, ResolveAndPing) {
    TwoStacks s(drivers::WireConfig{});
    ASSERT_TRUE(s.wire);
    constexpr int kPings = 50;
    for (int i = 0; i < kPings; ++i) {
        auto r = s.a->send_ipv4(s.clock.now(), s.b->address(), 1,
                                test::make_echo_request(s.wire->a().mempool(), 7, i, 56));
        ASSERT_TRUE(r.has_value()) << "send_ipv4 error " << static_cast<int>(r.error());
        for (int k = 0; k < 3; ++k)
            s.step();
    }
    for (int k = 0; k < 20; ++k)
        s.step();

    // A learnt B by ARP (one request), B learnt A from that request.
    EXPECT_EQ(s.a->counters().arp_requests_out, 1u);
    EXPECT_EQ(s.b->counters().arp_replies_out, 1u);
    EXPECT_EQ(s.b->counters().icmp_echo_requests_in, static_cast<unsigned>(kPings));
    EXPECT_EQ(s.b->counters().icmp_echo_replies_out, static_cast<unsigned>(kPings));
    // Every reply reached A and passed its checksum check.
    EXPECT_EQ(s.a->counters().icmp_rx, static_cast<unsigned>(kPings));
    EXPECT_EQ(s.a->counters().icmp_bad_checksum, 0u);
}

TEST(WireL3, ArpRetriesResolveUnderTwentyPercentLoss) {
    // Thirty independent pairs, each with its own seed: every one resolves,
    // and the loss makes some of them need retries.
    constexpr int kPairs = 30;
    int needed_retries = 0;
    for (int seed = 1; seed <= kPairs; ++seed) {
        drivers::WireConfig config;
        config.a_to_b.drop_rate = 0.20;
        config.b_to_a.drop_rate = 0.20;
        config.seed = static_cast<std::uint64_t>(seed);
        net::ArpConfig arp;
        arp.gratuitous_at_start = false;  // resolution must come from requests
        arp.retry_interval = 100ms;
        arp.max_retries = 10;
        TwoStacks s(config, arp);
        ASSERT_TRUE(s.wire);
        (void)s.a->send_ipv4(s.clock.now(), s.b->address(), 1,
                             test::make_echo_request(s.wire->a().mempool(), 9, 1, 32));
        for (int k = 0; k < 300; ++k)
            s.step(10ms);
        const auto& ca = s.a->counters();
        EXPECT_NE(s.a->arp().lookup(s.clock.now(), s.b->address()), nullptr) << "seed " << seed;
        EXPECT_EQ(ca.arp_resolve_failed, 0u) << "seed " << seed;
        EXPECT_EQ(ca.arp_hold_dropped, 0u) << "seed " << seed;
        if (ca.arp_requests_out > 1) ++needed_retries;
    }
    EXPECT_GT(needed_retries, 0);
}

TEST(WireL3, ArpGivesUpWhenThePeerIsSilentAndFreesHeldPackets) {
    drivers::WireConfig config;
    config.a_to_b.drop_rate = 1.0;  // B never hears A
    net::ArpConfig arp;
    arp.retry_interval = 100ms;
    arp.max_retries = 3;
    arp.gratuitous_at_start = false;  // B's announcement would resolve A's entry (RFC 826 merge)
    TwoStacks s(config, arp);
    ASSERT_TRUE(s.wire);
    rte_mempool* pool = s.wire->a().mempool();
    const unsigned in_use_before = rte_mempool_in_use_count(pool);
    for (int i = 0; i < 3; ++i)
        (void)s.a->send_ipv4(s.clock.now(), s.b->address(), 1,
                             test::make_echo_request(pool, 1, i, 8));
    for (int k = 0; k < 100; ++k)
        s.step(10ms);
    EXPECT_EQ(s.a->counters().arp_requests_out, 4u);  // first + 3 retries
    EXPECT_EQ(s.a->counters().arp_resolve_failed, 1u);
    EXPECT_EQ(s.a->counters().arp_hold_dropped, 3u);
    EXPECT_EQ(rte_mempool_in_use_count(pool), in_use_before);
}

}  // namespace
}  // namespace l45
