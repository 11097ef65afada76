// The TIME-WAIT table (stack/tcp/time_wait.h) under a fake clock: a stack
// closes actively against a scripted peer, then the tests send it what may
// arrive in TIME-WAIT (RFC 9293 §3.10.7.4, RFC 6191, RFC 5961) and check
// what comes back, the counters, and when the entry goes.
#include <gtest/gtest.h>

#include <algorithm>

#include "stack/tcp/stack.h"
#include "tests/tcp/stack_harness.h"

namespace l45::tcp {
namespace {

using namespace std::chrono_literals;
using test::Captured;
using test::kPeerIp;
using test::kStackIp;
using test::kT0;
using test::peer_seg;
using test::Solo;

constexpr std::uint32_t kPeerIss = 5000;

struct TimeWait {
    ConnId id;
    FourTuple tuple;               // as the stack sees it
    std::uint32_t snd_nxt = 0;     // the stack's, after its FIN
    std::uint32_t rcv_nxt = 0;     // after the peer's FIN
    std::uint32_t peer_tsval = 0;  // the last TSval the peer sent
    std::uint32_t our_tsval = 0;   // the last TSval the stack sent

    // A segment from the peer on this tuple.
    [[nodiscard]] TcpRepr seg(std::uint8_t fl, std::uint32_t seq, std::uint32_t ack) const {
        return peer_seg(tuple.remote.port, tuple.local.port, fl, seq, ack);
    }
};

// The stack opens to kPeerIp:peer_port and closes first; the peer ACKs the
// FIN and sends its own in one segment, so the stack enters TIME-WAIT at
// `now`. With `ts` the peer agrees to timestamps.
TimeWait into_time_wait(Solo& so, Instant now, std::uint16_t peer_port, bool ts) {
    TimeWait tw;
    auto id = so.stack.connect(now, kPeerIp, peer_port);
    EXPECT_TRUE(id.has_value());
    if (!id) return tw;
    tw.id = *id;
    const Captured syn = so.take();
    EXPECT_EQ(syn.repr.flags, flags::kSyn);
    EXPECT_TRUE(syn.repr.options.timestamps.has_value());
    const std::uint16_t lport = syn.repr.src_port;
    const std::uint32_t iss = syn.repr.seq.value();
    std::uint32_t tsval = 100;
    TcpRepr sa = peer_seg(peer_port, lport, flags::kSyn | flags::kAck, kPeerIss, iss + 1);
    sa.options.mss = 1460;
    if (ts) sa.options.timestamps = Timestamps{tsval, syn.repr.options.timestamps->tsval};
    so.inject(now, sa);
    EXPECT_EQ(so.take().repr.flags, flags::kAck);
    so.stack.close(*id);
    so.stack.poll(now);
    const Captured fin = so.take();
    EXPECT_EQ(fin.repr.flags, flags::kFin | flags::kAck);
    TcpRepr finack = peer_seg(peer_port, lport, flags::kFin | flags::kAck, kPeerIss + 1, iss + 2);
    if (ts) finack.options.timestamps = Timestamps{++tsval, fin.repr.options.timestamps->tsval};
    so.inject(now, finack);
    const Captured last = so.take();
    EXPECT_EQ(last.repr.flags, flags::kAck);
    EXPECT_EQ(last.repr.ack, SeqNum(kPeerIss + 2));
    EXPECT_EQ(ts, last.repr.options.timestamps.has_value());
    tw.tuple = FourTuple{{kStackIp, lport}, {kPeerIp, peer_port}};
    tw.snd_nxt = iss + 2;
    tw.rcv_nxt = kPeerIss + 2;
    tw.peer_tsval = tsval;
    if (last.repr.options.timestamps) tw.our_tsval = last.repr.options.timestamps->tsval;
    return tw;
}

TEST(TimeWait, ActiveCloseGivesTheSlotBackAtOnce) {
    Solo so;
    const TimeWait tw = into_time_wait(so, kT0, 80, true);
    // The application heard the close as before: once, normal.
    EXPECT_EQ(so.handler.closes, 1);
    EXPECT_EQ(so.handler.reason, CloseReason::kNormal);
    EXPECT_EQ(so.handler.closed_id, tw.id);
    // The slot is free and the handle dead; the tuple lives in the table.
    EXPECT_EQ(so.stack.find(tw.id), nullptr);
    EXPECT_EQ(so.stack.num_connections(), 0u);
    EXPECT_EQ(so.stack.counters().time_wait_entries, 1u);
    EXPECT_TRUE(so.stack.in_use(tw.tuple));
    EXPECT_EQ(so.stack.poll_at(), kNever);  // nothing to send when it ends
}

// The stack half-closed and the peer's last data arrives with its FIN: the
// bytes before the FIN are the application's, so on_closed and the hand-off
// to the table wait until it has read them (a proxy relaying a response
// tail it cannot forward yet must not lose it).
TEST(TimeWait, UnreadDataDefersTheCloseUntilRead) {
    Solo so;
    auto id = so.stack.connect(kT0, kPeerIp, 80);
    ASSERT_TRUE(id.has_value());
    const Captured syn = so.take();
    const std::uint16_t lport = syn.repr.src_port;
    const std::uint32_t iss = syn.repr.seq.value();
    TcpRepr sa = peer_seg(80, lport, flags::kSyn | flags::kAck, kPeerIss, iss + 1);
    sa.options.mss = 1460;
    so.inject(kT0, sa);
    EXPECT_EQ(so.take().repr.flags, flags::kAck);
    so.stack.shutdown(*id);
    so.stack.poll(kT0);
    EXPECT_EQ(so.take().repr.flags, flags::kFin | flags::kAck);

    std::uint8_t tail[100];
    for (std::size_t i = 0; i < sizeof tail; ++i)
        tail[i] = static_cast<std::uint8_t>(i * 7);
    so.inject(kT0,
              peer_seg(80, lport, flags::kFin | flags::kAck | flags::kPsh, kPeerIss + 1, iss + 2),
              tail);
    so.stack.poll(kT0);
    EXPECT_EQ(so.handler.closes, 0);
    ASSERT_NE(so.stack.find(*id), nullptr);
    EXPECT_EQ(so.stack.find(*id)->state(), State::kTimeWait);
    EXPECT_EQ(so.stack.counters().time_wait_entries, 0u);

    std::uint8_t got[sizeof tail + 1];
    EXPECT_EQ(so.stack.recv(*id, std::span(got, 40)), 40u);
    so.stack.poll(kT0);
    EXPECT_EQ(so.handler.closes, 0);  // 60 bytes still unread
    EXPECT_EQ(so.stack.recv(*id, std::span(got + 40, sizeof got - 40)), 60u);
    EXPECT_TRUE(std::equal(tail, tail + sizeof tail, got));
    so.stack.poll(kT0);
    EXPECT_EQ(so.handler.closes, 1);
    EXPECT_EQ(so.handler.reason, CloseReason::kNormal);
    EXPECT_EQ(so.stack.find(*id), nullptr);
    EXPECT_EQ(so.stack.counters().time_wait_entries, 1u);
}

TEST(TimeWait, TenTimesMoreSequentialConnectionsThanSlots) {
    // 4 slots, 40 connections one after the other, all within far less
    // than 2*MSL: each client connection leaves a TIME-WAIT entry, none
    // keeps a slot.
    constexpr int kSlots = 4, kConns = 40;
    test::Link link;
    test::BulkApp client, server;
    client.to_send = 100;
    client.shut_when_sent = true;
    client.seed = 3;
    server.peer_seed = 3;
    SeededRandom ra(1), rb(2);
    TcpStackConfig ca = test::small_stack_config(kStackIp), cb = test::small_stack_config(kPeerIp);
    ca.max_connections = cb.max_connections = kSlots;
    TcpStack a(ca, link, l45::test::pktmbuf_pool(), ra, client);
    TcpStack b(cb, link, l45::test::pktmbuf_pool(), rb, server);
    client.stack = &a;
    server.stack = &b;
    ASSERT_TRUE(b.listen(80, 4));
    Instant now = kT0;
    for (int i = 0; i < kConns; ++i) {
        ASSERT_TRUE(a.connect(now, kPeerIp, 80).has_value()) << "connection " << i;
        test::run_link(
            link, a, b, now, [&] { return client.closes == i + 1; }, 10s);
        ASSERT_EQ(client.closes, i + 1) << "connection " << i;
        EXPECT_EQ(server.received, 100u);
    }
    EXPECT_LT(now - kT0, 2 * ca.tcp.msl);
    EXPECT_EQ(client.connects, kConns);
    EXPECT_EQ(server.accepts, kConns);
    EXPECT_EQ(client.abnormal + server.abnormal, 0);
    EXPECT_FALSE(server.mismatch);
    EXPECT_EQ(a.counters().table_full + b.counters().table_full, 0u);
    EXPECT_EQ(a.counters().time_wait_entries, static_cast<std::uint64_t>(kConns));
    EXPECT_EQ(b.counters().time_wait_entries, 0u);  // the passive side never waits
    // Let the server's LAST-ACK see the final ACK.
    test::run_link(
        link, a, b, now, [&] { return b.num_connections() == 0; }, 10s);
    EXPECT_EQ(a.num_connections() + b.num_connections(), 0u);
}

TEST(TimeWait, LastsExactlyTwoMsl) {
    Solo so;
    const TimeWait tw = into_time_wait(so, kT0, 80, true);
    const Duration two_msl = 2 * so.stack.config().tcp.msl;
    so.stack.poll(kT0 + two_msl - 1ns);
    EXPECT_EQ(so.stack.counters().time_wait_entries, 1u);
    EXPECT_TRUE(so.stack.in_use(tw.tuple));
    EXPECT_TRUE(so.quiet());
    so.stack.poll(kT0 + two_msl);
    EXPECT_EQ(so.stack.counters().time_wait_entries, 0u);
    EXPECT_EQ(so.stack.counters().time_wait_expired, 1u);
    EXPECT_FALSE(so.stack.in_use(tw.tuple));
    EXPECT_TRUE(so.quiet());
    // After it, the tuple is unknown: a stray ACK draws a reset.
    TcpRepr ack = tw.seg(flags::kAck, tw.rcv_nxt, tw.snd_nxt);
    ack.options.timestamps = Timestamps{tw.peer_tsval, tw.our_tsval};
    so.inject(kT0 + two_msl, ack);
    EXPECT_EQ(so.take().repr.flags, flags::kRst);
    EXPECT_EQ(so.stack.counters().no_connection, 1u);
}

TEST(TimeWait, RetransmittedFinIsAckedAndRestartsTheTimer) {
    Solo so;
    const TimeWait tw = into_time_wait(so, kT0, 80, true);
    // RFC 9293 §3.10.7.4: the peer did not get our ACK and sends its FIN again.
    TcpRepr fin = tw.seg(flags::kFin | flags::kAck, tw.rcv_nxt - 1, tw.snd_nxt);
    fin.options.timestamps = Timestamps{tw.peer_tsval + 7, tw.our_tsval};
    so.inject(kT0 + 10s, fin);
    const Captured ack = so.take();
    EXPECT_EQ(ack.repr.flags, flags::kAck);
    EXPECT_EQ(ack.repr.seq, SeqNum(tw.snd_nxt));
    EXPECT_EQ(ack.repr.ack, SeqNum(tw.rcv_nxt));
    ASSERT_TRUE(ack.repr.options.timestamps.has_value());
    EXPECT_EQ(ack.repr.options.timestamps->tsecr, tw.peer_tsval + 7);
    // Our clock went on: 10 s later, 10000 ticks more.
    EXPECT_EQ(ack.repr.options.timestamps->tsval - tw.our_tsval, 10000u);
    EXPECT_TRUE(so.quiet());
    EXPECT_EQ(so.stack.counters().time_wait_fin_acks, 1u);
    // 2*MSL now counts from the retransmission.
    so.stack.poll(kT0 + 60s);
    EXPECT_TRUE(so.stack.in_use(tw.tuple));
    so.stack.poll(kT0 + 70s - 1ms);
    EXPECT_TRUE(so.stack.in_use(tw.tuple));
    so.stack.poll(kT0 + 70s);
    EXPECT_FALSE(so.stack.in_use(tw.tuple));
    EXPECT_EQ(so.stack.counters().time_wait_expired, 1u);
}

TEST(TimeWait, SynAboveRcvNxtReopensWithoutTimestamps) {
    Solo so;
    const TimeWait tw = into_time_wait(so, kT0, 80, false);
    const std::uint16_t port = tw.tuple.local.port;
    // Nobody listens on the port yet: no reopening, a challenge ACK.
    so.inject(kT0 + 1s, tw.seg(flags::kSyn, tw.rcv_nxt + 100000, 0));
    EXPECT_EQ(so.take().repr.flags, flags::kAck);
    ASSERT_TRUE(so.stack.listen(port, 4));
    // An old-looking SYN (below RCV.NXT) does not reopen it either
    // (RFC 6191 §2 without timestamps): RFC 5961 §4.2 challenge ACK.
    so.inject(kT0 + 2s, tw.seg(flags::kSyn, tw.rcv_nxt - 10, 0));
    const Captured challenge = so.take();
    EXPECT_EQ(challenge.repr.flags, flags::kAck);
    EXPECT_EQ(challenge.repr.ack, SeqNum(tw.rcv_nxt));
    EXPECT_EQ(so.stack.counters().time_wait_entries, 1u);
    EXPECT_EQ(so.stack.num_connections(), 0u);
    // A SYN above RCV.NXT does: the entry goes, the listener answers.
    so.inject(kT0 + 3s, tw.seg(flags::kSyn, tw.rcv_nxt + 100000, 0));
    const Captured sa = so.take();
    EXPECT_EQ(sa.repr.flags, flags::kSyn | flags::kAck);
    EXPECT_EQ(sa.repr.ack, SeqNum(tw.rcv_nxt + 100001));
    EXPECT_EQ(so.stack.counters().time_wait_entries, 0u);
    EXPECT_EQ(so.stack.counters().time_wait_reopened, 1u);
    EXPECT_EQ(so.stack.num_connections(), 1u);
}

TEST(TimeWait, SynWithNewerTimestampReopensOlderDoesNot) {
    // RFC 6191 §2: with timestamps on both incarnations the TSval decides,
    // not the sequence number.
    {
        Solo so;
        const TimeWait tw = into_time_wait(so, kT0, 80, true);
        ASSERT_TRUE(so.stack.listen(tw.tuple.local.port, 4));
        TcpRepr syn = tw.seg(flags::kSyn, tw.rcv_nxt - 1000, 0);  // below RCV.NXT
        syn.options.timestamps = Timestamps{tw.peer_tsval + 1, 0};
        so.inject(kT0 + 1s, syn);
        EXPECT_EQ(so.take().repr.flags, flags::kSyn | flags::kAck);
        EXPECT_EQ(so.stack.counters().time_wait_reopened, 1u);
    }
    {
        Solo so;
        const TimeWait tw = into_time_wait(so, kT0, 80, true);
        ASSERT_TRUE(so.stack.listen(tw.tuple.local.port, 4));
        TcpRepr syn = tw.seg(flags::kSyn, tw.rcv_nxt + 100000, 0);  // above RCV.NXT
        syn.options.timestamps = Timestamps{tw.peer_tsval - 1, 0};
        so.inject(kT0 + 1s, syn);
        EXPECT_EQ(so.take().repr.flags, flags::kAck);  // challenge ACK
        EXPECT_EQ(so.stack.counters().time_wait_reopened, 0u);
        EXPECT_EQ(so.stack.counters().time_wait_entries, 1u);
    }
}

TEST(TimeWait, OnlyAnExactFreshRstRemovesTheEntry) {
    Solo so;
    const TimeWait tw = into_time_wait(so, kT0, 80, true);
    const auto rst = [&](std::uint32_t seq, std::uint32_t tsval) {
        TcpRepr r = tw.seg(flags::kRst, seq, 0);
        r.options.timestamps = Timestamps{tsval, 0};
        return r;
    };
    so.inject(kT0 + 1s, rst(tw.rcv_nxt + 1, tw.peer_tsval + 1));  // not RCV.NXT
    so.inject(kT0 + 1s, rst(tw.rcv_nxt, tw.peer_tsval - 1));      // an old one (PAWS)
    EXPECT_TRUE(so.quiet());
    EXPECT_EQ(so.stack.counters().time_wait_entries, 1u);
    EXPECT_EQ(so.stack.counters().time_wait_dropped, 2u);
    so.inject(kT0 + 1s, rst(tw.rcv_nxt, tw.peer_tsval + 1));
    EXPECT_TRUE(so.quiet());
    EXPECT_EQ(so.stack.counters().time_wait_entries, 0u);
    EXPECT_EQ(so.stack.counters().time_wait_resets, 1u);
    EXPECT_FALSE(so.stack.in_use(tw.tuple));
}

TEST(TimeWait, StraySegmentsGetAnAckDuplicateAcksDoNot) {
    Solo so;
    const TimeWait tw = into_time_wait(so, kT0, 80, true);
    // A duplicate of the peer's last ACK: silence (no ACK loop with a peer
    // in TIME-WAIT too).
    TcpRepr dup = tw.seg(flags::kAck, tw.rcv_nxt, tw.snd_nxt);
    dup.options.timestamps = Timestamps{tw.peer_tsval, tw.our_tsval};
    so.inject(kT0 + 1s, dup);
    EXPECT_TRUE(so.quiet());
    EXPECT_EQ(so.stack.counters().time_wait_dropped, 1u);
    // An old data segment: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    TcpRepr old = tw.seg(flags::kAck | flags::kPsh, tw.rcv_nxt - 6, tw.snd_nxt);
    old.options.timestamps = Timestamps{tw.peer_tsval, tw.our_tsval};
    so.inject(kT0 + 2s, old, test::bytes_of(5));
    Captured ack = so.take();
    EXPECT_EQ(ack.repr.flags, flags::kAck);
    EXPECT_EQ(ack.repr.seq, SeqNum(tw.snd_nxt));
    EXPECT_EQ(ack.repr.ack, SeqNum(tw.rcv_nxt));
    EXPECT_EQ(so.stack.counters().time_wait_acks, 1u);
    // PAWS (RFC 7323 §5.3): an older TSval, even at RCV.NXT, is ACKed and dropped.
    TcpRepr stale = dup;
    stale.options.timestamps->tsval = tw.peer_tsval - 5;
    so.inject(kT0 + 3s, stale);
    EXPECT_EQ(so.take().repr.flags, flags::kAck);
    EXPECT_EQ(so.stack.counters().paws_rejected, 1u);
    EXPECT_EQ(so.stack.counters().time_wait_acks, 2u);
    // None of it restarted the 2*MSL timer.
    so.stack.poll(kT0 + 60s);
    EXPECT_FALSE(so.stack.in_use(tw.tuple));
}

TEST(TimeWait, FullTableEvictsTheOldest) {
    TcpStackConfig cfg = test::small_stack_config(kStackIp);
    cfg.max_time_wait = 2;
    Solo so(cfg);
    const TimeWait first = into_time_wait(so, kT0, 81, false);
    const TimeWait second = into_time_wait(so, kT0 + 1s, 82, false);
    EXPECT_EQ(so.stack.counters().time_wait_evicted, 0u);
    const TimeWait third = into_time_wait(so, kT0 + 2s, 83, false);
    EXPECT_EQ(so.stack.counters().time_wait_evicted, 1u);
    EXPECT_EQ(so.stack.counters().time_wait_entries, 2u);
    EXPECT_FALSE(so.stack.in_use(first.tuple));
    EXPECT_TRUE(so.stack.in_use(second.tuple));
    EXPECT_TRUE(so.stack.in_use(third.tuple));
    // The evicted tuple is unknown now: its retransmitted FIN draws a reset.
    so.inject(kT0 + 3s, first.seg(flags::kFin | flags::kAck, first.rcv_nxt - 1, first.snd_nxt));
    EXPECT_EQ(so.take().repr.flags, flags::kRst);
    // The others still expire in order, each 2*MSL after it began.
    so.stack.poll(kT0 + 61s);
    EXPECT_FALSE(so.stack.in_use(second.tuple));
    EXPECT_TRUE(so.stack.in_use(third.tuple));
    so.stack.poll(kT0 + 62s);
    EXPECT_FALSE(so.stack.in_use(third.tuple));
}

// Always offers one port, so the test can aim at a tuple in TIME-WAIT.
class FixedPort final : public PortChooser {
  public:
    explicit FixedPort(std::uint16_t port) : port_(port) {}
    bool choose(const TcpStack&, const FourTuple&, std::uint16_t& out_port) override {
        out_port = port_;
        return true;
    }

  private:
    std::uint16_t port_;
};

TEST(TimeWait, ActiveOpenDoesNotReuseATupleInTimeWait) {
    Solo so;
    const TimeWait tw = into_time_wait(so, kT0, 80, true);
    // The default chooser moves to another port.
    auto other = so.stack.connect(kT0 + 1s, kPeerIp, 80);
    ASSERT_TRUE(other.has_value());
    EXPECT_NE(so.stack.find(*other)->tuple().local.port, tw.tuple.local.port);
    so.stack.abort(*other);
    so.stack.poll(kT0 + 1s);
    so.sink.segments.clear();
    // Forced onto the same tuple, the open fails until 2*MSL is over.
    FixedPort fixed(tw.tuple.local.port);
    so.stack.set_port_chooser(&fixed);
    auto again = so.stack.connect(kT0 + 59s, kPeerIp, 80);
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error(), TcpError::kPortInUse);
    auto later = so.stack.connect(kT0 + 60s, kPeerIp, 80);
    ASSERT_TRUE(later.has_value());
    EXPECT_EQ(so.take().repr.flags, flags::kSyn);
}

}  // namespace
}  // namespace l45::tcp
