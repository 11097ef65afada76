// SACK-based loss recovery at the connection level (RFC 6675, RFC 8985 TLP)
// and the receiver's side of it (RFC 5681 §4.2 immediate ACKs, RFC 2018 §4
// block order), under the fake clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "tests/tcp/harness.h"

namespace l45::tcp {
namespace {

using namespace test;

constexpr std::uint32_t kMss = 1460;
constexpr std::uint32_t kIss = 1000;
constexpr std::uint32_t kRiss = 5000;

Instant at(Duration d) {
    return Harness::t(d);
}

// Segment i of the local sender's data.
SeqNum sg(std::uint32_t i) {
    return SeqNum(kIss + 1) + i * kMss;
}

TcpConfig sack_config() {
    TcpConfig c = plain_config();  // NewReno, no timestamps: 4 SACK blocks fit
    c.sack = true;
    return c;
}

void establish_sack(Harness& h) {
    h.conn().set_iss_for_test(kIss);
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    TcpRepr syn = seg(flags::kSyn, kRiss);
    syn.options.mss = kMss;
    syn.options.sack_permitted = true;
    h.send(at(0s), syn);
    ASSERT_EQ(h.recv(at(0s)).repr.flags, flags::kSyn | flags::kAck);
    h.send(at(0s), seg(flags::kAck, kRiss + 1, kIss + 1));
    ASSERT_EQ(h.conn().state(), State::kEstablished);
    ASSERT_TRUE(h.conn().sack_enabled());
}

// An ACK from the peer: cumulative ack at segment `ack_seg`, SACK blocks
// given as [from, to) segment ranges.
TcpRepr ack_with(std::uint32_t ack_seg,
                 std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> blocks = {}) {
    TcpRepr a = seg(flags::kAck, kRiss + 1, sg(ack_seg).value());
    std::uint8_t n = 0;
    for (const auto& [from, to] : blocks)
        a.options.sack_blocks[n++] = {sg(from), sg(to)};
    a.options.num_sack_blocks = n;
    return a;
}

// Which segment a captured data segment starts at.
std::uint32_t seg_index(const Captured& c) {
    return static_cast<std::uint32_t>(c.repr.seq - sg(0)) / kMss;
}

TEST(SackRecovery, OneLossIsRepairedByOneRetransmissionWithoutRto) {
    Harness h(sack_config());
    establish_sack(h);
    ASSERT_EQ(h.conn().send(bytes_of(10 * kMss)), 10 * kMss);
    h.conn().poll(at(0s));
    ASSERT_EQ(h.pending(), 10u);
    h.drain();
    // Segment 2 is lost; the receiver ACKs 0-1, then SACKs 3, 4, 5...
    h.send(at(1ms), ack_with(2));
    h.recv_nothing(at(1ms));
    h.send(at(2ms), ack_with(2, {{3, 4}}));
    h.recv_nothing(at(2ms));
    h.send(at(3ms), ack_with(2, {{3, 5}}));
    h.recv_nothing(at(3ms));
    // Third duplicate (and 3 SMSS SACKed above it: IsLost): fast retransmit.
    h.send(at(4ms), ack_with(2, {{3, 6}}));
    const Captured rtx = h.recv(at(4ms));
    EXPECT_EQ(rtx.repr.seq, sg(2));
    EXPECT_EQ(rtx.payload.size(), kMss);
    EXPECT_TRUE(h.conn().in_recovery());
    // RFC 6675 §5 step 4.2: cwnd = ssthresh = FlightSize / 2 (NewReno).
    EXPECT_EQ(h.conn().cc().ssthresh, 8 * kMss / 2);
    EXPECT_EQ(h.conn().cc().cwnd, h.conn().cc().ssthresh);
    h.recv_nothing(at(4ms));
    // More SACKs reveal no other loss: nothing else is resent.
    for (std::uint32_t last = 7; last <= 10; ++last) {
        h.send(at(4ms + last * 1ms), ack_with(2, {{3, last}}));
        h.recv_nothing(at(4ms + last * 1ms));
    }
    // The retransmission arrives: everything is acknowledged.
    h.send(at(15ms), ack_with(10));
    EXPECT_FALSE(h.conn().in_recovery());
    EXPECT_EQ(h.conn().flight_len(), 0u);
    h.recv_nothing(at(3s));  // no RTO, no probe
    EXPECT_EQ(h.counters().retransmits, 1u);
    EXPECT_EQ(h.counters().fast_retransmits, 1u);
    EXPECT_EQ(h.counters().rto_timeouts, 0u);
    EXPECT_EQ(h.counters().tlp_probes, 0u);
}

TEST(SackRecovery, EveryHoleOfAWindowIsRepairedInOneRecovery) {
    TcpConfig cfg = sack_config();
    cfg.initial_window_segments = 20;
    Harness h(cfg);
    establish_sack(h);
    ASSERT_EQ(h.conn().send(bytes_of(20 * kMss)), 20 * kMss);
    h.conn().poll(at(0s));
    ASSERT_EQ(h.pending(), 20u);
    h.drain();
    // Segments 2, 5, 9 and 14 are lost. The receiver ACKs each arriving
    // segment at once with its SACK blocks (most recent block first).
    const std::set<std::uint32_t> lost = {2, 5, 9, 14};
    std::set<std::uint32_t> have;
    std::multiset<std::uint32_t> resent;
    Duration now = 1ms;
    for (std::uint32_t i = 0; i < 20; ++i) {
        if (lost.contains(i)) continue;
        have.insert(i);
        std::uint32_t ack = 0;
        while (have.contains(ack))
            ++ack;
        TcpRepr a = seg(flags::kAck, kRiss + 1, sg(ack).value());
        // Blocks: the one holding i first, then the others from the top
        // (RFC 2018 §4), at most 4 (no timestamps).
        std::vector<SackBlock> blocks;
        for (std::uint32_t e = 20; e > ack;) {
            if (!have.contains(e - 1)) {
                --e;
                continue;
            }
            std::uint32_t s = e - 1;
            while (s > ack && have.contains(s - 1))
                --s;
            blocks.push_back({sg(s), sg(e)});
            e = s;
        }
        std::stable_partition(blocks.begin(), blocks.end(), [&](const SackBlock& b) {
            return b.left <= sg(i) && sg(i) < b.right;
        });
        a.options.num_sack_blocks =
            static_cast<std::uint8_t>(std::min<std::size_t>(4, blocks.size()));
        for (std::uint8_t k = 0; k < a.options.num_sack_blocks; ++k)
            a.options.sack_blocks[k] = blocks[k];
        h.send(at(now), a);
        h.conn().poll(at(now));
        while (h.pending() > 0) {
            const Captured c = h.recv(at(now));
            resent.insert(seg_index(c));
        }
        now += 100us;  // the whole window's ACKs arrive within one RTT
    }
    // Each hole was resent exactly once, in this one round trip, by one
    // recovery episode.
    EXPECT_EQ(resent, (std::multiset<std::uint32_t>{2, 5, 9, 14}));
    EXPECT_EQ(h.counters().fast_retransmits, 1u);
    EXPECT_EQ(h.counters().rto_timeouts, 0u);
    EXPECT_TRUE(h.conn().in_recovery());
    // The retransmissions arrive: one cumulative ACK ends recovery.
    h.send(at(5ms), ack_with(20));
    EXPECT_FALSE(h.conn().in_recovery());
    EXPECT_EQ(h.conn().flight_len(), 0u);
    h.recv_nothing(at(3s));
    EXPECT_EQ(h.counters().retransmits, 4u);
}

TEST(SackRecovery, RtoResendsTheHolesButNeverSackedData) {
    TcpConfig cfg = sack_config();
    cfg.tail_loss_probe = false;  // let the RTO fire
    Harness h(cfg);
    establish_sack(h);
    ASSERT_EQ(h.conn().send(bytes_of(10 * kMss)), 10 * kMss);
    h.conn().poll(at(0s));
    h.drain();
    // 0 and 3 are lost; one ACK SACKs the rest: recovery resends both...
    h.send(at(1ms), ack_with(0, {{4, 10}, {1, 3}}));
    std::multiset<std::uint32_t> sent;
    while (h.pending() > 0)
        sent.insert(seg_index(h.recv(at(1ms))));
    EXPECT_EQ(sent, (std::multiset<std::uint32_t>{0, 3}));
    // ...and both retransmissions are lost too. The RTO (200 ms: the
    // handshake gave an RTT sample near 0) fires.
    h.recv_nothing(at(150ms));
    const Captured r0 = h.recv(at(250ms));
    EXPECT_EQ(seg_index(r0), 0u);  // cwnd = 1 SMSS: only SND.UNA's segment
    h.recv_nothing(at(250ms));
    EXPECT_EQ(h.counters().rto_timeouts, 1u);
    EXPECT_TRUE(h.conn().in_recovery());
    EXPECT_EQ(h.conn().cc().cwnd, kMss);
    // It arrives: SND.UNA moves to 3 (1-2 were SACKed). Slow start opens
    // cwnd, but the only unSACKed data left is segment 3.
    h.send(at(251ms), ack_with(3, {{4, 10}}));
    EXPECT_EQ(seg_index(h.recv(at(251ms))), 3u);
    h.recv_nothing(at(251ms));
    h.send(at(252ms), ack_with(10));
    EXPECT_FALSE(h.conn().in_recovery());
    EXPECT_EQ(h.conn().flight_len(), 0u);
    h.recv_nothing(at(5s));
    EXPECT_EQ(h.counters().retransmits, 4u);  // 0, 3, then 0, 3 again; never 1-2 or 4-9
}

TEST(SackRecovery, TailLossProbeInsteadOfRto) {
    Harness h(sack_config());
    establish_sack(h);
    ASSERT_EQ(h.conn().send(bytes_of(10 * kMss)), 10 * kMss);
    h.conn().poll(at(0s));
    h.drain();
    // Segments 8 and 9 (the tail) are lost: 0-7 are acknowledged, and no
    // duplicate ACK can follow.
    h.send(at(1ms), ack_with(8));
    h.recv_nothing(at(1ms));
    // RFC 8985 §7: after a PTO (2*SRTT, at least tlp_min = 10 ms), the last
    // segment goes again (there is no new data to send).
    h.recv_nothing(at(10ms));
    const Captured probe = h.recv(at(12ms));
    EXPECT_EQ(seg_index(probe), 9u);
    EXPECT_EQ(h.counters().tlp_probes, 1u);
    // The probe arrives and is SACKed: segment 8, sent long before it,
    // is lost; recovery resends it at once.
    h.send(at(13ms), ack_with(8, {{9, 10}}));
    EXPECT_EQ(seg_index(h.recv(at(13ms))), 8u);
    EXPECT_TRUE(h.conn().in_recovery());
    h.send(at(14ms), ack_with(10));
    EXPECT_FALSE(h.conn().in_recovery());
    h.recv_nothing(at(3s));
    EXPECT_EQ(h.counters().rto_timeouts, 0u);
}

TEST(SackRecovery, PeerWithoutSackKeepsNewReno) {
    Harness h;  // plain_config: no SACK
    h.establish_passive(kIss, kRiss);
    ASSERT_FALSE(h.conn().sack_enabled());
    ASSERT_EQ(h.conn().send(bytes_of(10 * kMss)), 10 * kMss);
    h.conn().poll(at(0s));
    h.drain();
    for (int i = 0; i < 3; ++i)
        h.send(at(1ms), ack_with(2));  // the first advances, then 2 dups
    h.recv_nothing(at(1ms));
    h.send(at(2ms), ack_with(2));  // third duplicate
    EXPECT_EQ(seg_index(h.recv(at(2ms))), 2u);
    // RFC 6582: cwnd = ssthresh + 3 SMSS (inflated), unlike RFC 6675.
    EXPECT_EQ(h.conn().cc().cwnd, h.conn().cc().ssthresh + 3 * kMss);
    EXPECT_EQ(h.conn().scoreboard().num_blocks(), 0u);
    EXPECT_EQ(h.counters().tlp_probes, 0u);
}

// --- the receiver's side ---

TEST(SackReceiver, OutOfOrderSegmentsAreAckedAtOnceMostRecentBlockFirst) {
    TcpConfig cfg = sack_config();
    cfg.delayed_ack = true;  // immediate ACKs must not depend on it
    Harness h(cfg);
    h.conn().set_iss_for_test(kIss);
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    TcpRepr syn = seg(flags::kSyn, kRiss);
    syn.options.sack_permitted = true;
    h.send(at(0s), syn);
    (void)h.recv(at(0s));
    h.send(at(0s), seg(flags::kAck, kRiss + 1, kIss + 1));
    const SeqNum r0(kRiss + 1);
    const auto data = bytes_of(800);
    auto piece = [&](std::uint32_t i) { return ByteSpan(data).subspan(i * 100, 100); };
    auto rseg = [&](std::uint32_t i) { return seg(flags::kAck, (r0 + i * 100).value(), kIss + 1); };
    auto block = [&](std::uint32_t from, std::uint32_t to) {
        return SackBlock{r0 + from * 100, r0 + to * 100};
    };
    // Pieces 5, 3, 7 arrive (0-2, 4, 6 missing): each is ACKed at once,
    // its block first, then the earlier ones most recent first.
    h.send(at(1ms), rseg(5), piece(5));
    Captured a = h.recv(at(1ms));
    EXPECT_EQ(a.repr.ack, r0);
    ASSERT_EQ(a.repr.options.num_sack_blocks, 1);
    EXPECT_EQ(a.repr.options.sack_blocks[0], block(5, 6));
    h.send(at(2ms), rseg(3), piece(3));
    a = h.recv(at(2ms));
    ASSERT_EQ(a.repr.options.num_sack_blocks, 2);
    EXPECT_EQ(a.repr.options.sack_blocks[0], block(3, 4));
    EXPECT_EQ(a.repr.options.sack_blocks[1], block(5, 6));
    h.send(at(3ms), rseg(7), piece(7));
    a = h.recv(at(3ms));
    ASSERT_EQ(a.repr.options.num_sack_blocks, 3);
    EXPECT_EQ(a.repr.options.sack_blocks[0], block(7, 8));
    EXPECT_EQ(a.repr.options.sack_blocks[1], block(3, 4));
    EXPECT_EQ(a.repr.options.sack_blocks[2], block(5, 6));
    // Piece 4 joins 3 and 5 into one block.
    h.send(at(4ms), rseg(4), piece(4));
    a = h.recv(at(4ms));
    ASSERT_EQ(a.repr.options.num_sack_blocks, 2);
    EXPECT_EQ(a.repr.options.sack_blocks[0], block(3, 6));
    EXPECT_EQ(a.repr.options.sack_blocks[1], block(7, 8));
    // Filling the first hole partly (0-1): still ACKed at once, with the
    // new RCV.NXT.
    h.send(at(5ms), rseg(0), ByteSpan(data).first(200));
    a = h.recv(at(5ms));
    EXPECT_EQ(a.repr.ack, r0 + 200);
    // Filling it up to piece 6's hole: immediate ACK up to 600.
    h.send(at(6ms), rseg(2), piece(2));
    a = h.recv(at(6ms));
    EXPECT_EQ(a.repr.ack, r0 + 600);
    ASSERT_EQ(a.repr.options.num_sack_blocks, 1);
    EXPECT_EQ(a.repr.options.sack_blocks[0], block(7, 8));
    h.send(at(7ms), rseg(6), piece(6));
    a = h.recv(at(7ms));
    EXPECT_EQ(a.repr.ack, r0 + 800);
    EXPECT_EQ(a.repr.options.num_sack_blocks, 0);
    std::vector<std::uint8_t> out(800);
    EXPECT_EQ(h.conn().recv(out), 800u);
    EXPECT_EQ(out, data);
}

TEST(SackReceiver, HoldsAWindowOfOutOfOrderSegments) {
    // 256 KiB receive buffer, 1460-byte segments: with the first segment
    // lost, the ~178 behind it must all be kept, not dropped.
    TcpConfig cfg;  // defaults: SACK, timestamps, window scaling
    cfg.delayed_ack = false;
    Harness h(cfg);
    h.conn().set_iss_for_test(kIss);
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    TcpRepr syn = seg(flags::kSyn, kRiss);
    syn.options.mss = kMss;
    syn.options.sack_permitted = true;
    syn.options.window_scale = 7;
    h.send(at(0s), syn);
    (void)h.recv(at(0s));
    h.send(at(0s), seg(flags::kAck, kRiss + 1, kIss + 1));
    const std::uint32_t n = cfg.rcv_buf_len / kMss - 1;
    const auto payload = bytes_of(kMss);
    for (std::uint32_t i = 1; i <= n; ++i)
        h.send(at(1ms), seg(flags::kAck, kRiss + 1 + i * kMss, kIss + 1), payload);
    EXPECT_EQ(h.conn().ooo_entries(), n);
    EXPECT_EQ(h.counters().ooo_dropped, 0u);
    h.drain();
    h.send(at(2ms), seg(flags::kAck, kRiss + 1, kIss + 1), payload);
    EXPECT_EQ(h.conn().rcv_nxt(), SeqNum(kRiss + 1 + (n + 1) * kMss));
    EXPECT_EQ(h.conn().ooo_entries(), 0u);
}

}  // namespace
}  // namespace l45::tcp
