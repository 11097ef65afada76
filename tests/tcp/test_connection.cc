// The connection state machine under a fake clock: every transition of
// RFC 9293 §3.3.2, the timers of §3.10.8, RFC 5961, RFC 7323, RFC 5681/6582.
#include <gtest/gtest.h>

#include "tests/tcp/harness.h"

namespace l45::tcp {
namespace {

using namespace test;

const Instant T0 = Harness::t(0s);
Instant at(Duration d) {
    return Harness::t(d);
}

TcpConfig full_config() {
    TcpConfig c;  // window scaling, SACK, timestamps on; 256 KiB buffers
    c.delayed_ack = false;
    return c;
}

// --- opening (RFC 9293 §3.10.1, §3.10.7.2-3) ---

TEST(TcpOpen, PassiveOpenHandshake) {
    Harness h;
    h.conn().set_iss_for_test(1000);
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    EXPECT_EQ(h.conn().state(), State::kListen);
    TcpRepr syn = seg(flags::kSyn, 5000);
    syn.options.mss = 1400;
    h.send(T0, syn);
    Captured sa = h.recv(T0);
    EXPECT_EQ(sa.repr.flags, flags::kSyn | flags::kAck);
    EXPECT_EQ(sa.repr.seq, SeqNum(1000));
    EXPECT_EQ(sa.repr.ack, SeqNum(5001));
    EXPECT_EQ(sa.repr.options.mss, 1460);
    EXPECT_FALSE(sa.repr.options.window_scale);
    EXPECT_FALSE(sa.repr.options.sack_permitted);
    EXPECT_FALSE(sa.repr.options.timestamps);
    EXPECT_EQ(sa.repr.window, 65535);
    EXPECT_EQ(sa.repr.src_port, kLocalPort);
    EXPECT_EQ(sa.repr.dst_port, kRemotePort);
    EXPECT_EQ(h.conn().state(), State::kSynReceived);
    h.send(T0, seg(flags::kAck, 5001, 1001));
    EXPECT_EQ(h.conn().state(), State::kEstablished);
    EXPECT_TRUE(h.conn().take_events() & event::kConnected);
    EXPECT_EQ(h.conn().snd_mss(), 1400);
    EXPECT_TRUE(h.conn().passive());
    h.recv_nothing(T0);
}

TEST(TcpOpen, ActiveOpenHandshake) {
    Harness h;
    h.conn().set_iss_for_test(1000);
    h.conn().connect(T0, FourTuple{{kLocalIp, kLocalPort}, {kRemoteIp, kRemotePort}});
    EXPECT_EQ(h.conn().state(), State::kSynSent);
    Captured syn = h.recv(T0);
    EXPECT_EQ(syn.repr.flags, flags::kSyn);
    EXPECT_EQ(syn.repr.seq, SeqNum(1000));
    EXPECT_EQ(syn.repr.options.mss, 1460);
    TcpRepr sa = seg(flags::kSyn | flags::kAck, 5000, 1001);
    sa.options.mss = 1200;
    h.send(T0, sa);
    Captured ack = h.recv(T0);
    EXPECT_EQ(ack.repr.flags, flags::kAck);
    EXPECT_EQ(ack.repr.seq, SeqNum(1001));
    EXPECT_EQ(ack.repr.ack, SeqNum(5001));
    EXPECT_EQ(h.conn().state(), State::kEstablished);
    EXPECT_EQ(h.conn().take_events(), event::kConnected | event::kWritable);
    EXPECT_EQ(h.conn().snd_mss(), 1200);
    EXPECT_FALSE(h.conn().passive());
}

TEST(TcpOpen, IsnComesFromTheKeyedGenerator) {
    Harness h1, h2;
    const FourTuple tuple{{kLocalIp, kLocalPort}, {kRemoteIp, kRemotePort}};
    h1.conn().connect(T0, tuple);
    h2.conn().connect(T0 + 400us, tuple);
    // Same key (same seed), 100 ticks of 4 µs later.
    EXPECT_EQ(h2.conn().iss().value() - h1.conn().iss().value(), 100u);
}

TEST(TcpOpen, ListenIgnoresRstAnswersAckWithRst) {
    Harness h;
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    h.send(T0, seg(flags::kRst, 5000));
    h.recv_nothing(T0);
    h.send(T0, seg(flags::kAck, 5000, 777));
    Captured rst = h.recv(T0);
    EXPECT_EQ(rst.repr.flags, flags::kRst);  // <SEQ=SEG.ACK><CTL=RST>
    EXPECT_EQ(rst.repr.seq, SeqNum(777));
    h.send(T0, seg(flags::kPsh, 5000), bytes_of(10));  // neither SYN nor ACK: dropped
    h.recv_nothing(T0);
    EXPECT_EQ(h.conn().state(), State::kListen);
}

TEST(TcpOpen, SynSentUnacceptableAckGetsRst) {
    Harness h;
    h.conn().set_iss_for_test(1000);
    h.conn().connect(T0, FourTuple{{kLocalIp, kLocalPort}, {kRemoteIp, kRemotePort}});
    (void)h.recv(T0);
    h.send(T0, seg(flags::kSyn | flags::kAck, 5000, 1000));  // SEG.ACK =< ISS
    Captured rst = h.recv(T0);
    EXPECT_EQ(rst.repr.flags, flags::kRst);
    EXPECT_EQ(rst.repr.seq, SeqNum(1000));
    h.send(T0, seg(flags::kAck, 5000, 1005));  // SEG.ACK > SND.NXT
    EXPECT_EQ(h.recv(T0).repr.seq, SeqNum(1005));
    h.send(T0, seg(flags::kRst | flags::kAck, 5000, 1005));  // bad ACK on a RST: nothing
    h.recv_nothing(T0);
    EXPECT_EQ(h.conn().state(), State::kSynSent);
}

TEST(TcpOpen, SynSentRstRules) {
    Harness h;
    h.conn().set_iss_for_test(1000);
    h.conn().connect(T0, FourTuple{{kLocalIp, kLocalPort}, {kRemoteIp, kRemotePort}});
    (void)h.recv(T0);
    h.send(T0, seg(flags::kRst, 0));  // no ACK: ignored
    EXPECT_EQ(h.conn().state(), State::kSynSent);
    h.send(T0, seg(flags::kRst | flags::kAck, 0, 1001));
    EXPECT_EQ(h.conn().state(), State::kClosed);
    EXPECT_EQ(h.conn().close_reason(), CloseReason::kRefused);
    EXPECT_TRUE(h.conn().take_events() & event::kClosed);
    h.recv_nothing(T0);
}

TEST(TcpOpen, SimultaneousOpen) {
    Harness h;
    h.conn().set_iss_for_test(100);
    h.conn().connect(T0, FourTuple{{kLocalIp, kLocalPort}, {kRemoteIp, kRemotePort}});
    (void)h.recv(T0);
    // RFC 9293 figure 8: both sides send SYN.
    h.send(T0, seg(flags::kSyn, 300));
    Captured sa = h.recv(T0);
    EXPECT_EQ(sa.repr.flags, flags::kSyn | flags::kAck);
    EXPECT_EQ(sa.repr.seq, SeqNum(100));
    EXPECT_EQ(sa.repr.ack, SeqNum(301));
    EXPECT_EQ(h.conn().state(), State::kSynReceived);
    h.send(T0, seg(flags::kSyn | flags::kAck, 300, 101));
    EXPECT_EQ(h.conn().state(), State::kEstablished);
    EXPECT_FALSE(h.conn().passive());
}

TEST(TcpOpen, SynReceivedBadAckGetsRstDuplicateSynGetsSynAck) {
    Harness h;
    h.conn().set_iss_for_test(1000);
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    h.send(T0, seg(flags::kSyn, 5000));
    (void)h.recv(T0);
    h.send(T0, seg(flags::kAck, 5001, 999));
    Captured rst = h.recv(T0);
    EXPECT_EQ(rst.repr.flags, flags::kRst);
    EXPECT_EQ(rst.repr.seq, SeqNum(999));
    EXPECT_EQ(h.conn().state(), State::kSynReceived);
    h.send(at(10ms), seg(flags::kSyn, 5000));  // our SYN-ACK was lost
    Captured sa = h.recv(at(10ms));
    EXPECT_EQ(sa.repr.flags, flags::kSyn | flags::kAck);
    EXPECT_EQ(sa.repr.seq, SeqNum(1000));
    h.send(at(10ms), seg(flags::kRst, 5001));
    EXPECT_EQ(h.conn().state(), State::kClosed);
    EXPECT_EQ(h.conn().close_reason(), CloseReason::kReset);
}

TEST(TcpOpen, SynAckRetransmittedOnTimeout) {
    Harness h;
    h.conn().set_iss_for_test(1000);
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    h.send(T0, seg(flags::kSyn, 5000));
    (void)h.recv(T0);
    h.recv_nothing(at(999ms));
    Captured sa = h.recv(at(1s));
    EXPECT_EQ(sa.repr.flags, flags::kSyn | flags::kAck);
    EXPECT_EQ(sa.repr.seq, SeqNum(1000));
}

TEST(TcpOpen, SynRetransmitBackoffThenGiveUp) {
    TcpConfig cfg = plain_config();
    cfg.max_syn_retransmissions = 2;
    Harness h(cfg);
    h.conn().connect(T0, FourTuple{{kLocalIp, kLocalPort}, {kRemoteIp, kRemotePort}});
    const SeqNum iss = h.recv(T0).repr.seq;
    h.recv_nothing(at(999ms));
    EXPECT_EQ(h.recv(at(1s)).repr.seq, iss);  // RTO 1 s (RFC 6298 §2.1)
    h.recv_nothing(at(2999ms));
    EXPECT_EQ(h.recv(at(3s)).repr.flags, flags::kSyn);  // backed off to 2 s
    h.recv_nothing(at(6999ms));
    EXPECT_EQ(h.conn().state(), State::kSynSent);
    h.recv_nothing(at(7s));  // third timeout: give up, no RST before sync
    EXPECT_EQ(h.conn().state(), State::kClosed);
    EXPECT_EQ(h.conn().close_reason(), CloseReason::kTimeout);
}

// --- options (RFC 9293 §3.7.1, RFC 7323, RFC 2018) ---

TEST(TcpOptions, NegotiatesAllOptions) {
    Harness h(full_config());
    h.conn().set_iss_for_test(1000);
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    TcpRepr syn = seg(flags::kSyn, 5000);
    syn.options.mss = 1400;
    syn.options.window_scale = 7;
    syn.options.sack_permitted = true;
    syn.options.timestamps = Timestamps{100, 0};
    h.send(T0, syn);
    Captured sa = h.recv(T0);
    EXPECT_EQ(sa.repr.options.mss, 1460);
    EXPECT_EQ(sa.repr.options.window_scale, 3);  // 256 KiB >> 3 fits 16 bits
    EXPECT_TRUE(sa.repr.options.sack_permitted);
    ASSERT_TRUE(sa.repr.options.timestamps);
    EXPECT_EQ(sa.repr.options.timestamps->tsecr, 100u);
    EXPECT_EQ(sa.repr.window, 65535);  // RFC 7323 §2.2: a SYN's window is unscaled
    TcpRepr ack = seg(flags::kAck, 5001, 1001, 100);
    ack.options.timestamps = Timestamps{101, sa.repr.options.timestamps->tsval};
    h.send(T0, ack);
    ASSERT_EQ(h.conn().state(), State::kEstablished);
    EXPECT_TRUE(h.conn().timestamps_enabled());
    EXPECT_TRUE(h.conn().sack_enabled());
    EXPECT_EQ(h.conn().snd_wscale(), 7);
    EXPECT_EQ(h.conn().rcv_wscale(), 3);
    EXPECT_EQ(h.conn().snd_wnd(), 100u << 7);
    // Data segments carry timestamps and a scaled window; the MSS leaves
    // room for the 12 option bytes (RFC 7323 §3.2 / RFC 9293 §3.7.1).
    ASSERT_EQ(h.conn().send(bytes_of(3000)), 3000u);
    Captured d = h.recv(T0);
    ASSERT_TRUE(d.repr.options.timestamps);
    EXPECT_EQ(d.repr.options.timestamps->tsecr, 101u);
    EXPECT_EQ(d.payload.size(), 1400u - 12u);
    EXPECT_EQ(d.repr.window, (256u * 1024u) >> 3);
}

TEST(TcpOptions, AbsentOptionsMeanDefaults) {
    Harness h(full_config());
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    h.send(T0, seg(flags::kSyn, 5000));
    Captured sa = h.recv(T0);
    EXPECT_EQ(sa.repr.options.mss, 1460);
    EXPECT_FALSE(sa.repr.options.window_scale);
    EXPECT_FALSE(sa.repr.options.sack_permitted);
    EXPECT_FALSE(sa.repr.options.timestamps);
    EXPECT_EQ(h.conn().snd_mss(), 536);  // RFC 9293 §3.7.1
    EXPECT_EQ(h.conn().rcv_wscale(), 0);
    EXPECT_FALSE(h.conn().timestamps_enabled());
    EXPECT_FALSE(h.conn().sack_enabled());
}

TEST(TcpOptions, ActiveOpenOffersAndFollowsPeer) {
    Harness h(full_config());
    h.conn().set_iss_for_test(1000);
    h.conn().connect(T0, FourTuple{{kLocalIp, kLocalPort}, {kRemoteIp, kRemotePort}});
    Captured syn = h.recv(T0);
    EXPECT_EQ(syn.repr.options.window_scale, 3);
    EXPECT_TRUE(syn.repr.options.sack_permitted);
    ASSERT_TRUE(syn.repr.options.timestamps);
    EXPECT_EQ(syn.repr.options.timestamps->tsecr, 0u);
    TcpRepr sa = seg(flags::kSyn | flags::kAck, 5000, 1001);
    sa.options.window_scale = 20;  // RFC 7323 §2.3: use 14
    h.send(T0, sa);
    EXPECT_EQ(h.conn().snd_wscale(), 14);
    EXPECT_FALSE(h.conn().timestamps_enabled());  // the peer did not echo TS
    EXPECT_FALSE(h.conn().sack_enabled());
    Captured ack = h.recv(T0);
    EXPECT_FALSE(ack.repr.options.timestamps);
}

// --- data ---

TEST(TcpData, ReceivesAcksAndDelivers) {
    Harness h;
    h.establish_passive();
    const auto data = bytes_of(100);
    h.send(T0, seg(flags::kAck | flags::kPsh, 5001, 1001), data);
    Captured ack = h.recv(T0);
    EXPECT_EQ(ack.repr.flags, flags::kAck);
    EXPECT_EQ(ack.repr.ack, SeqNum(5101));
    EXPECT_EQ(ack.repr.window, 65535 - 100);
    EXPECT_TRUE(h.conn().take_events() & event::kReadable);
    // Zero copy: the bytes sit in the received mbuf.
    ByteSpan front = h.conn().peek();
    ASSERT_EQ(front.size(), 100u);
    EXPECT_TRUE(std::equal(front.begin(), front.end(), data.begin()));
    h.conn().consume(40);
    std::vector<std::uint8_t> out(100);
    EXPECT_EQ(h.conn().recv(out), 60u);
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + 60, data.begin() + 40));
    EXPECT_EQ(h.conn().recv_available(), 0u);
    // Whole received mbufs can be taken as they are.
    h.send(T0, seg(flags::kAck | flags::kPsh, 5101, 1001), data);
    (void)h.recv(T0);
    MbufPtr m;
    std::uint32_t off = 0, len = 0;
    ASSERT_TRUE(h.conn().recv_mbuf(m, off, len));
    EXPECT_EQ(off, 20u);  // after the TCP header, which stays in the mbuf
    ASSERT_EQ(len, 100u);
    EXPECT_EQ(
        std::memcmp(rte_pktmbuf_mtod_offset(m.get(), const std::uint8_t*, off), data.data(), len),
        0);
    EXPECT_FALSE(h.conn().recv_mbuf(m, off, len));
    EXPECT_EQ(h.conn().recv_available(), 0u);
}

