// Sequence numbers, the header and its options, the checksum, SipHash and
// the mbuf queues.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "stack/tcp/buffer.h"
#include "stack/tcp/congestion.h"
#include "stack/tcp/header.h"
#include "stack/tcp/isn.h"
#include "stack/tcp/seq.h"
#include "stack/tcp/timer_heap.h"
#include "tests/tcp/harness.h"

namespace l45::tcp {
namespace {

using test::bytes_of;

TEST(SeqNum, ComparesAcrossWraparound) {
    const SeqNum a(0xfffffff0u);
    const SeqNum b = a + 0x20;  // wrapped to 0x10
    EXPECT_EQ(b.value(), 0x10u);
    EXPECT_TRUE(a < b);
    EXPECT_TRUE(b > a);
    EXPECT_FALSE(b < a);
    EXPECT_EQ(b - a, 0x20);
    EXPECT_EQ(a - b, -0x20);
    EXPECT_EQ(seq_dist(a, b), 0x20u);
    EXPECT_TRUE(seq_in_range(a, SeqNum(0), b));
    EXPECT_FALSE(seq_in_range(a, b, b));
    EXPECT_EQ(seq_max(a, b), b);
    EXPECT_EQ(seq_min(a, b), a);
    // Half the space apart: the signed difference decides.
    EXPECT_TRUE(SeqNum(0) < SeqNum(0x7fffffffu));
    EXPECT_TRUE(SeqNum(0) > SeqNum(0x80000001u));
    EXPECT_TRUE(ts_before(0xffffffffu, 1));
}

TEST(TcpRepr, EmitParseRoundTripWithAllOptions) {
    TcpRepr r;
    r.src_port = 1234;
    r.dst_port = 443;
    r.seq = SeqNum(0xdeadbeef);
    r.ack = SeqNum(0x01020304);
    r.flags = flags::kSyn | flags::kAck;
    r.window = 29200;
    r.options.mss = 1460;
    r.options.window_scale = 7;
    r.options.sack_permitted = true;
    r.options.timestamps = Timestamps{111, 222};
    std::array<std::uint8_t, 60> buf{};
    Writer w(buf);
    ASSERT_TRUE(r.emit(w));
    EXPECT_EQ(w.written(), r.header_len());
    EXPECT_EQ(w.written(), 40u);
    auto p = TcpRepr::parse(ByteSpan(buf.data(), w.written()));
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->src_port, 1234);
    EXPECT_EQ(p->dst_port, 443);
    EXPECT_EQ(p->seq, SeqNum(0xdeadbeef));
    EXPECT_EQ(p->ack, SeqNum(0x01020304));
    EXPECT_EQ(p->flags, flags::kSyn | flags::kAck);
    EXPECT_EQ(p->window, 29200);
    EXPECT_EQ(p->options.mss, 1460);
    EXPECT_EQ(p->options.window_scale, 7);
    EXPECT_TRUE(p->options.sack_permitted);
    ASSERT_TRUE(p->options.timestamps);
    EXPECT_EQ(*p->options.timestamps, (Timestamps{111, 222}));
    EXPECT_EQ(p->payload_len, 0u);
    // Byte layout of the fixed header (RFC 9293 §3.1 figure 1).
    EXPECT_EQ(buf[12], 0xa0);  // data offset 10 words
    EXPECT_EQ(buf[13], 0x12);  // SYN|ACK
}

TEST(TcpRepr, SackBlocksRoundTrip) {
    TcpRepr r;
    r.flags = flags::kAck;
    r.options.timestamps = Timestamps{1, 2};
    r.options.num_sack_blocks = 3;
    r.options.sack_blocks[0] = {SeqNum(100), SeqNum(200)};
    r.options.sack_blocks[1] = {SeqNum(300), SeqNum(400)};
    r.options.sack_blocks[2] = {SeqNum(0xfffffff0u), SeqNum(5)};
    std::array<std::uint8_t, 60> buf{};
    Writer w(buf);
    ASSERT_TRUE(r.emit(w));
    EXPECT_EQ(w.written(), 60u);
    auto p = TcpRepr::parse(ByteSpan(buf.data(), w.written()));
    ASSERT_TRUE(p.has_value());
    ASSERT_EQ(p->options.num_sack_blocks, 3);
    EXPECT_EQ(p->options.sack_blocks[2], (SackBlock{SeqNum(0xfffffff0u), SeqNum(5)}));
    // Four blocks with timestamps do not fit in 40 bytes.
    r.options.num_sack_blocks = 4;
    std::array<std::uint8_t, 80> big{};
    Writer w2(big);
    EXPECT_FALSE(r.emit(w2));
}

std::vector<std::uint8_t> header_with_options(std::vector<std::uint8_t> opts) {
    while (opts.size() % 4)
        opts.push_back(0);
    std::vector<std::uint8_t> h(20 + opts.size(), 0);
    h[12] = static_cast<std::uint8_t>(((20 + opts.size()) / 4) << 4);
    h[13] = flags::kSyn;
    for (std::size_t i = 0; i < opts.size(); ++i)
        h[20 + i] = opts[i];
    return h;
}

TEST(TcpRepr, MalformedOptionLengthsAreRejected) {
    // RFC 9293 §3.1: an illegal option length makes the segment unusable.
    const std::vector<std::vector<std::uint8_t>> bad = {
        {2, 0, 5, 0},         // length 0
        {2, 1, 5, 0},         // length 1
        {1, 1, 2, 4},         // MSS runs past the end of the options
        {8, 10, 0, 0, 0, 0},  // timestamps overrun the options
        {2, 3, 5, 1},         // MSS with length 3
        {3, 4, 7, 1},         // window scale with length 4
        {4, 3, 0, 1},         // SACK-permitted with length 3
        {5, 6, 0, 0, 0, 0},   // SACK block of 4 bytes
        {1, 1, 1, 0x99},      // unknown kind, length byte missing
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
        const std::vector<std::uint8_t> h = header_with_options(bad[i]);
        auto p = TcpRepr::parse(h);
        ASSERT_FALSE(p.has_value()) << "case " << i;
        EXPECT_EQ(p.error(), TcpParseError::kBadOption) << "case " << i;
    }
}

TEST(TcpRepr, UnknownOptionsSkippedAndEolEnds) {
    auto h = header_with_options({99, 4, 0xaa, 0xbb, 2, 4, 0x05, 0xb4, 0, 2, 0, 0});
    auto p = TcpRepr::parse(h);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->options.mss, 1460);
    EXPECT_FALSE(p->options.window_scale);
}

