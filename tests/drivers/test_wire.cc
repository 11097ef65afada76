// The ring wire and its fault injector on real frames, end to end through
// Port::tx_burst -> pump -> Port::rx_burst.
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_thash.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <vector>

#include "drivers/wire.h"
#include "stack/net/rss.h"
#include "tests/drivers/frames.h"
#include "tests/support/eal_env.h"

namespace l45 {
namespace {

using drivers::FaultConfig;
using drivers::RingWire;
using drivers::WireConfig;
using Frame = std::vector<std::uint8_t>;
using namespace std::chrono_literals;

class WireTest : public ::testing::Test {
  protected:
    void SetUp() override { pool_free_at_start_ = rte_mempool_avail_count(test::pktmbuf_pool()); }
    void TearDown() override {
        wire_.reset();
        // Every frame the test made is back, whatever the faults did.
        EXPECT_EQ(rte_mempool_avail_count(test::pktmbuf_pool()), pool_free_at_start_);
        EXPECT_TRUE(pools_.release()) << "an mbuf of the ports' pool is still out";
    }

    RingWire& make(WireConfig c) {
        c.port.mempools = &pools_;
        c.port.num_mbufs = 2047;
        auto w = RingWire::create(c);
        EXPECT_TRUE(w.has_value()) << (w ? "" : w.error());
        if (!w) std::abort();
        wire_ = std::move(*w);
        return *wire_;
    }

    // Transmits frames seq first..first+n-1 of `len` bytes from `port`.
    void send(drivers::Port& port, std::uint32_t first, std::uint32_t n, std::uint16_t len = 128,
              std::uint16_t queue = 0) {
        std::vector<rte_mbuf*> burst;
        for (std::uint32_t i = 0; i < n; ++i) {
            rte_mbuf* m = test::make_frame(test::pktmbuf_pool(), first + i, len);
            ASSERT_NE(m, nullptr);
            burst.push_back(m);
        }
        EXPECT_EQ(port.tx_burst(queue, burst), n);
    }

    std::vector<Frame> receive(drivers::Port& port, std::uint16_t queue = 0) {
        std::vector<Frame> out;
        rte_mbuf* burst[32];
        for (;;) {
            const std::uint16_t n = port.rx_burst(queue, burst);
            for (std::uint16_t i = 0; i < n; ++i) {
                out.push_back(test::frame_bytes(burst[i]));
                rte_pktmbuf_free(burst[i]);
            }
            if (n == 0) return out;
        }
    }

    static Frame expected(std::uint32_t seq, std::uint16_t len = 128) {
        rte_mbuf* m = test::make_frame(test::pktmbuf_pool(), seq, len);
        Frame f = test::frame_bytes(m);
        rte_pktmbuf_free(m);
        return f;
    }