TEST(TcpData, DuplicateDataIsAckedNotDeliveredTwice) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kAck, 5001, 1001), bytes_of(100));
    (void)h.recv(T0);
    h.send(T0, seg(flags::kAck, 5001, 1001), bytes_of(150));  // 100 old + 50 new
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5151));
    EXPECT_EQ(h.conn().recv_available(), 150u);
    h.send(T0, seg(flags::kAck, 5001, 1001), bytes_of(100));  // wholly old: ACK only
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5151));
    EXPECT_EQ(h.conn().recv_available(), 150u);
}

TEST(TcpData, SendsSegmentsNagleHoldsTheTail) {
    Harness h;
    h.establish_passive();
    const auto data = bytes_of(3000, 9);
    ASSERT_EQ(h.conn().send(data), 3000u);
    Captured s1 = h.recv(T0);
    Captured s2 = h.recv(T0);
    EXPECT_EQ(s1.repr.seq, SeqNum(1001));
    EXPECT_EQ(s1.payload.size(), 1460u);
    EXPECT_EQ(s2.repr.seq, SeqNum(2461));
    EXPECT_EQ(s2.payload.size(), 1460u);
    EXPECT_TRUE(std::equal(s1.payload.begin(), s1.payload.end(), data.begin()));
    h.recv_nothing(T0);  // 80 bytes held by Nagle while data is in flight
    h.send(at(10ms), seg(flags::kAck, 5001, 3921));
    Captured s3 = h.recv(at(10ms));
    EXPECT_EQ(s3.repr.seq, SeqNum(3921));
    EXPECT_EQ(s3.payload.size(), 80u);
    EXPECT_TRUE(s3.repr.has(flags::kPsh));
    EXPECT_TRUE(std::equal(s3.payload.begin(), s3.payload.end(), data.begin() + 2920));
}

