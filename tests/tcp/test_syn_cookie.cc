// SYN cookies with options (stack.cc, after Linux's scheme): the peer's
// window scale and SACK-permitted ride in the low bits of the SYN-ACK's
// TSval and come back in the ACK's TSecr; without timestamps only the MSS
// survives. A listener with backlog 0 answers every SYN with a cookie.
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

constexpr std::uint16_t kPeerPort = 40000;
constexpr std::uint32_t kPeerIss = 7000;

TcpRepr syn_with(bool ts, std::uint16_t port = kPeerPort) {
    TcpRepr syn = peer_seg(port, 80, flags::kSyn, kPeerIss, 0);
    syn.options.mss = 1400;
    syn.options.window_scale = 7;
    syn.options.sack_permitted = true;
    if (ts) syn.options.timestamps = Timestamps{12345, 0};
    return syn;
}

// The peer's ACK completing the cookie handshake `sa`.
TcpRepr ack_for(const Captured& sa, std::uint16_t window = 1000) {
    TcpRepr ack =
        peer_seg(kPeerPort, 80, flags::kAck, kPeerIss + 1, sa.repr.seq.value() + 1, window);
    if (sa.repr.options.timestamps)
        ack.options.timestamps = Timestamps{12346, sa.repr.options.timestamps->tsval};
    return ack;
}

TEST(SynCookie, OptionsRideInTheTimestampAndAreUsed) {
    Solo so;
    ASSERT_TRUE(so.stack.listen(80, 0));
    so.inject(kT0, syn_with(true));
    EXPECT_EQ(so.stack.counters().syn_cookies_sent, 1u);
    EXPECT_EQ(so.stack.num_connections(), 0u);  // stateless
    const Captured sa = so.take();
    ASSERT_EQ(sa.repr.flags, flags::kSyn | flags::kAck);
    const std::uint8_t our_shift = wscale_for(so.stack.config().tcp.rcv_buf_len);
    ASSERT_GT(our_shift, 0);
    EXPECT_EQ(sa.repr.options.window_scale, our_shift);
    EXPECT_TRUE(sa.repr.options.sack_permitted);
    ASSERT_TRUE(sa.repr.options.timestamps.has_value());
    EXPECT_EQ(sa.repr.options.timestamps->tsecr, 12345u);
    // Linux's layout: bits 0-3 the peer's shift, bit 4 SACK.
    const std::uint32_t synack_tsval = sa.repr.options.timestamps->tsval;
    EXPECT_EQ(synack_tsval & 0x3f, 7u | 0x10u);

    so.inject(kT0 + 1ms, ack_for(sa, 1000));
    EXPECT_EQ(so.stack.counters().syn_cookies_accepted, 1u);
    ASSERT_EQ(so.handler.accepts, 1);
    const Connection* c = so.stack.find(so.handler.last);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->state(), State::kEstablished);
    EXPECT_EQ(c->snd_mss(), 1400);
    EXPECT_EQ(c->snd_wscale(), 7);
    EXPECT_EQ(c->rcv_wscale(), our_shift);
    EXPECT_TRUE(c->sack_enabled());
    EXPECT_TRUE(c->timestamps_enabled());
    EXPECT_EQ(c->snd_wnd(), 1000u << 7);  // the ACK's window, scaled

    // Our receive window beyond 64 KiB is real: 100 kB in a row, no reads.
    std::uint32_t seq = kPeerIss + 1;
    std::uint32_t tsval = 12347;
    const auto chunk = test::bytes_of(1000);
    for (int i = 0; i < 100; ++i, seq += 1000) {
        TcpRepr data = peer_seg(kPeerPort, 80, flags::kAck, seq, sa.repr.seq.value() + 1, 1000);
        data.options.timestamps = Timestamps{tsval++, synack_tsval};
        so.inject(kT0 + 2ms, data, chunk);
    }
    EXPECT_EQ(c->recv_available(), 100000u);
    ASSERT_FALSE(so.quiet());
    const Captured last = so.sink.segments.back();
    so.sink.segments.clear();
    EXPECT_EQ(last.repr.ack, SeqNum(seq));
    EXPECT_GT(std::uint32_t{last.repr.window} << our_shift, 65535u);
    // Our TSval clock continues from the cookie's: the SYN-ACK's TSval was
    // rounded down by at most 64 ticks, never up (the peer's PAWS).
    ASSERT_TRUE(last.repr.options.timestamps.has_value());
    const std::uint32_t ahead = last.repr.options.timestamps->tsval - synack_tsval;
    EXPECT_GE(ahead, 2u);
    EXPECT_LE(ahead, 2u + 64u);
    // RFC 7323 §4.3: TS.Recent is the TSval of the segment at Last.ACK.sent,
    // the 99th of the 100 (every second one is ACKed).
    EXPECT_EQ(last.repr.options.timestamps->tsecr, tsval - 2);
    // And PAWS works on this connection (RFC 7323 §5): an old TSval is dropped.
    TcpRepr stale = peer_seg(kPeerPort, 80, flags::kAck, seq, sa.repr.seq.value() + 1, 1000);
    stale.options.timestamps = Timestamps{12000, synack_tsval};
    so.inject(kT0 + 3ms, stale, chunk);
    EXPECT_EQ(so.stack.counters().paws_rejected, 1u);
    EXPECT_EQ(c->recv_available(), 100000u);
}