    drivers::Mempools pools_;
    std::unique_ptr<RingWire> wire_;
    Instant t0_ = Instant{} + 1s;
    unsigned pool_free_at_start_ = 0;
};

TEST_F(WireTest, CleanWireDeliversInOrderOnlyWhenPumped) {
    RingWire& w = make({});
    send(w.a(), 0, 100);
    EXPECT_TRUE(receive(w.b()).empty()) << "nothing crosses before pump";
    w.pump(t0_);
    const auto got = receive(w.b());
    ASSERT_EQ(got.size(), 100u);
    for (std::uint32_t i = 0; i < 100; ++i)
        EXPECT_EQ(got[i], expected(i));
    EXPECT_EQ(w.counters().a_to_b, 100u);
    // And the other way.
    send(w.b(), 500, 3);
    w.pump(t0_);
    const auto back = receive(w.a());
    ASSERT_EQ(back.size(), 3u);
    EXPECT_EQ(back[2], expected(502));
}

TEST_F(WireTest, DuplicateGivesTwoIdenticalCopies) {
    WireConfig c;
    c.a_to_b.duplicate_rate = 1;
    RingWire& w = make(c);
    send(w.a(), 0, 10);
    w.pump(t0_);
    const auto got = receive(w.b());
    ASSERT_EQ(got.size(), 20u);
    for (std::uint32_t i = 0; i < 10; ++i) {
        EXPECT_EQ(got[2 * i], expected(i));
        EXPECT_EQ(got[2 * i + 1], expected(i));
    }
    EXPECT_EQ(w.a_to_b()->counters().duplicated, 10u);
}

TEST_F(WireTest, CorruptChangesExactlyOneByte) {
    WireConfig c;
    c.a_to_b.corrupt_rate = 1;
    RingWire& w = make(c);
    send(w.a(), 0, 50, 200);
    w.pump(t0_);
    const auto got = receive(w.b());
    ASSERT_EQ(got.size(), 50u);
    std::set<std::size_t> offsets;
    for (std::uint32_t i = 0; i < 50; ++i) {
        const Frame want = expected(i, 200);
        ASSERT_EQ(got[i].size(), want.size());
        int diffs = 0;
        for (std::size_t k = 0; k < want.size(); ++k) {
            if (got[i][k] != want[k]) {
                ++diffs;
                offsets.insert(k);
            }
        }
        EXPECT_EQ(diffs, 1) << "frame " << i;
    }
    EXPECT_GT(offsets.size(), 10u) << "the corrupted byte should move around";
    EXPECT_EQ(w.a_to_b()->counters().corrupted, 50u);
}

TEST_F(WireTest, TruncateGivesAShorterFrameWithTheSamePrefix) {
    WireConfig c;
    c.a_to_b.truncate_rate = 1;
    RingWire& w = make(c);
    send(w.a(), 0, 50, 300);
    w.pump(t0_);
    const auto got = receive(w.b());
    ASSERT_EQ(got.size(), 50u);
    std::set<std::size_t> lengths;
    for (std::uint32_t i = 0; i < 50; ++i) {
        const Frame want = expected(i, 300);
        ASSERT_LT(got[i].size(), want.size());
        ASSERT_GE(got[i].size(), 1u);
        EXPECT_TRUE(std::equal(got[i].begin(), got[i].end(), want.begin())) << "frame " << i;
        lengths.insert(got[i].size());
    }
    EXPECT_GT(lengths.size(), 10u);
}

TEST_F(WireTest, DelayHoldsUntilNowPlusDelayAndNotBefore) {
    WireConfig c;
    c.a_to_b.delay_rate = 1;
    c.a_to_b.delay = 100us;
    RingWire& w = make(c);
    send(w.a(), 0, 5);
    w.pump(t0_);
    EXPECT_TRUE(receive(w.b()).empty());
    EXPECT_EQ(w.a_to_b()->held(), 5u);
    w.pump(t0_ + 99us);
    EXPECT_TRUE(receive(w.b()).empty());
    w.pump(t0_ + 100us);
    const auto got = receive(w.b());
    ASSERT_EQ(got.size(), 5u);
    for (std::uint32_t i = 0; i < 5; ++i)
        EXPECT_EQ(got[i], expected(i));
}

TEST_F(WireTest, JitterStaysWithinItsWindow) {
    WireConfig c;
    c.a_to_b.delay_rate = 1;
    c.a_to_b.delay = 100us;
    c.a_to_b.jitter = 50us;
    RingWire& w = make(c);
    send(w.a(), 0, 200);
    w.pump(t0_);
    w.pump(t0_ + 99us);
    EXPECT_TRUE(receive(w.b()).empty());
    w.pump(t0_ + 125us);
    const std::size_t early = receive(w.b()).size();
    EXPECT_GT(early, 50u);
    EXPECT_LT(early, 150u);
    w.pump(t0_ + 150us);
    EXPECT_EQ(early + receive(w.b()).size(), 200u);
    EXPECT_EQ(w.a_to_b()->held(), 0u);
}

TEST_F(WireTest, ReorderDeliversEveryFrameInAnotherOrder) {
    WireConfig c;
    c.a_to_b.reorder_rate = 0.2;
    c.a_to_b.reorder_distance = 3;
    RingWire& w = make(c);
    send(w.a(), 0, 300);
    w.pump(t0_);
    auto got = receive(w.b());
    w.pump(t0_ + c.a_to_b.reorder_timeout);  // the tail, held with nothing after it
    for (auto& f : receive(w.b()))
        got.push_back(std::move(f));
    ASSERT_EQ(got.size(), 300u);
    std::vector<std::uint32_t> seqs;
    for (const Frame& f : got)
        seqs.push_back(test::frame_seq(f));
    EXPECT_FALSE(std::is_sorted(seqs.begin(), seqs.end()));
    std::vector<std::uint32_t> sorted = seqs;
    std::sort(sorted.begin(), sorted.end());
    for (std::uint32_t i = 0; i < 300; ++i)
        ASSERT_EQ(sorted[i], i);
    // A reordered frame lands exactly `distance` places late unless another
    // reordered frame or the end of the burst interferes; most should.
    int exactly_three_late = 0;
    for (std::size_t pos = 0; pos < seqs.size(); ++pos)
        exactly_three_late += seqs[pos] + 3 == pos ? 1 : 0;
    EXPECT_GT(exactly_three_late, 0);
    EXPECT_GT(w.a_to_b()->counters().reordered, 30u);
}

TEST_F(WireTest, DropRateOverTenThousandFramesIsWithinBounds) {
    WireConfig c;
    c.a_to_b.drop_rate = 0.1;
    RingWire& w = make(c);
    std::size_t received = 0;
    for (std::uint32_t batch = 0; batch < 20; ++batch) {
        send(w.a(), batch * 500, 500);
        w.pump(t0_);
        received += receive(w.b()).size();
    }
    const auto& k = w.a_to_b()->counters();
    EXPECT_EQ(k.frames, 10000u);
    EXPECT_EQ(received + k.dropped, 10000u);
    // Binomial(10000, 0.1): mean 1000, sd 30; +-5 sd.
    EXPECT_GT(k.dropped, 850u);
    EXPECT_LT(k.dropped, 1150u);
}

TEST_F(WireTest, DirectModeNeedsNoPump) {
    WireConfig c;
    c.direct = true;
    c.num_queues = 2;
    RingWire& w = make(c);
    EXPECT_EQ(w.a_to_b(), nullptr);
    send(w.a(), 0, 10, 128, 1);
    const auto got = receive(w.b(), 1);
    ASSERT_EQ(got.size(), 10u);
    EXPECT_EQ(got[9], expected(9));
    EXPECT_TRUE(receive(w.b(), 0).empty());
    send(w.b(), 7, 1);
    EXPECT_EQ(receive(w.a()).size(), 1u);
}

TEST_F(WireTest, QueuesAreJoinedPairwise) {
    WireConfig c;
    c.num_queues = 3;
    c.a_to_b.delay_rate = 1;
    c.a_to_b.delay = 10us;
    RingWire& w = make(c);
    send(w.a(), 0, 4, 128, 2);
    send(w.a(), 100, 2, 128, 0);
    w.pump(t0_);
    w.pump(t0_ + 10us);
    EXPECT_EQ(receive(w.b(), 2).size(), 4u);
    EXPECT_EQ(receive(w.b(), 0).size(), 2u);
    EXPECT_TRUE(receive(w.b(), 1).empty());
}

// Same seed, same faults: the received byte sequences are identical.
class WireDeterminism : public WireTest {
  protected:
    std::vector<Frame> run(std::uint64_t seed) {
        WireConfig c;
        c.seed = seed;
        c.a_to_b.drop_rate = 0.1;
        c.a_to_b.duplicate_rate = 0.1;
        c.a_to_b.reorder_rate = 0.1;
        c.a_to_b.delay_rate = 0.1;
        c.a_to_b.delay = 30us;
        c.a_to_b.jitter = 20us;
        c.a_to_b.corrupt_rate = 0.1;
        c.a_to_b.truncate_rate = 0.1;
        RingWire& w = make(c);
        std::vector<Frame> got;
        for (std::uint32_t step = 0; step < 20; ++step) {
            send(w.a(), step * 20, 20);
            w.pump(t0_ + step * 10us);
            for (auto& f : receive(w.b()))
                got.push_back(std::move(f));
        }
        w.flush();
        for (auto& f : receive(w.b()))
            got.push_back(std::move(f));
        wire_.reset();
        return got;
    }
};

TEST_F(WireDeterminism, SameSeedSameBytesOtherSeedOtherBytes) {
    const auto a = run(1234);
    const auto b = run(1234);
    const auto c = run(1235);
    EXPECT_GT(a.size(), 300u);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
}

// ------------------------------------------------------------- Port on rings

TEST_F(WireTest, DescriptorsAreClampedToThePmdMaximum) {
    WireConfig c;
    c.port.rx_desc = 100000;
    c.port.tx_desc = 100000;
    RingWire& w = make(c);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(w.a().port_id(), &info), 0);
    EXPECT_EQ(w.a().effective_rx_desc(), info.rx_desc_lim.nb_max);
    EXPECT_EQ(w.a().effective_tx_desc(), info.tx_desc_lim.nb_max);
    EXPECT_LT(w.a().effective_rx_desc(), 100000u);
}

TEST_F(WireTest, OffloadAndRssFactsMatchDevInfo) {
    RingWire& w = make({});
    for (drivers::Port* p : {&w.a(), &w.b()}) {
        rte_eth_dev_info info{};
        ASSERT_EQ(rte_eth_dev_info_get(p->port_id(), &info), 0);
        const net::TxOffloads tx = p->tx_offloads();
        EXPECT_EQ(tx.ipv4_cksum, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0);
        EXPECT_EQ(tx.tcp_cksum, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0);
        EXPECT_EQ(tx.udp_cksum, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0);
        EXPECT_EQ(tx.tso, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0);
        EXPECT_EQ(tx.multi_segs, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0);
        constexpr std::uint64_t rx_all = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
                                         RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
                                         RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
        EXPECT_EQ(p->rx_checksum_offload(), (info.rx_offload_capa & rx_all) == rx_all);
        // One queue: no RSS whatever the PMD has.
        EXPECT_FALSE(p->rss());
        EXPECT_TRUE(p->rss_key().empty());
        EXPECT_TRUE(p->reta().empty());
        EXPECT_EQ(p->driver_name(), "net_ring");
        EXPECT_EQ(p->socket(), std::max(0, rte_eth_dev_socket_id(p->port_id())));
    }
}

TEST_F(WireTest, RssOnAPmdWithoutItIsRefusedOrOff) {
    WireConfig c;
    c.num_queues = 4;
    RingWire& w = make(c);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(w.a().port_id(), &info), 0);
    // Four queues, RSS on by default exactly when the PMD has it.
    EXPECT_EQ(w.a().rss(), info.flow_type_rss_offloads != 0 && info.reta_size > 0);
    wire_.reset();