TEST(TcpData, NagleOffSendsAtOnce) {
    TcpConfig cfg = plain_config();
    cfg.nagle = false;
    Harness h(cfg);
    h.establish_passive();
    ASSERT_EQ(h.conn().send(bytes_of(10)), 10u);
    EXPECT_EQ(h.recv(T0).payload.size(), 10u);
    ASSERT_EQ(h.conn().send(bytes_of(10)), 10u);
    EXPECT_EQ(h.recv(T0).payload.size(), 10u);  // even with 10 bytes in flight
}

TEST(TcpData, SendBufferFullThenWritable) {
    TcpConfig cfg = plain_config();
    cfg.snd_buf_len = 4000;
    Harness h(cfg);
    h.establish_passive();
    EXPECT_EQ(h.conn().send(bytes_of(5000)), 4000u);
    EXPECT_EQ(h.conn().send(bytes_of(10)), 0u);
    h.conn().poll(T0);
    h.drain();
    h.send(at(5ms), seg(flags::kAck, 5001, 2461));
    EXPECT_TRUE(h.conn().take_events() & event::kWritable);
    EXPECT_EQ(h.conn().send_space(), 1460u);
}

TEST(TcpData, SendMbufZeroCopy) {
    Harness h;
    h.establish_passive();
    MbufPtr m(rte_pktmbuf_alloc(l45::test::pktmbuf_pool()));
    const auto data = bytes_of(200, 5);
    std::memcpy(rte_pktmbuf_append(m.get(), 200), data.data(), 200);
    ASSERT_TRUE(h.conn().send_mbuf(m, 50, 100));
    EXPECT_FALSE(m);
    Captured s = h.recv(T0);
    ASSERT_EQ(s.payload.size(), 100u);
    EXPECT_TRUE(std::equal(s.payload.begin(), s.payload.end(), data.begin() + 50));
}

TEST(TcpData, OutOfWindowDataIsAckedAndDropped) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kAck, 5001 + 70000, 1001), bytes_of(10));
    Captured a = h.recv(T0);
    EXPECT_EQ(a.repr.ack, SeqNum(5001));
    EXPECT_EQ(h.conn().recv_available(), 0u);
    EXPECT_EQ(h.counters().out_of_window, 1u);
}