TEST(TcpRepr, BadDataOffsetAndTruncation) {
    std::vector<std::uint8_t> h(20, 0);
    h[12] = 0x40;  // 16 bytes
    EXPECT_EQ(TcpRepr::parse(h).error(), TcpParseError::kBadDataOffset);
    h[12] = 0x60;  // 24 bytes but only 20 present
    EXPECT_EQ(TcpRepr::parse(h).error(), TcpParseError::kTruncated);
    EXPECT_EQ(TcpRepr::parse(ByteSpan(h.data(), 19)).error(), TcpParseError::kTruncated);
    h[12] = 0x50;
    h.resize(25);
    auto p = TcpRepr::parse(h);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->payload_len, 5u);
}

TEST(TcpRepr, WindowScaleAbove14IsParsedAsSent) {
    auto p = TcpRepr::parse(header_with_options({1, 3, 3, 20}));
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->options.window_scale, 20);  // the connection clamps (tested there)
}

TEST(Checksum, KnownSegment) {
    // A SYN from 198.18.0.2:49152 to 198.18.0.1:80, seq 5000, window 65535,
    // no options. Sum by hand per RFC 1071 (and cross-checked in Python):
    // pseudo: c612+0002+c612+0001+0006+0014 = 0x18c41
    // header: c000+0050+0000+1388+0000+0000+5002+ffff+0000+0000 = 0x223d9
    // total 0x3b01a -> fold 0xb01d -> complement 0x4fe2.
    TcpRepr r = test::seg(flags::kSyn, 5000);
    std::array<std::uint8_t, 20> buf{};
    Writer w(buf);
    ASSERT_TRUE(r.emit(w));
    EXPECT_EQ(tcp_checksum(test::kRemoteIp, test::kLocalIp, buf), 0x4fe2);
}