TEST(SynCookie, WithoutTimestampsOnlyTheMssSurvives) {
    Solo so;
    ASSERT_TRUE(so.stack.listen(80, 0));
    so.inject(kT0, syn_with(false));
    const Captured sa = so.take();
    ASSERT_EQ(sa.repr.flags, flags::kSyn | flags::kAck);
    EXPECT_FALSE(sa.repr.options.window_scale.has_value());
    EXPECT_FALSE(sa.repr.options.sack_permitted);
    EXPECT_FALSE(sa.repr.options.timestamps.has_value());
    EXPECT_EQ(sa.repr.options.mss, so.stack.config().tcp.mss);
    so.inject(kT0 + 1ms, ack_for(sa, 1000));
    EXPECT_EQ(so.stack.counters().syn_cookies_accepted, 1u);
    const Connection* c = so.stack.find(so.handler.last);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->state(), State::kEstablished);
    EXPECT_EQ(c->snd_mss(), 1400);
    EXPECT_EQ(c->snd_wscale(), 0);
    EXPECT_EQ(c->rcv_wscale(), 0);
    EXPECT_FALSE(c->sack_enabled());
    EXPECT_FALSE(c->timestamps_enabled());
    EXPECT_EQ(c->snd_wnd(), 1000u);
}

TEST(SynCookie, TamperedTsecrFailsTheCookie) {
    // The option bits are inside the cookie's hash, so a TSecr that does
    // not echo what we sent is not trusted at all: the ACK is a stray one
    // and draws a reset, and no state is created.
    Solo so;
    ASSERT_TRUE(so.stack.listen(80, 0));
    so.inject(kT0, syn_with(true));
    const Captured sa = so.take();
    const std::uint32_t tsval = sa.repr.options.timestamps->tsval;
    const auto tampered = [&](auto mutate) {
        TcpRepr ack = ack_for(sa);
        mutate(ack);
        return ack;
    };
    const TcpRepr bad[] = {
        tampered([&](TcpRepr& a) { a.options.timestamps->tsecr = tsval ^ 0x10; }),  // SACK bit
        tampered([&](TcpRepr& a) { a.options.timestamps->tsecr = (tsval & ~0xfu) | 14; }),
        tampered([&](TcpRepr& a) { a.options.timestamps.reset(); }),  // TS dropped
        // Option bits intact, time not ours: from the future, or older than
        // any cookie still valid.
        tampered([&](TcpRepr& a) { a.options.timestamps->tsecr = tsval + (1u << 20); }),
        tampered([&](TcpRepr& a) { a.options.timestamps->tsecr = tsval - (200'000u & ~0x3fu); }),
    };
    std::uint64_t rejected = 0;
    for (const TcpRepr& ack : bad) {
        so.inject(kT0 + 1ms, ack);
        EXPECT_EQ(so.stack.counters().syn_cookies_rejected, ++rejected);
        EXPECT_EQ(so.take().repr.flags, flags::kRst);
        EXPECT_EQ(so.stack.num_connections(), 0u);
    }
    // The genuine ACK still opens the connection.
    so.inject(kT0 + 2ms, ack_for(sa));
    EXPECT_EQ(so.stack.counters().syn_cookies_accepted, 1u);
    EXPECT_EQ(so.stack.num_connections(), 1u);
}

TEST(SynCookie, TwoStacksUseEveryOptionAfterACookie) {
    constexpr std::size_t kBytes = 1 << 20;
    test::Link link(1ms);
    test::BulkApp client, server;
    client.to_send = server.to_send = kBytes;
    client.shut_when_sent = true;
    client.seed = server.peer_seed = 5;
    server.seed = client.peer_seed = 9;
    SeededRandom ra(3), rb(4);
    TcpStack a(test::small_stack_config(kPeerIp), link, l45::test::pktmbuf_pool(), ra, client);
    TcpStack b(test::small_stack_config(kStackIp), link, l45::test::pktmbuf_pool(), rb, server);
    client.stack = &a;
    server.stack = &b;
    ASSERT_TRUE(b.listen(80, 0));  // cookies only
    Instant now = kT0;
    ASSERT_TRUE(a.connect(now, kStackIp, 80).has_value());
    std::uint32_t max_flight_a = 0, max_flight_b = 0;
    const Connection* seen_a = nullptr;
    const Connection* seen_b = nullptr;
    std::uint8_t wscale_a = 0, wscale_b = 0;
    bool sack_ts_a = false, sack_ts_b = false;
    test::run_link(link, a, b, now, [&] {
        for (auto [stack, app, max, seen, wscale, sack_ts] :
             {std::tuple{&a, &client, &max_flight_a, &seen_a, &wscale_a, &sack_ts_a},
              std::tuple{&b, &server, &max_flight_b, &seen_b, &wscale_b, &sack_ts_b}}) {
            const Connection* c = stack->find(app->conn);
            if (c == nullptr || c->state() != State::kEstablished) continue;
            *max = std::max(*max, c->flight_len());
            if (*seen == nullptr) {
                *seen = c;
                *wscale = c->snd_wscale();
                *sack_ts = c->sack_enabled() && c->timestamps_enabled();
            }
        }
        return client.closes == 1 && server.closes == 1;
    });
    ASSERT_EQ(client.closes, 1);
    ASSERT_EQ(server.closes, 1);
    EXPECT_EQ(b.counters().syn_cookies_accepted, 1u);
    EXPECT_EQ(client.abnormal + server.abnormal, 0);
    EXPECT_EQ(client.received, kBytes);
    EXPECT_EQ(server.received, kBytes);
    EXPECT_FALSE(client.mismatch || server.mismatch);
    // Both ends scale windows, do SACK and timestamps...
    const std::uint8_t shift = wscale_for(a.config().tcp.rcv_buf_len);
    EXPECT_EQ(wscale_a, shift);
    EXPECT_EQ(wscale_b, shift);  // the client's shift, recovered from the TSecr
    EXPECT_TRUE(sack_ts_a);
    EXPECT_TRUE(sack_ts_b);
    // ...with more than 64 KiB in flight each way, and the client's PAWS
    // never saw the server's TSval clock jump back after the cookie.
    EXPECT_GT(max_flight_a, 65535u);
    EXPECT_GT(max_flight_b, 65535u);
    EXPECT_EQ(a.counters().paws_rejected + b.counters().paws_rejected, 0u);
}

}  // namespace
}  // namespace l45::tcp