TEST(TcpData, ZeroReceiveWindowThenWindowUpdate) {
    TcpConfig cfg = plain_config();
    cfg.rcv_buf_len = 2000;
    Harness h(cfg);
    h.establish_passive();
    h.send(T0, seg(flags::kAck, 5001, 1001), bytes_of(1000));
    EXPECT_EQ(h.recv(T0).repr.window, 1000);
    h.send(T0, seg(flags::kAck, 6001, 1001), bytes_of(1000));
    EXPECT_EQ(h.recv(T0).repr.window, 0);
    h.send(T0, seg(flags::kAck, 7001, 1001), bytes_of(10));  // window 0: not accepted
    Captured a = h.recv(T0);
    EXPECT_EQ(a.repr.ack, SeqNum(7001));
    EXPECT_EQ(h.conn().recv_available(), 2000u);
    std::vector<std::uint8_t> out(2000);
    EXPECT_EQ(h.conn().recv(out), 2000u);
    EXPECT_TRUE(h.conn().wants_output());
    Captured upd = h.recv(at(1ms));  // window update
    EXPECT_EQ(upd.repr.window, 2000);
    EXPECT_EQ(upd.repr.ack, SeqNum(7001));
}

TEST(TcpData, SequenceNumbersWrapAround) {
    Harness h;
    h.establish_passive(0xffffff00u, 0xffffff80u);
    // Receive 1000 bytes across the wrap.
    const auto in = bytes_of(1000, 1);
    h.send(T0, seg(flags::kAck, 0xffffff81u, 0xffffff01u), in);
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(0xffffff81u + 1000));
    std::vector<std::uint8_t> out(1000);
    EXPECT_EQ(h.conn().recv(out), 1000u);
    EXPECT_EQ(out, in);
    // Send 2000 bytes across the wrap and have them acknowledged.
    ASSERT_EQ(h.conn().send(bytes_of(2000, 2)), 2000u);
    Captured s1 = h.recv(T0);
    EXPECT_EQ(s1.repr.seq, SeqNum(0xffffff01u));
    h.recv_nothing(T0);  // Nagle holds the 540-byte tail
    h.send(at(1ms), seg(flags::kAck, 0xffffff81u + 1000, 0xffffff01u + 1460));
    Captured s2 = h.recv(at(1ms));
    EXPECT_EQ(s2.repr.seq, SeqNum(0xffffff01u + 1460));
    EXPECT_EQ(s2.repr.seq.value(), 0x4b5u);  // past the wrap
    EXPECT_EQ(s2.payload.size(), 540u);
    h.send(at(2ms), seg(flags::kAck, 0xffffff81u + 1000, 0xffffff01u + 2000));
    EXPECT_EQ(h.conn().snd_una(), SeqNum(0xffffff01u + 2000));
    EXPECT_EQ(h.conn().flight_len(), 0u);
    EXPECT_EQ(h.conn().snd_una().value(), 0x6d1u);
}

TEST(TcpData, OutOfOrderQueuedAndSackReported) {
    TcpConfig cfg = plain_config();
    cfg.sack = true;
    Harness h(cfg);
    h.conn().set_iss_for_test(1000);
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    TcpRepr syn = seg(flags::kSyn, 5000);
    syn.options.sack_permitted = true;
    h.send(T0, syn);
    (void)h.recv(T0);
    h.send(T0, seg(flags::kAck, 5001, 1001));
    ASSERT_TRUE(h.conn().sack_enabled());
    const auto data = bytes_of(300, 4);
    h.send(T0, seg(flags::kAck, 5101, 1001), ByteSpan(data).subspan(100, 100));
    Captured d1 = h.recv(T0);  // immediate duplicate ACK with a SACK block
    EXPECT_EQ(d1.repr.ack, SeqNum(5001));
    ASSERT_EQ(d1.repr.options.num_sack_blocks, 1);
    EXPECT_EQ(d1.repr.options.sack_blocks[0], (SackBlock{SeqNum(5101), SeqNum(5201)}));
    h.send(T0, seg(flags::kAck, 5201, 1001), ByteSpan(data).subspan(200, 100));
    Captured d2 = h.recv(T0);
    ASSERT_EQ(d2.repr.options.num_sack_blocks, 1);  // merged: 5101..5301
    EXPECT_EQ(d2.repr.options.sack_blocks[0], (SackBlock{SeqNum(5101), SeqNum(5301)}));
    EXPECT_EQ(h.conn().recv_available(), 0u);
    h.send(T0, seg(flags::kAck, 5001, 1001), ByteSpan(data).first(100));
    Captured a = h.recv(T0);
    EXPECT_EQ(a.repr.ack, SeqNum(5301));
    EXPECT_EQ(a.repr.options.num_sack_blocks, 0);
    std::vector<std::uint8_t> out(300);
    EXPECT_EQ(h.conn().recv(out), 300u);
    EXPECT_EQ(out, data);
}

TEST(TcpData, FinBeyondAHoleWaitsForTheHole) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kAck | flags::kFin, 5101, 1001), bytes_of(50));
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5001));
    EXPECT_EQ(h.conn().state(), State::kEstablished);
    h.send(T0, seg(flags::kAck, 5001, 1001), bytes_of(100));
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5152));
    EXPECT_EQ(h.conn().state(), State::kCloseWait);
}

// --- closing (RFC 9293 §3.10.4, §3.10.7.4 eighth) ---

TEST(TcpClose, ActiveCloseThroughTimeWait) {
    Harness h;
    h.establish_passive();
    h.conn().shutdown();
    EXPECT_EQ(h.conn().state(), State::kFinWait1);
    Captured fin = h.recv(T0);
    EXPECT_EQ(fin.repr.flags, flags::kFin | flags::kAck);
    EXPECT_EQ(fin.repr.seq, SeqNum(1001));
    h.send(T0, seg(flags::kAck, 5001, 1002));
    EXPECT_EQ(h.conn().state(), State::kFinWait2);
    h.send(T0, seg(flags::kFin | flags::kAck, 5001, 1002));
    Captured ack = h.recv(T0);
    EXPECT_EQ(ack.repr.flags, flags::kAck);
    EXPECT_EQ(ack.repr.ack, SeqNum(5002));
    EXPECT_EQ(h.conn().state(), State::kTimeWait);
    EXPECT_TRUE(h.conn().take_events() & event::kClosed);
    // A retransmitted FIN is acknowledged again.
    h.send(at(1s), seg(flags::kFin | flags::kAck, 5001, 1002));
    EXPECT_EQ(h.recv(at(1s)).repr.ack, SeqNum(5002));
    // 2*MSL = 60 s.
    h.recv_nothing(at(59s));
    EXPECT_EQ(h.conn().state(), State::kTimeWait);
    h.recv_nothing(at(60s));
    EXPECT_EQ(h.conn().state(), State::kClosed);
    EXPECT_EQ(h.conn().close_reason(), CloseReason::kNormal);
}