    WireConfig forced = c;
    forced.port.enable_rss = true;
    forced.port.mempools = &pools_;
    auto r = RingWire::create(forced);
    if (info.flow_type_rss_offloads == 0 || info.reta_size == 0) {
        ASSERT_FALSE(r.has_value());
        EXPECT_NE(r.error().find("no RSS"), std::string::npos) << r.error();
    }
}

TEST_F(WireTest, NoOffloadsWhenAskedForNone) {
    WireConfig c;
    c.port.enable_offloads = false;
    RingWire& w = make(c);
    const net::TxOffloads tx = w.a().tx_offloads();
    EXPECT_FALSE(tx.ipv4_cksum || tx.tcp_cksum || tx.udp_cksum || tx.tso || tx.multi_segs);
    EXPECT_FALSE(w.a().rx_checksum_offload());
}

TEST_F(WireTest, TxBurstTakesOwnershipOfWhatThePmdRefuses) {
    WireConfig c;
    c.ring_size = 64;  // 63 usable slots in A's tx ring
    RingWire& w = make(c);
    std::vector<rte_mbuf*> burst;
    for (std::uint32_t i = 0; i < 200; ++i)
        burst.push_back(test::make_frame(test::pktmbuf_pool(), i));
    EXPECT_EQ(w.a().tx_burst(0, burst), 63);
    const auto k = w.a().counters();
    EXPECT_EQ(k.tx_packets, 63u);
    EXPECT_EQ(k.tx_dropped, 137u);
    EXPECT_EQ(w.a().tx_drops(), 137u);
    // A queue that does not exist: freed and counted nowhere else.
    std::vector<rte_mbuf*> stray = {test::make_frame(test::pktmbuf_pool(), 9)};
    EXPECT_EQ(w.a().tx_burst(5, stray), 0);
    w.pump(t0_);
    EXPECT_EQ(receive(w.b()).size(), 63u);
    EXPECT_EQ(w.b().counters().rx_packets, 63u);
    // TearDown checks the pool is whole again.
}

