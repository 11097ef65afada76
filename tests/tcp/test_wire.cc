// Sequence numbers, the header and its options, the checksum, SipHash and
// the mbuf queues.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "stack/tcp/buffer.h"
#include "stack/tcp/header.h"
#include "stack/tcp/isn.h"
#include "stack/tcp/seq.h"
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

}  // namespace
}  // namespace l45::tcp