TEST(TcpClose, PassiveCloseThroughLastAck) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kFin | flags::kAck, 5001, 1001));
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5002));
    EXPECT_EQ(h.conn().state(), State::kCloseWait);
    EXPECT_TRUE(h.conn().take_events() & event::kReadable);
    EXPECT_TRUE(h.conn().recv_finished());
    // Half-close: we can still send.
    ASSERT_EQ(h.conn().send(bytes_of(10)), 10u);
    EXPECT_EQ(h.recv(T0).payload.size(), 10u);
    h.conn().shutdown();
    EXPECT_EQ(h.conn().state(), State::kLastAck);
    h.send(T0, seg(flags::kAck, 5002, 1011));
    Captured fin = h.recv(T0);
    EXPECT_EQ(fin.repr.flags, flags::kFin | flags::kAck);
    EXPECT_EQ(fin.repr.seq, SeqNum(1011));
    h.send(T0, seg(flags::kAck, 5002, 1012));
    EXPECT_EQ(h.conn().state(), State::kClosed);
    EXPECT_EQ(h.conn().close_reason(), CloseReason::kNormal);
}

TEST(TcpClose, SimultaneousCloseThroughClosing) {
    Harness h;
    h.establish_passive();
    h.conn().shutdown();
    (void)h.recv(T0);
    h.send(T0, seg(flags::kFin | flags::kAck, 5001, 1001));  // does not ack our FIN
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5002));
    EXPECT_EQ(h.conn().state(), State::kClosing);
    h.send(T0, seg(flags::kAck, 5002, 1002));
    EXPECT_EQ(h.conn().state(), State::kTimeWait);
}

TEST(TcpClose, FinAckingOurFinGoesStraightToTimeWait) {
    Harness h;
    h.establish_passive();
    h.conn().shutdown();
    (void)h.recv(T0);
    h.send(T0, seg(flags::kFin | flags::kAck, 5001, 1002));
    EXPECT_EQ(h.conn().state(), State::kTimeWait);
}

TEST(TcpClose, HalfClosedSideStillReceives) {
    Harness h;
    h.establish_passive();
    h.conn().shutdown();
    (void)h.recv(T0);
    h.send(T0, seg(flags::kAck, 5001, 1002));
    ASSERT_EQ(h.conn().state(), State::kFinWait2);
    h.send(T0, seg(flags::kAck, 5001, 1002), bytes_of(100));
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5101));
    EXPECT_EQ(h.conn().recv_available(), 100u);
    h.recv_nothing(at(120s));  // no FIN_WAIT_2 timeout after shutdown() alone
    EXPECT_EQ(h.conn().state(), State::kFinWait2);
}

TEST(TcpClose, FinWait2TimesOutAfterClose) {
    Harness h;
    h.establish_passive();
    h.conn().close(T0);
    (void)h.recv(T0);
    h.send(T0, seg(flags::kAck, 5001, 1002));
    ASSERT_EQ(h.conn().state(), State::kFinWait2);
    h.recv_nothing(at(59s));
    EXPECT_EQ(h.conn().state(), State::kFinWait2);
    h.recv_nothing(at(60s));
    EXPECT_EQ(h.conn().state(), State::kClosed);
}

TEST(TcpClose, CloseWithUnreadDataResets) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kAck, 5001, 1001), bytes_of(10));
    (void)h.recv(T0);
    h.conn().close(at(1ms));
    Captured rst = h.recv(at(1ms));
    EXPECT_EQ(rst.repr.flags, flags::kRst);
    EXPECT_EQ(rst.repr.seq, SeqNum(1001));
    EXPECT_EQ(h.conn().state(), State::kClosed);
    EXPECT_EQ(h.conn().close_reason(), CloseReason::kAborted);
}

TEST(TcpClose, AbortSendsRst) {
    Harness h;
    h.establish_active();
    h.conn().abort(T0);
    Captured rst = h.recv(T0);
    EXPECT_EQ(rst.repr.flags, flags::kRst);
    EXPECT_EQ(rst.repr.seq, SeqNum(1001));
    EXPECT_EQ(h.conn().state(), State::kClosed);
}

TEST(TcpClose, ClosedConnectionAnswersWithRst) {
    Harness h;
    h.send(T0, seg(flags::kAck, 5001, 1234), bytes_of(5));
    Captured rst = h.recv(T0);
    EXPECT_EQ(rst.repr.flags, flags::kRst);
    EXPECT_EQ(rst.repr.seq, SeqNum(1234));
    h.send(T0, seg(flags::kSyn, 5000), bytes_of(5));
    Captured rst2 = h.recv(T0);
    EXPECT_EQ(rst2.repr.flags, flags::kRst | flags::kAck);
    EXPECT_EQ(rst2.repr.seq, SeqNum(0));
    EXPECT_EQ(rst2.repr.ack, SeqNum(5006));  // SEG.SEQ + SEG.LEN (SYN + 5)
    h.send(T0, seg(flags::kRst, 5000));
    h.recv_nothing(T0);
}

// --- RFC 5961 ---

TEST(Rfc5961, InWindowRstGetsChallengeAck) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kRst, 5001 + 100));
    Captured ca = h.recv(T0);
    EXPECT_EQ(ca.repr.flags, flags::kAck);
    EXPECT_EQ(ca.repr.seq, SeqNum(1001));
    EXPECT_EQ(ca.repr.ack, SeqNum(5001));
    EXPECT_EQ(h.conn().state(), State::kEstablished);
    EXPECT_EQ(h.counters().challenge_acks, 1u);
}

TEST(Rfc5961, ExactRstResets) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kRst, 5001));
    h.recv_nothing(T0);
    EXPECT_EQ(h.conn().state(), State::kClosed);
    EXPECT_EQ(h.conn().close_reason(), CloseReason::kReset);
    EXPECT_TRUE(h.conn().take_events() & event::kClosed);
}

TEST(Rfc5961, OutOfWindowRstIgnored) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kRst, 5001 + 70000));
    h.recv_nothing(T0);
    h.send(T0, seg(flags::kRst, 4000));
    h.recv_nothing(T0);
    EXPECT_EQ(h.conn().state(), State::kEstablished);
}