TEST_F(WireTest, FullRxRingIsCountedAndFreed) {
    WireConfig c;
    c.ring_size = 64;
    c.a_to_b.duplicate_rate = 1;  // 50 frames in, 100 out, B's rx ring holds 63
    RingWire& w = make(c);
    send(w.a(), 0, 50);
    w.pump(t0_);
    EXPECT_EQ(receive(w.b()).size(), 63u);
    EXPECT_EQ(w.counters().rx_ring_full, 37u);
}

TEST_F(WireTest, PortsShareTheSocketPoolAndReportTheirState) {
    RingWire& w = make({});
    EXPECT_EQ(w.a().mempool(), w.b().mempool());
    EXPECT_EQ(pools_.get(w.a().socket()), w.a().mempool());
    EXPECT_NE(w.a().port_id(), w.b().port_id());
    EXPECT_EQ(drivers::find_port(w.a().name()), w.a().port_id());
    EXPECT_FALSE(drivers::find_port("l45_no_such_port").has_value());
    EXPECT_TRUE(w.a().wait_for_link(1s).up);
    EXPECT_FALSE(w.a().xstats().empty());
    // An mbuf of the shared pool out: the registry refuses to free it.
    rte_mbuf* m = rte_pktmbuf_alloc(w.a().mempool());
    ASSERT_NE(m, nullptr);
    EXPECT_FALSE(pools_.release());
    rte_pktmbuf_free(m);
}