TEST(Checksum, ChainedOddSegmentsMatchFlat) {
    rte_mempool* pool = l45::test::pktmbuf_pool();
    const auto data = bytes_of(1001, 3);
    // Flat.
    const std::uint16_t flat = tcp_checksum(test::kLocalIp, test::kRemoteIp, data);
    // Chain of 3 odd-sized segments.
    MbufPtr head(rte_pktmbuf_alloc(pool));
    ASSERT_TRUE(head);
    const std::size_t cuts[] = {0, 333, 667, 1001};
    for (int i = 0; i < 3; ++i) {
        rte_mbuf* m = i == 0 ? head.get() : rte_pktmbuf_alloc(pool);
        ASSERT_NE(m, nullptr);
        const auto n = static_cast<std::uint16_t>(cuts[i + 1] - cuts[i]);
        std::memcpy(rte_pktmbuf_append(m, n), data.data() + cuts[i], n);
        if (i > 0) {
            ASSERT_EQ(rte_pktmbuf_chain(head.get(), m), 0);
        }
    }
    EXPECT_EQ(tcp_checksum(test::kLocalIp, test::kRemoteIp, head.get()), flat);
}

TEST(Checksum, CorruptionIsDetected) {
    rte_mempool* pool = l45::test::pktmbuf_pool();
    MbufPtr m = test::build_segment(pool, test::kRemoteIp, test::kLocalIp,
                                    test::seg(flags::kAck, 1, 2), bytes_of(100));
    ASSERT_TRUE(m);
    EXPECT_TRUE(tcp_checksum_ok(test::kRemoteIp, test::kLocalIp, m.get()));
    rte_pktmbuf_mtod(m.get(), std::uint8_t*)[50] ^= 0x01;
    EXPECT_FALSE(tcp_checksum_ok(test::kRemoteIp, test::kLocalIp, m.get()));
    rte_pktmbuf_mtod(m.get(), std::uint8_t*)[50] ^= 0x01;
    EXPECT_FALSE(tcp_checksum_ok(test::kRemoteIp, net::Ipv4Addr::from_octets(198, 18, 0, 3),
                                 m.get()));  // the pseudo-header counts
}

// RFC 1071 §4.1 word by word, for ones_sum_add's word-at-a-time version:
// every length, every start alignment, and a split at every odd point.
std::uint32_t reference_sum(ByteSpan d) {
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i + 1 < d.size(); i += 2)
        acc += (std::uint32_t{d[i]} << 8) | d[i + 1];
    if (d.size() % 2) acc += std::uint32_t{d.back()} << 8;
    return ones_fold(static_cast<std::uint32_t>((acc & 0xffffffffu) + (acc >> 32)));
}

TEST(Checksum, WordSumMatchesReferenceForEveryLengthAlignmentAndSplit) {
    auto data = bytes_of(300, 7);
    data[0] = data[1] = 0xff;  // carries
    for (std::size_t start = 0; start < 8; ++start) {
        for (std::size_t len = 0; start + len <= data.size(); ++len) {
            const ByteSpan d = ByteSpan(data).subspan(start, len);
            const std::uint16_t want = static_cast<std::uint16_t>(reference_sum(d));
            bool odd = false;
            ASSERT_EQ(ones_fold(ones_sum_add(0, d, odd)), want) << start << "+" << len;
            EXPECT_EQ(odd, len % 2 == 1);
            // Two pieces, split at an odd point: the word straddles them.
            if (len >= 3) {
                const std::size_t cut = (len / 2) | 1;
                odd = false;
                std::uint32_t sum = ones_sum_add(0, d.first(cut), odd);
                ASSERT_TRUE(odd);
                sum = ones_sum_add(sum, d.subspan(cut), odd);
                ASSERT_EQ(ones_fold(sum), want) << start << "+" << len << " cut " << cut;
            }
        }
    }
    // All 0xff bytes: the sum must fold its carries, not lose them.
    std::vector<std::uint8_t> ff(1501, 0xff);
    bool odd = false;
    EXPECT_EQ(ones_fold(ones_sum_add(0, ff, odd)), reference_sum(ff));
}