TEST(Rfc5961, SynInEstablishedGetsChallengeAck) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kSyn, 5001));  // even the exact sequence number
    Captured ca = h.recv(T0);
    EXPECT_EQ(ca.repr.flags, flags::kAck);
    EXPECT_EQ(ca.repr.ack, SeqNum(5001));
    EXPECT_EQ(h.conn().state(), State::kEstablished);
    h.send(T0, seg(flags::kSyn, 123456));  // out of window: plain ACK, dropped
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5001));
    EXPECT_EQ(h.conn().state(), State::kEstablished);
}

TEST(Rfc5961, AckAboveSndNxtIsDropped) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kAck, 5001, 9000), bytes_of(10));
    Captured a = h.recv(T0);
    EXPECT_EQ(a.repr.ack, SeqNum(5001));  // the data was not taken
    EXPECT_EQ(h.conn().recv_available(), 0u);
    EXPECT_EQ(h.counters().ack_out_of_range, 1u);
}

TEST(Rfc5961, AckBelowTheMaxWindowIsDropped) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kAck, 5001, 1001 - 70000), bytes_of(10));
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5001));
    EXPECT_EQ(h.conn().recv_available(), 0u);
    // Slightly old (within MAX.SND.WND) is fine: the data is taken.
    h.send(T0, seg(flags::kAck, 5001, 1001 - 100), bytes_of(10));
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5011));
}

TEST(Rfc5961, ChallengeAcksAreRateLimited) {
    TcpConfig cfg = plain_config();
    cfg.challenge_acks_per_second = 2;
    Harness h(cfg);
    h.establish_passive();
    for (int i = 0; i < 3; ++i)
        h.send(at(10ms), seg(flags::kRst, 5001 + 10 + i));
    EXPECT_EQ(h.pending(), 2u);
    h.drain();
    EXPECT_EQ(h.counters().challenge_acks_suppressed, 1u);
    h.send(at(1100ms), seg(flags::kRst, 5001 + 20));
    EXPECT_EQ(h.recv(at(1100ms)).repr.flags, flags::kAck);
}

// --- RFC 7323 PAWS ---

class PawsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        h.conn().set_iss_for_test(1000);
        h.conn().listen(Endpoint{kLocalIp, kLocalPort});
        TcpRepr syn = seg(flags::kSyn, 5000);
        syn.options.timestamps = Timestamps{100, 0};
        h.send(T0, syn);
        tsval = h.recv(T0).repr.options.timestamps->tsval;
        TcpRepr ack = seg(flags::kAck, 5001, 1001);
        ack.options.timestamps = Timestamps{101, tsval};
        h.send(T0, ack);
        ASSERT_EQ(h.conn().state(), State::kEstablished);
    }
    TcpRepr data(std::uint32_t seq, std::uint32_t ts) {
        TcpRepr r = seg(flags::kAck, seq, 1001);
        r.options.timestamps = Timestamps{ts, tsval};
        return r;
    }
    Harness h{full_config()};
    std::uint32_t tsval = 0;
};

TEST_F(PawsTest, OlderTimestampIsRejected) {
    h.send(T0, data(5001, 200), bytes_of(10));
    Captured a = h.recv(T0);
    EXPECT_EQ(a.repr.ack, SeqNum(5011));
    EXPECT_EQ(a.repr.options.timestamps->tsecr, 200u);  // TS.Recent updated
    h.send(T0, data(5011, 150), bytes_of(10));          // older TSval: PAWS
    Captured b = h.recv(T0);
    EXPECT_EQ(b.repr.ack, SeqNum(5011));
    EXPECT_EQ(h.conn().recv_available(), 10u);
    EXPECT_EQ(h.counters().paws_rejected, 1u);
    h.send(T0, data(5011, 200), bytes_of(10));  // equal is fine
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5021));
}

TEST_F(PawsTest, TimestampWrapsAround) {
    h.send(T0, data(5001, 0xfffffff0u), bytes_of(10));  // "after" 101 modulo 2^32? no: before
    // 0xfffffff0 is before 101 in modular order: rejected.
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5001));
    h.send(T0, data(5001, 0x7ffffff0u), bytes_of(10));  // after 101
    EXPECT_EQ(h.recv(T0).repr.ack, SeqNum(5011));
}

TEST_F(PawsTest, SegmentWithoutTimestampIsDropped) {
    h.send(T0, seg(flags::kAck, 5001, 1001), bytes_of(10));
    h.recv_nothing(T0);
    EXPECT_EQ(h.conn().recv_available(), 0u);
    EXPECT_EQ(h.counters().missing_timestamp, 1u);
    h.send(T0, seg(flags::kRst, 5001));  // a RST needs no timestamp
    EXPECT_EQ(h.conn().state(), State::kClosed);
}

// --- timers ---

TEST(TcpTimers, RtoBacksOffAndRttSetsIt) {
    Harness h;
    h.establish_passive();  // RTT 0 -> RTO = rto_min (200 ms)
    EXPECT_EQ(h.conn().rto(), 200ms);
    ASSERT_EQ(h.conn().send(bytes_of(100)), 100u);
    EXPECT_EQ(h.recv(T0).repr.seq, SeqNum(1001));
    h.recv_nothing(at(199ms));
    Captured r1 = h.recv(at(200ms));
    EXPECT_EQ(r1.repr.seq, SeqNum(1001));
    EXPECT_EQ(r1.payload.size(), 100u);
    h.recv_nothing(at(599ms));
    EXPECT_EQ(h.recv(at(600ms)).repr.seq, SeqNum(1001));  // 400 ms later
    h.recv_nothing(at(1399ms));
    EXPECT_EQ(h.recv(at(1400ms)).repr.seq, SeqNum(1001));  // 800 ms later
    EXPECT_EQ(h.counters().rto_timeouts, 3u);
    EXPECT_EQ(h.conn().cc().cwnd, h.conn().cc().mss);  // loss window
    h.send(at(1500ms), seg(flags::kAck, 5001, 1101));
    EXPECT_EQ(h.conn().flight_len(), 0u);
    h.recv_nothing(at(10s));
}

TEST(TcpTimers, RttMeasurementFollowsRfc6298) {
    Harness h;
    h.establish_passive();
    ASSERT_EQ(h.conn().send(bytes_of(100)), 100u);
    (void)h.recv(T0);
    h.send(at(100ms), seg(flags::kAck, 5001, 1101));
    // Second sample 100 ms: RTTVAR = 3/4*0 + 1/4*100 = 25, SRTT = 7/8*0 + 1/8*100 = 12.5
    EXPECT_EQ(h.conn().srtt(), 12500us);
    EXPECT_EQ(h.conn().rto(), 200ms);  // 12.5 + 4*25 = 112.5 -> rto_min
    ASSERT_EQ(h.conn().send(bytes_of(100)), 100u);
    (void)h.recv(at(100ms));
    h.send(at(1100ms), seg(flags::kAck, 5001, 1201));  // 1 s sample
    // RTTVAR = 3/4*25 + 1/4*987.5 = 265.625; SRTT = 7/8*12.5 + 125 = 135.9375
    EXPECT_EQ(h.conn().rto(), Duration(135937500 + 4 * 265625000));
}