// An Ethernet + IPv4 + TCP frame src:sport -> dst:dport (checksums left
// zero: the wire does not look at them).
rte_mbuf* make_tcp_frame(std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                         std::uint16_t dport, std::uint16_t frag = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(test::pktmbuf_pool());
    if (m == nullptr) return nullptr;
    constexpr std::uint16_t kLen = 14 + 20 + 20;
    auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, kLen));
    Writer w({p, kLen});
    const std::uint8_t dmac[6] = {2, 0, 0, 0, 0, 0x0b};
    const std::uint8_t smac[6] = {2, 0, 0, 0, 0, 0x0a};
    w.bytes(dmac);
    w.bytes(smac);
    w.u16(0x0800);
    w.u8(0x45);
    w.u8(0);
    w.u16(40);
    w.u16(0);
    w.u16(frag);
    w.u8(64);
    w.u8(6);
    w.u16(0);
    w.u32(src);
    w.u32(dst);
    w.u16(sport);
    w.u16(dport);
    w.zeros(16);
    return m;
}

struct Seen {
    std::uint32_t src = 0, dst = 0;
    std::uint16_t sport = 0, dport = 0;
    std::uint16_t queue = 0;
};

std::vector<Seen> receive_tcp(drivers::Port& port) {
    std::vector<Seen> out;
    for (std::uint16_t q = 0; q < port.num_rx_queues(); ++q) {
        rte_mbuf* burst[32];
        while (const std::uint16_t n = port.rx_burst(q, burst)) {
            for (std::uint16_t i = 0; i < n; ++i) {
                const Frame f = test::frame_bytes(burst[i]);
                Reader r(f);
                Seen s;
                s.queue = q;
                EXPECT_TRUE(r.skip(26) && r.u32(s.src) && r.u32(s.dst) && r.u16(s.sport) &&
                            r.u16(s.dport));
                out.push_back(s);
                rte_pktmbuf_free(burst[i]);
            }
        }
    }
    return out;
}