TEST(SipHash, ReferenceVectors) {
    // SipHash-2-4 paper, Appendix A: key 00..0f.
    const std::array<std::uint64_t, 2> key = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    std::array<std::uint8_t, 15> msg{};
    for (std::size_t i = 0; i < msg.size(); ++i)
        msg[i] = static_cast<std::uint8_t>(i);
    EXPECT_EQ(siphash24(key, msg.data(), 15), 0xa129ca6149be45e5ULL);
    EXPECT_EQ(siphash24(key, msg.data(), 0), 0x726fdb47dd0e0e31ULL);
}

TEST(Isn, KeyedByTupleAndAdvancesWith4usTicks) {
    SeededRandom r1(1), r2(2);
    IsnGenerator g1(r1), g2(r2);
    const Instant t0 = Instant{} + 1000s;
    const auto a = test::kLocalIp, b = test::kRemoteIp;
    const std::uint32_t i0 = g1.isn(t0, a, 80, b, 1000);
    EXPECT_EQ(g1.isn(t0 + 4us, a, 80, b, 1000), i0 + 1);
    EXPECT_EQ(g1.isn(t0 + 4ms, a, 80, b, 1000), i0 + 1000);
    EXPECT_NE(g1.isn(t0, a, 80, b, 1001), i0);
    EXPECT_NE(g2.isn(t0, a, 80, b, 1000), i0);  // another secret
}

TEST(MbufQueue, AppendCopyConsumeAndCopyOut) {
    rte_mempool* pool = l45::test::pktmbuf_pool();
    MbufQueue q(16);
    const auto data = bytes_of(5000, 1);
    EXPECT_EQ(q.append_copy(ByteSpan(data).first(100), pool), 100u);
    EXPECT_EQ(q.append_copy(ByteSpan(data).subspan(100), pool), 4900u);
    EXPECT_EQ(q.bytes(), 5000u);
    EXPECT_LE(q.num_entries(), 3u);  // the tail mbuf was filled first
    std::vector<std::uint8_t> out(1234);
    ASSERT_TRUE(q.copy_out(2000, out));
    EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + 2000));
    q.consume(2500);
    ASSERT_TRUE(q.copy_out(0, out));
    EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + 2500));
    EXPECT_FALSE(q.copy_out(2000, out));  // past the end
    ByteSpan front = q.front_span();
    ASSERT_FALSE(front.empty());
    EXPECT_EQ(front[0], data[2500]);
    q.consume(2500);
    EXPECT_TRUE(q.empty());
}

// A sender's pattern: segment after segment copied out at growing offsets
// while ACKs consume the front (partly, then whole mbufs) and the
// application appends; every copy must match the stream, whether it starts
// at, after or before the copy_out cursor.
TEST(MbufQueue, CopyOutAcrossConsumesAndAppendsMatchesTheStream) {
    rte_mempool* pool = l45::test::pktmbuf_pool();
    MbufQueue q(64);
    // No short period: an offset off by a multiple of 256 must show.
    std::vector<std::uint8_t> data(1 << 20);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint8_t>(i * 7 + (i >> 8) * 13 + (i >> 16) * 29);
    std::size_t appended = 0, consumed = 0;
    auto append = [&](std::size_t n) {
        n = std::min(n, data.size() - appended);
        appended += q.append_copy(ByteSpan(data).subspan(appended, n), pool);
    };
    append(20000);
    std::vector<std::uint8_t> out(1448);
    std::uint32_t sent = 0;  // offset from the front of the next segment
    std::uint32_t max_sent = 0;
    for (int round = 0; round < 400; ++round) {
        // Up to three segments per round while at most ~40 KB are in flight.
        for (int k = 0; k < 3 && sent < 40000; ++k) {
            const std::uint32_t len = std::min<std::uint32_t>(1448, q.bytes() - sent);
            if (len == 0) break;
            ASSERT_TRUE(q.copy_out(sent, MutableByteSpan(out.data(), len)));
            ASSERT_TRUE(std::equal(out.begin(), out.begin() + len,
                                   data.begin() + static_cast<long>(consumed + sent)))
                << "round " << round;
            sent += len;
            max_sent = std::max(max_sent, sent);
        }
        if (round % 7 == 3) {  // a retransmission: back to the front
            const std::uint32_t n = std::min<std::uint32_t>(100, q.bytes());
            ASSERT_TRUE(q.copy_out(0, MutableByteSpan(out.data(), n)));
            ASSERT_TRUE(std::equal(out.begin(), out.begin() + n,
                                   data.begin() + static_cast<long>(consumed)));
        }
        const std::uint32_t ack = std::min<std::uint32_t>(sent, round % 3 == 0 ? 1000 : 2896);
        q.consume(ack);
        consumed += ack;
        sent -= ack;
        append(round % 2 ? 3000 : 777);
    }
    EXPECT_GT(consumed, 500000u);
    EXPECT_GT(max_sent, 10000u);  // copies started several mbufs deep in the queue
    q.clear();
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.copy_out(0, MutableByteSpan(out.data(), 1)));
    // Reused after clear: the cursor must not point into the old entries.
    append(5000);
    ASSERT_TRUE(q.copy_out(4000, MutableByteSpan(out.data(), 1000)));
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + 1000,
                           data.begin() + static_cast<long>(appended - 1000)));
}