TEST(TcpTimers, KarnIgnoresRetransmittedSegments) {
    Harness h;
    h.establish_passive();
    ASSERT_EQ(h.conn().send(bytes_of(100)), 100u);
    (void)h.recv(T0);
    (void)h.recv(at(200ms));  // retransmission
    const Duration srtt = h.conn().srtt();
    h.send(at(5s), seg(flags::kAck, 5001, 1101));
    EXPECT_EQ(h.conn().srtt(), srtt);  // no sample from an ambiguous ACK
    EXPECT_EQ(h.conn().rto(), 400ms);  // the backed-off value stays
}

TEST(TcpTimers, GivesUpAfterMaxRetransmissions) {
    TcpConfig cfg = plain_config();
    cfg.max_retransmissions = 2;
    Harness h(cfg);
    h.establish_passive();
    ASSERT_EQ(h.conn().send(bytes_of(100)), 100u);
    (void)h.recv(T0);
    (void)h.recv(at(200ms));
    (void)h.recv(at(600ms));
    Captured rst = h.recv(at(1400ms));
    EXPECT_EQ(rst.repr.flags, flags::kRst);
    EXPECT_EQ(h.conn().state(), State::kClosed);
    EXPECT_EQ(h.conn().close_reason(), CloseReason::kTimeout);
}

TEST(TcpTimers, DelayedAck) {
    TcpConfig cfg = plain_config();
    cfg.delayed_ack = true;
    cfg.delayed_ack_timeout = 40ms;
    Harness h(cfg);
    h.establish_passive();
    h.send(T0, seg(flags::kAck, 5001, 1001), bytes_of(1460));
    h.recv_nothing(T0);
    h.recv_nothing(at(39ms));
    EXPECT_EQ(h.recv(at(40ms)).repr.ack, SeqNum(6461));
    // Every second segment is acknowledged at once.
    h.send(at(50ms), seg(flags::kAck, 6461, 1001), bytes_of(1460));
    h.recv_nothing(at(50ms));
    h.send(at(51ms), seg(flags::kAck, 7921, 1001), bytes_of(1460));
    EXPECT_EQ(h.recv(at(51ms)).repr.ack, SeqNum(9381));
    h.recv_nothing(at(200ms));
    // Data we send carries the pending ACK.
    h.send(at(300ms), seg(flags::kAck, 9381, 1001), bytes_of(10));
    ASSERT_EQ(h.conn().send(bytes_of(10)), 10u);
    Captured d = h.recv(at(300ms));
    EXPECT_EQ(d.payload.size(), 10u);
    EXPECT_EQ(d.repr.ack, SeqNum(9391));
    h.recv_nothing(at(400ms));
}

TEST(TcpTimers, PersistProbesAZeroWindow) {
    Harness h;
    h.establish_passive();
    h.send(T0, seg(flags::kAck, 5001, 1001, 0));
    EXPECT_EQ(h.conn().snd_wnd(), 0u);
    ASSERT_EQ(h.conn().send(bytes_of(100)), 100u);
    h.recv_nothing(T0);
    h.recv_nothing(at(199ms));
    Captured p1 = h.recv(at(200ms));
    EXPECT_EQ(p1.repr.seq, SeqNum(1000));  // SND.UNA - 1: draws an ACK
    EXPECT_TRUE(p1.payload.empty());
    h.send(at(210ms), seg(flags::kAck, 5001, 1001, 0));  // still closed
    h.recv_nothing(at(599ms));
    EXPECT_EQ(h.recv(at(600ms)).repr.seq, SeqNum(1000));  // backed off to 400 ms
    EXPECT_EQ(h.counters().window_probes, 2u);
    h.send(at(700ms), seg(flags::kAck, 5001, 1001, 1000));  // opens
    Captured d = h.recv(at(700ms));
    EXPECT_EQ(d.repr.seq, SeqNum(1001));
    EXPECT_EQ(d.payload.size(), 100u);
    h.recv_nothing(at(800ms));
    EXPECT_EQ(h.conn().state(), State::kEstablished);
}

TEST(TcpTimers, WindowShutWithDataOutstandingFallsBackToProbes) {
    Harness h;
    h.establish_passive();
    ASSERT_EQ(h.conn().send(bytes_of(2920)), 2920u);
    h.conn().poll(T0);
    EXPECT_EQ(h.pending(), 2u);
    h.drain();
    // The first segment is acknowledged and the window shuts; the second
    // is still outstanding.
    h.send(at(10ms), seg(flags::kAck, 5001, 2461, 0));
    h.recv_nothing(at(209ms));
    // RTO: back to SND.UNA, but the window is zero: nothing is resent...
    h.recv_nothing(at(210ms));
    // ...and the persist timer probes (RTO now 400 ms).
    h.recv_nothing(at(609ms));
    Captured p = h.recv(at(610ms));
    EXPECT_EQ(p.repr.seq, SeqNum(2460));
    EXPECT_TRUE(p.payload.empty());
    h.send(at(620ms), seg(flags::kAck, 5001, 2461, 5000));
    Captured r = h.recv(at(620ms));
    EXPECT_EQ(r.repr.seq, SeqNum(2461));
    EXPECT_EQ(r.payload.size(), 1460u);
}

TEST(TcpTimers, KeepAlive) {
    TcpConfig cfg = plain_config();
    cfg.keepalive = true;
    cfg.keepalive_idle = 10s;
    cfg.keepalive_interval = 1s;
    cfg.keepalive_probes = 2;
    Harness h(cfg);
    h.establish_passive();
    h.recv_nothing(at(9999ms));
    Captured k = h.recv(at(10s));
    EXPECT_EQ(k.repr.seq, SeqNum(1000));  // SND.NXT - 1
    EXPECT_TRUE(k.payload.empty());
    h.send(at(10100ms), seg(flags::kAck, 5001, 1001));  // answered: idle again
    h.recv_nothing(at(20099ms));
    EXPECT_EQ(h.recv(at(20100ms)).repr.seq, SeqNum(1000));
    EXPECT_EQ(h.recv(at(21100ms)).repr.seq, SeqNum(1000));
    Captured rst = h.recv(at(22100ms));
    EXPECT_EQ(rst.repr.flags, flags::kRst);
    EXPECT_EQ(h.conn().state(), State::kClosed);
    EXPECT_EQ(h.conn().close_reason(), CloseReason::kTimeout);
}

// --- congestion control (RFC 5681, 6582, 6928) ---

