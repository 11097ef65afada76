// RssPortChooser: every port it hands out must make the peer's replies hash
// (Toeplitz, recomputed here from scratch) through the RETA to the asking
// shard's queue, never be a port in use, and run out cleanly.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "stack/net/rss.h"
#include "stack/tcp/rss_port_chooser.h"
#include "stack/tcp/stack.h"
#include "tests/tcp/harness.h"

namespace l45::tcp {
namespace {

using test::CaptureSink;

const net::Ipv4Addr kLocal = net::Ipv4Addr::from_octets(198, 18, 0, 1);
const net::Ipv4Addr kPeer = net::Ipv4Addr::from_octets(198, 18, 0, 2);

// Microsoft's verification key: NOT symmetric, so the tests also prove the
// chooser hashes the reply direction (remote -> local), not ours.
const std::vector<std::uint8_t> kMicrosoftKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

std::vector<std::uint8_t> symmetric_key() {
    std::vector<std::uint8_t> k(40);
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = net::symmetric_rss_key_byte(i);
    return k;
}

std::vector<std::uint16_t> spread_reta(std::size_t size, std::uint16_t num_queues) {
    std::vector<std::uint16_t> reta(size);
    for (std::size_t i = 0; i < size; ++i)
        reta[i] = static_cast<std::uint16_t>(i % num_queues);
    return reta;
}

// The queue the NIC gives a packet remote -> local, computed without the chooser.
std::uint16_t nic_queue(std::span<const std::uint8_t> key, std::span<const std::uint16_t> reta,
                        const FourTuple& t) {
    const auto in =
        net::rss_ipv4_l4_input(t.remote.addr, t.local.addr, t.remote.port, t.local.port);
    return net::rss_queue(net::toeplitz_hash(key, in), reta);
}

struct NullHandler final : TcpHandler {};

struct Fixture {
    explicit Fixture(std::uint32_t max_connections = 4096) {
        TcpStackConfig c;
        c.local_addr = kLocal;
        c.max_connections = max_connections;
        stack = std::make_unique<TcpStack>(c, sink, l45::test::pktmbuf_pool(), random, handler);
    }
    CaptureSink sink;
    SeededRandom random{3};
    NullHandler handler;
    std::unique_ptr<TcpStack> stack;
    Instant now{};
};

void expect_ports_land_on_queue(std::span<const std::uint8_t> key, std::uint16_t num_queues) {
    const auto reta = spread_reta(128, num_queues);
    for (std::uint16_t q = 0; q < num_queues; ++q) {
        Fixture f;
        SeededRandom seed(100 + q);
        RssPortChooser chooser(key, reta, q, seed);
        f.stack->set_port_chooser(&chooser);
        std::set<std::uint16_t> ports;
        for (int i = 0; i < 600; ++i) {
            // Several destinations: the tuple, not just the port, decides.
            const std::uint16_t dport = static_cast<std::uint16_t>(80 + i % 3);
            auto id = f.stack->connect(f.now, kPeer, dport);
            ASSERT_TRUE(id) << to_string(id.error());
            const FourTuple t = f.stack->find(*id)->tuple();
            EXPECT_EQ(t.remote.port, dport);
            EXPECT_GE(t.local.port, 49152);
            EXPECT_EQ(nic_queue(key, reta, t), q) << "port " << t.local.port;
            EXPECT_EQ(chooser.reply_queue(t), q);
            ports.insert(t.local.port);
        }
        // 600 connections over 3 destinations: at least 200 distinct ports.
        EXPECT_GE(ports.size(), 200u);
        f.sink.segments.clear();
    }
}

TEST(RssPortChooser, RepliesLandOnOurQueueSymmetricKey) {
    expect_ports_land_on_queue(symmetric_key(), 2);
    expect_ports_land_on_queue(symmetric_key(), 4);
}

TEST(RssPortChooser, RepliesLandOnOurQueueAsymmetricKey) {
    expect_ports_land_on_queue(kMicrosoftKey, 4);
}

TEST(RssPortChooser, PlainChooserDoesNotKeepRepliesLocal) {
    // The control: ports from the default chooser land on other queues too.
    const auto key = symmetric_key();
    const auto reta = spread_reta(128, 4);
    Fixture f;
    int elsewhere = 0;
    for (int i = 0; i < 100; ++i) {
        auto id = f.stack->connect(f.now, kPeer, 80);
        ASSERT_TRUE(id);
        elsewhere += nic_queue(key, reta, f.stack->find(*id)->tuple()) != 0;
    }
    EXPECT_GT(elsewhere, 40);
}

TEST(RssPortChooser, ExhaustsWhenNoPortHashesToOurQueue) {
    const auto key = symmetric_key();
    const std::vector<std::uint16_t> reta(128, 1);  // everything to queue 1
    Fixture f;
    SeededRandom seed(1);
    RssPortChooser chooser(key, reta, 0, seed);
    f.stack->set_port_chooser(&chooser);
    auto id = f.stack->connect(f.now, kPeer, 80);
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error(), TcpError::kNoPort);
    std::uint16_t port = 0;
    EXPECT_FALSE(chooser.choose(*f.stack, FourTuple{{kLocal, 0}, {kPeer, 80}}, port));
}

TEST(RssPortChooser, ExhaustsWhenEveryMatchingPortIsInUse) {
    const auto key = symmetric_key();
    const auto reta = spread_reta(128, 2);
    const RssPortChooserConfig range{.first_port = 50000, .num_ports = 64};
    // How many ports of the range reply to queue 1, counted independently.
    int expected = 0;
    for (std::uint32_t p = range.first_port; p < range.first_port + range.num_ports; ++p)
        expected +=
            nic_queue(key, reta,
                      FourTuple{{kLocal, static_cast<std::uint16_t>(p)}, {kPeer, 443}}) == 1;
    ASSERT_GT(expected, 10);
    ASSERT_LT(expected, 54);
    Fixture f;
    SeededRandom seed(9);
    RssPortChooser chooser(key, reta, 1, seed, range);
    f.stack->set_port_chooser(&chooser);
    std::set<std::uint16_t> ports;
    for (;;) {
        auto id = f.stack->connect(f.now, kPeer, 443);
        if (!id) {
            EXPECT_EQ(id.error(), TcpError::kNoPort);
            break;
        }
        const FourTuple t = f.stack->find(*id)->tuple();
        EXPECT_TRUE(ports.insert(t.local.port).second) << "port handed out twice";
        EXPECT_GE(t.local.port, range.first_port);
        EXPECT_LT(t.local.port, range.first_port + range.num_ports);
        ASSERT_LE(static_cast<int>(ports.size()), expected);
    }
    EXPECT_EQ(static_cast<int>(ports.size()), expected);
    // Another destination is a different tuple: its ports are free again.
    EXPECT_TRUE(f.stack->connect(f.now, kPeer, 444));
}

TEST(RssPortChooser, WithoutRssOnlyQueueZeroGetsPorts) {
    const auto key = symmetric_key();
    Fixture f;
    SeededRandom s0(1), s1(2);
    RssPortChooser q0(key, {}, 0, s0);
    RssPortChooser q1(key, {}, 1, s1);
    std::uint16_t port = 0;
    EXPECT_TRUE(q0.choose(*f.stack, FourTuple{{kLocal, 0}, {kPeer, 80}}, port));
    EXPECT_FALSE(q1.choose(*f.stack, FourTuple{{kLocal, 0}, {kPeer, 80}}, port));
}

TEST(RssPortChooser, StartIsKeyedPerDestination) {
    // RFC 6056 §3.3.3: different secrets give different sequences, so ports
    // are not guessable from another host's.
    const auto key = symmetric_key();
    const auto reta = spread_reta(128, 2);
    Fixture f;
    SeededRandom s1(1), s2(2);
    RssPortChooser c1(key, reta, 0, s1), c2(key, reta, 0, s2);
    std::uint16_t p1 = 0, p2 = 0;
    int same = 0;
    for (std::uint16_t d = 1; d <= 20; ++d) {
        const FourTuple t{{kLocal, 0}, {kPeer, d}};
        ASSERT_TRUE(c1.choose(*f.stack, t, p1));
        ASSERT_TRUE(c2.choose(*f.stack, t, p2));
        same += p1 == p2;
    }
    EXPECT_LT(same, 3);
}

}  // namespace
}  // namespace l45::tcp