TEST(OooQueue, TrimsOverlapsDrainsAndOrdersSackBlocks) {
    rte_mempool* pool = l45::test::pktmbuf_pool();
    OooQueue q(4);
    MbufQueue rx(16);
    const auto data = bytes_of(1000);
    auto piece = [&](std::uint32_t from, std::uint32_t len) {
        MbufPtr m(rte_pktmbuf_alloc(pool));
        std::memcpy(rte_pktmbuf_append(m.get(), static_cast<std::uint16_t>(len)),
                    data.data() + from, len);
        return m;
    };
    const SeqNum base(0xffffff00u);  // crosses the wrap
    auto m1 = piece(300, 100);
    EXPECT_TRUE(q.insert(base + 300, m1, 0, 100));
    auto m2 = piece(600, 100);
    EXPECT_TRUE(q.insert(base + 600, m2, 0, 100));
    auto m3 = piece(350, 100);  // overlaps the first: only 400..450 is new
    EXPECT_TRUE(q.insert(base + 350, m3, 0, 100));
    auto dup = piece(300, 50);
    EXPECT_FALSE(q.insert(base + 300, dup, 0, 50));
    EXPECT_EQ(q.bytes(), 250u);
    SackBlock blocks[4];
    ASSERT_EQ(q.sack_blocks(blocks, 4), 2);
    // The block with the most recent segment (400..450 joins 300..400) first.
    EXPECT_EQ(blocks[0], (SackBlock{base + 300, base + 450}));
    EXPECT_EQ(blocks[1], (SackBlock{base + 600, base + 700}));
    // Nothing drains until the hole at 0..300 is filled.
    EXPECT_EQ(q.drain_into(base, rx), base);
    EXPECT_EQ(q.drain_into(base + 320, rx), base + 450);
    ASSERT_EQ(rx.bytes(), 130u);
    std::vector<std::uint8_t> out(130);
    ASSERT_TRUE(rx.copy_out(0, out));
    EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + 320));
    EXPECT_EQ(q.num_entries(), 1u);
    q.clear();
    EXPECT_TRUE(q.empty());
}

TEST(TimerHeap, OrdersUpdatesAndRemoves) {
    TimerHeap h(8);
    const Instant t0 = Instant{} + 1s;
    h.update(3, t0 + 30ms);
    h.update(5, t0 + 10ms);
    h.update(1, t0 + 20ms);
    h.update(7, t0 + 40ms);
    EXPECT_EQ(h.top_slot(), 5u);
    h.update(7, t0 + 5ms);  // earlier
    EXPECT_EQ(h.top_slot(), 7u);
    h.update(7, t0 + 50ms);  // later again
    EXPECT_EQ(h.top_slot(), 5u);
    h.remove(5);
    EXPECT_FALSE(h.contains(5));
    EXPECT_EQ(h.top_slot(), 1u);
    h.update(1, Instant::max());  // kNever removes
    EXPECT_EQ(h.size(), 2u);
    EXPECT_EQ(h.top_slot(), 3u);
    h.remove(3);
    EXPECT_EQ(h.top_slot(), 7u);
    EXPECT_EQ(h.top_deadline(), t0 + 50ms);
    h.remove(7);
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.top_deadline(), Instant::max());
    // Many entries pop in order.
    SeededRandom r(5);
    TimerHeap big(200);
    for (std::uint32_t i = 0; i < 200; ++i)
        big.update(i, t0 + std::chrono::microseconds(r.below(1000)));
    for (std::uint32_t i = 0; i < 100; ++i)
        big.remove(static_cast<std::uint32_t>(r.below(200)));
    Instant last = Instant::min();
    while (!big.empty()) {
        EXPECT_LE(last, big.top_deadline());
        last = big.top_deadline();
        big.remove(big.top_slot());
    }
}