TEST_F(WireTest, SoftwareRssPlacesFlowsLikeANicAndKeepsBothDirectionsTogether) {
    WireConfig c;
    c.num_queues = 4;
    c.rss = true;
    RingWire& w = make(c);
    ASSERT_TRUE(w.rss());
    ASSERT_EQ(w.reta().size(), 128u);
    ASSERT_EQ(w.rss_key().size(), 40u);
    const std::uint32_t ip_a = 0xc6120001, ip_b = 0xc6120002;
    constexpr int kFlows = 400;
    // A sends from its tx queues in turn: the tx queue must not matter.
    for (int i = 0; i < kFlows; ++i) {
        rte_mbuf* m = make_tcp_frame(ip_a, ip_b, static_cast<std::uint16_t>(40000 + i), 80);
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(w.a().tx_burst(static_cast<std::uint16_t>(i % 4), {&m, 1}), 1);
    }
    w.pump(t0_);
    const auto at_b = receive_tcp(w.b());
    ASSERT_EQ(at_b.size(), static_cast<std::size_t>(kFlows));
    std::vector<int> per_queue(4, 0);
    std::vector<std::uint16_t> queue_of_flow(kFlows);
    for (const Seen& s : at_b) {
        // Recomputed with l45's own Toeplitz (the wire uses rte_softrss).
        const auto in =
            net::rss_ipv4_l4_input(net::Ipv4Addr{s.src}, net::Ipv4Addr{s.dst}, s.sport, s.dport);
        EXPECT_EQ(s.queue, net::rss_queue(net::toeplitz_hash(w.rss_key(), in), w.reta()));
        ++per_queue[s.queue];
        queue_of_flow[s.sport - 40000] = s.queue;
    }
    for (int q = 0; q < 4; ++q)
        EXPECT_GT(per_queue[q], kFlows / 8) << "queue " << q;

    // The replies: B -> A on the same flows land on A's queue of the same index.
    for (int i = 0; i < kFlows; ++i) {
        rte_mbuf* m = make_tcp_frame(ip_b, ip_a, 80, static_cast<std::uint16_t>(40000 + i));
        ASSERT_EQ(w.b().tx_burst(0, {&m, 1}), 1);
    }
    w.pump(t0_);
    const auto at_a = receive_tcp(w.a());
    ASSERT_EQ(at_a.size(), static_cast<std::size_t>(kFlows));
    for (const Seen& s : at_a)
        EXPECT_EQ(s.queue, queue_of_flow[s.dport - 40000]) << "port " << s.dport;
    EXPECT_EQ(w.counters().rss_unhashed, 0u);
}

TEST_F(WireTest, SoftwareRssSendsNonIpToQueueZeroAndFragmentsByAddress) {
    WireConfig c;
    c.num_queues = 4;
    c.rss = true;
    RingWire& w = make(c);
    send(w.a(), 0, 50, 128, 2);  // non-IP test frames, from tx queue 2
    w.pump(t0_);
    EXPECT_EQ(receive(w.b(), 0).size(), 50u);
    for (std::uint16_t q = 1; q < 4; ++q)
        EXPECT_TRUE(receive(w.b(), q).empty());
    EXPECT_EQ(w.counters().rss_unhashed, 50u);

    // Later fragments carry no ports a NIC could read: every fragment of
    // one address pair lands together, whatever the bytes where ports would be.
    std::set<std::uint16_t> queues;
    for (int i = 0; i < 64; ++i) {
        rte_mbuf* m =
            make_tcp_frame(0xc6120001, 0xc6120002, static_cast<std::uint16_t>(i), 80, 0x00b9);
        ASSERT_EQ(w.a().tx_burst(0, {&m, 1}), 1);
    }
    w.pump(t0_);
    for (const Seen& s : receive_tcp(w.b()))
        queues.insert(s.queue);
    EXPECT_EQ(queues.size(), 1u);
}

TEST_F(WireTest, SoftwareRssNeedsThePumpedWire) {
    WireConfig c;
    c.num_queues = 2;
    c.rss = true;
    c.direct = true;
    c.port.mempools = &pools_;
    auto w = RingWire::create(c);
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().find("pumped"), std::string::npos);
}

TEST(RssKey, SymmetricToeplitzHashesBothDirectionsAlike) {
    const auto key = drivers::symmetric_rss_key(40);
    ASSERT_EQ(key.size(), 40u);
    EXPECT_EQ(key[0], 0x6d);
    EXPECT_EQ(key[1], 0x5a);
    EXPECT_EQ(key[39], 0x5a);
    // (src ip, dst ip, sport<<16|dport) as rte_softrss wants (host order).
    std::uint32_t fwd[3] = {0xc6120001, 0xc6120102, (40000u << 16) | 443u};
    std::uint32_t rev[3] = {0xc6120102, 0xc6120001, (443u << 16) | 40000u};
    EXPECT_EQ(rte_softrss(fwd, 3, key.data()), rte_softrss(rev, 3, key.data()));
    // And not a constant: another flow hashes differently.
    std::uint32_t other[3] = {0xc6120001, 0xc6120102, (40001u << 16) | 443u};
    EXPECT_NE(rte_softrss(fwd, 3, key.data()), rte_softrss(other, 3, key.data()));
}