TEST(TcpCongestion, InitialWindowIsTenSegments) {
    Harness h;
    h.establish_passive();
    ASSERT_EQ(h.conn().send(bytes_of(30000)), 30000u);
    h.conn().poll(T0);
    EXPECT_EQ(h.pending(), 10u);  // RFC 6928: 10 * 1460 = 14600
    h.drain();
    // Slow start: an ACK of two segments opens the window by 2 SMSS (RFC 3465).
    h.send(at(10ms), seg(flags::kAck, 5001, 1001 + 2920));
    h.conn().poll(at(10ms));
    EXPECT_EQ(h.pending(), 4u);
}

TEST(TcpCongestion, FastRetransmitAndNewRenoRecovery) {
    Harness h;
    h.establish_passive();
    ASSERT_EQ(h.conn().send(bytes_of(14600)), 14600u);
    h.conn().poll(T0);
    ASSERT_EQ(h.pending(), 10u);
    h.drain();
    // Segment 2 (seq 2461) is lost; segments 3.. arrive and are dup-acked.
    h.send(at(10ms), seg(flags::kAck, 5001, 2461));
    h.drain();
    h.send(at(11ms), seg(flags::kAck, 5001, 2461));
    h.send(at(11ms), seg(flags::kAck, 5001, 2461));
    h.recv_nothing(at(11ms));
    h.send(at(12ms), seg(flags::kAck, 5001, 2461));  // third duplicate
    Captured rtx = h.recv(at(12ms));
    EXPECT_EQ(rtx.repr.seq, SeqNum(2461));
    EXPECT_EQ(rtx.payload.size(), 1460u);
    EXPECT_TRUE(h.conn().in_recovery());
    EXPECT_EQ(h.counters().fast_retransmits, 1u);
    const std::uint32_t mss = 1460;
    // ssthresh = flight/2 (flight 13140 after the first ACK), cwnd = ssthresh + 3 MSS.
    EXPECT_EQ(h.conn().cc().ssthresh, 13140u / 2);
    EXPECT_EQ(h.conn().cc().cwnd, 13140u / 2 + 3 * mss);
    // Partial ACK (segment 4 was lost too): retransmit it at once (RFC 6582).
    h.send(at(20ms), seg(flags::kAck, 5001, 2461 + 2 * mss));
    Captured rtx2 = h.recv(at(20ms));
    EXPECT_EQ(rtx2.repr.seq, SeqNum(2461 + 2 * mss));
    EXPECT_TRUE(h.conn().in_recovery());
    // Full ACK ends recovery.
    h.send(at(30ms), seg(flags::kAck, 5001, 1001 + 14600));
    EXPECT_FALSE(h.conn().in_recovery());
    EXPECT_EQ(h.conn().flight_len(), 0u);
    EXPECT_LE(h.conn().cc().cwnd, h.conn().cc().ssthresh);
}

TEST(TcpCongestion, LimitedTransmitOnTheFirstTwoDuplicates) {
    Harness h;
    h.establish_passive();
    ASSERT_EQ(h.conn().send(bytes_of(30000)), 30000u);
    h.conn().poll(T0);
    ASSERT_EQ(h.pending(), 10u);  // cwnd-limited
    h.drain();
    h.send(at(10ms), seg(flags::kAck, 5001, 1001));  // duplicate 1
    Captured n1 = h.recv(at(10ms));
    EXPECT_EQ(n1.repr.seq, SeqNum(1001 + 14600));  // new data, RFC 3042
    h.recv_nothing(at(10ms));
    h.send(at(11ms), seg(flags::kAck, 5001, 1001));  // duplicate 2
    EXPECT_EQ(h.recv(at(11ms)).repr.seq, SeqNum(1001 + 14600 + 1460));
    h.recv_nothing(at(11ms));
    h.send(at(12ms), seg(flags::kAck, 5001, 1001));  // duplicate 3: fast retransmit
    EXPECT_EQ(h.recv(at(12ms)).repr.seq, SeqNum(1001));
    EXPECT_TRUE(h.conn().in_recovery());
}

TEST(TcpCongestion, SackBlocksPickTheHolesToResend) {  // more in test_recovery.cc
    TcpConfig cfg = plain_config();
    cfg.sack = true;
    Harness h(cfg);
    h.conn().set_iss_for_test(1000);
    h.conn().listen(Endpoint{kLocalIp, kLocalPort});
    TcpRepr syn = seg(flags::kSyn, 5000);
    syn.options.mss = 1460;
    syn.options.sack_permitted = true;
    h.send(T0, syn);
    (void)h.recv(T0);
    h.send(T0, seg(flags::kAck, 5001, 1001));
    ASSERT_TRUE(h.conn().sack_enabled());
    ASSERT_EQ(h.conn().send(bytes_of(14600)), 14600u);
    h.conn().poll(T0);
    ASSERT_EQ(h.pending(), 10u);
    h.drain();
    const std::uint32_t mss = 1460;
    const SeqNum s0(1001);
    // Segments 0 and 3 are lost: the receiver SACKs 1..3 and 4..10.
    auto dup = [&](int n_blocks) {
        TcpRepr a = seg(flags::kAck, 5001, 1001);
        a.options.num_sack_blocks = static_cast<std::uint8_t>(n_blocks);
        a.options.sack_blocks[0] = {s0 + 4 * mss, s0 + 10 * mss};
        a.options.sack_blocks[1] = {s0 + 1 * mss, s0 + 3 * mss};
        return a;
    };
    // RFC 6675 §5 step 2: with more than 2 SMSS SACKed above SND.UNA,
    // IsLost(SND.UNA) starts recovery at the first duplicate; NextSeg then
    // resends the other lost hole in the same burst (cwnd - pipe allows).
    h.send(at(10ms), dup(2));
    Captured r0 = h.recv(at(10ms));  // fast retransmit of segment 0
    EXPECT_EQ(r0.repr.seq, s0);
    Captured r3 = h.recv(at(10ms));
    EXPECT_EQ(r3.repr.seq, s0 + 3 * mss);
    EXPECT_EQ(r3.payload.size(), mss);
    h.recv_nothing(at(10ms));
    h.send(at(11ms), dup(2));  // nothing new: nothing resent twice
    h.recv_nothing(at(11ms));
    EXPECT_EQ(h.counters().fast_retransmits, 1u);
    EXPECT_EQ(h.counters().sack_retransmits, 1u);
    // The ACK after the retransmissions arrive covers everything.
    h.send(at(20ms), seg(flags::kAck, 5001, 1001 + 14600));
    EXPECT_FALSE(h.conn().in_recovery());
    EXPECT_EQ(h.conn().flight_len(), 0u);
}

}  // namespace
}  // namespace l45::tcp