TEST(Cubic, FollowsTheCubicCurveAroundWmax) {
    Cubic cubic;
    CcState s;
    s.mss = 1000;
    s.cwnd = 100 * 1000;
    const Instant t0 = Instant{} + 10s;
    cubic.on_loss(s, t0, s.cwnd);
    // RFC 9438 §4.6: ssthresh = 0.7 cwnd; §4.2: K = cbrt(W_max (1-beta) / C).
    EXPECT_EQ(s.ssthresh, 70u * 1000u);
    EXPECT_DOUBLE_EQ(cubic.w_max_segments(), 100.0);
    s.cwnd = s.ssthresh;  // recovery ends at ssthresh
    cubic.on_recovery_exit(s, t0);
    const Duration rtt = 100ms;
    Instant now = t0;
    double k = 0;
    std::uint32_t at_half_k = 0, at_k = 0;
    bool half_done = false, k_done = false;
    while (now - t0 < 10s) {
        cubic.on_ack(s, now, s.mss, rtt);
        k = cubic.k_seconds();
        const double t = std::chrono::duration<double>(now - t0).count();
        if (!half_done && t >= k / 2) {
            at_half_k = s.cwnd;
            half_done = true;
        }
        if (!k_done && t >= k) {
            at_k = s.cwnd;
            k_done = true;
        }
        // One ACK per segment per RTT.
        now += std::chrono::duration_cast<Duration>(rtt * (1000.0 / s.cwnd));
    }
    EXPECT_NEAR(k, std::cbrt(100 * 0.3 / 0.4), 1e-9);
    // Concave: most of the way back by K/2, just under W_max at K (the
    // target looks one RTT ahead), and well above it later (convex probing).
    EXPECT_GT(at_half_k, 85'000u);
    EXPECT_LT(at_half_k, 100'000u);
    EXPECT_NEAR(static_cast<double>(at_k), 100'000.0, 2'000.0);
    EXPECT_GT(s.cwnd, 130'000u);
    // §4.7 fast convergence: a loss below the last W_max lowers W_max further.
    s.cwnd = 90 * 1000;
    cubic.on_loss(s, now, s.cwnd);
    cubic.on_loss(s, now, s.cwnd);  // second loss at the same 90 (< 90? no) keeps 90
    s.cwnd = 80 * 1000;
    cubic.on_loss(s, now, s.cwnd);
    EXPECT_DOUBLE_EQ(cubic.w_max_segments(), 80.0 * 1.7 / 2.0);
    // §4.8: an RTO leaves one segment.
    cubic.on_rto(s, now, s.cwnd);
    EXPECT_EQ(s.cwnd, 1000u);
}

TEST(NewReno, SlowStartThenLinearGrowth) {
    NewReno nr;
    CcState s;
    s.mss = 1000;
    s.cwnd = 10'000;
    s.ssthresh = 20'000;
    const Instant t0 = Instant{} + 10s;
    nr.on_ack(s, t0, 5'000, 100ms);
    EXPECT_EQ(s.cwnd, 12'000u);  // RFC 3465: at most 2 SMSS per ACK
    s.cwnd = 20'000;
    for (int i = 0; i < 20; ++i)
        nr.on_ack(s, t0, 1'000, 100ms);  // one cwnd of data acknowledged
    EXPECT_EQ(s.cwnd, 21'000u);          // +1 SMSS per RTT
    nr.on_loss(s, t0, 30'000);
    EXPECT_EQ(s.ssthresh, 15'000u);
    nr.on_rto(s, t0, 1'000);
    EXPECT_EQ(s.ssthresh, 2'000u);  // max(flight/2, 2 SMSS)
    EXPECT_EQ(s.cwnd, 1'000u);
}

}  // namespace
}  // namespace l45::tcp