// Two lcores, each transmitting and pumping its own direction
// (pump_a_to_b / pump_b_to_a) while receiving the other's, with drops on
// both injectors: every frame is delivered in order, dropped by its
// injector, or counted as an rx ring overflow, and the mempools get every
// mbuf back (TearDown).
struct PumpSide {
    RingWire* wire = nullptr;
    bool is_a = false;
    std::uint32_t first = 0;  // the sequence numbers this side sends
    std::uint32_t num = 0;
    std::atomic<bool>* my_done = nullptr;
    std::atomic<bool>* peer_done = nullptr;
    std::uint64_t received = 0;
    std::uint64_t out_of_order = 0;
    std::uint32_t last_seq = 0;
    bool any = false;
    rte_mempool* pool = nullptr;
};

int run_pump_side(void* arg) {
    PumpSide& s = *static_cast<PumpSide*>(arg);
    drivers::Port& me = s.is_a ? s.wire->a() : s.wire->b();
    const Instant now = Instant{} + 1s;
    auto pump = [&] { s.is_a ? s.wire->pump_a_to_b(now) : s.wire->pump_b_to_a(now); };
    auto receive = [&]() -> std::uint16_t {
        rte_mbuf* burst[32];
        const std::uint16_t n = me.rx_burst(0, burst);
        for (std::uint16_t i = 0; i < n; ++i) {
            const std::uint32_t seq = test::frame_seq(test::frame_bytes(burst[i]));
            if (s.any && seq <= s.last_seq) ++s.out_of_order;
            s.any = true;
            s.last_seq = seq;
            ++s.received;
            rte_pktmbuf_free(burst[i]);
        }
        return n;
    };
    for (std::uint32_t sent = 0; sent < s.num;) {
        rte_mbuf* burst[16];
        std::uint16_t n = 0;
        for (; n < 16 && sent < s.num; ++n, ++sent)
            burst[n] = test::make_frame(s.pool, s.first + sent);
        me.tx_burst(0, std::span(burst, n));
        pump();
        receive();
    }
    pump();
    s.my_done->store(true, std::memory_order_release);
    // The peer may still be pumping into our rx ring: read until it is done
    // and the ring is empty.
    for (;;) {
        const bool peer_done = s.peer_done->load(std::memory_order_acquire);
        if (receive() == 0 && peer_done) break;
    }
    return 0;
}

TEST_F(WireTest, TwoLcoresEachPumpTheirOwnDirection) {
    const unsigned worker = rte_get_next_lcore(rte_lcore_id(), 1, 0);
    if (worker >= RTE_MAX_LCORE) GTEST_SKIP() << "needs a second lcore";
    WireConfig c;
    c.a_to_b.drop_rate = 0.05;
    c.b_to_a.drop_rate = 0.05;
    c.ring_size = 256;
    RingWire& w = make(c);
    constexpr std::uint32_t kFrames = 20000;
    std::atomic<bool> a_done{false}, b_done{false};
    PumpSide a{.wire = &w,
               .is_a = true,
               .first = 0,
               .num = kFrames,
               .my_done = &a_done,
               .peer_done = &b_done,
               .pool = test::pktmbuf_pool()};
    PumpSide b{.wire = &w,
               .is_a = false,
               .first = 1000000,
               .num = kFrames,
               .my_done = &b_done,
               .peer_done = &a_done,
               .pool = test::pktmbuf_pool()};
    ASSERT_EQ(rte_eal_remote_launch(run_pump_side, &b, worker), 0);
    run_pump_side(&a);
    ASSERT_EQ(rte_eal_wait_lcore(worker), 0);

    const auto k = w.counters();
    const auto& ab = w.a_to_b()->counters();
    const auto& ba = w.b_to_a()->counters();
    EXPECT_EQ(ab.frames, kFrames);
    EXPECT_EQ(ba.frames, kFrames);
    EXPECT_GT(ab.dropped, 0u);
    EXPECT_GT(ba.dropped, 0u);
    EXPECT_EQ(a.out_of_order, 0u);
    EXPECT_EQ(b.out_of_order, 0u);
    // Each frame is accounted for once: received, dropped, or lost to a full ring.
    EXPECT_EQ(k.a_to_b, b.received);
    EXPECT_EQ(k.b_to_a, a.received);
    EXPECT_EQ(b.received + a.received + ab.dropped + ba.dropped + k.rx_ring_full, 2u * kFrames);
    EXPECT_GT(a.received, 0u);
    EXPECT_GT(b.received, 0u);
}

}  // namespace
}  // namespace l45
