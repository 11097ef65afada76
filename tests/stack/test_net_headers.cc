// Header parsers and emitters: table-driven valid / truncated / bad-length /
// bad-checksum cases, emit->parse round trips, and random inputs.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "stack/base/random.h"
#include "stack/net/addr.h"
#include "stack/net/arp.h"
#include "stack/net/checksum.h"
#include "stack/net/ethernet.h"
#include "stack/net/icmp.h"
#include "stack/net/ipv4.h"
#include "stack/net/token_bucket.h"
#include "tests/stack/net_frames.h"

namespace l45::net {
namespace {

using test::Bytes;

// ------------------------------------------------------------- addresses

TEST(Ipv4Addr, ParseAndFormat) {
    struct Case {
        const char* text;
        bool ok;
        std::uint32_t value;
    };
    const Case cases[] = {
        {"198.18.0.2", true, 0xc6120002},
        {"0.0.0.0", true, 0},
        {"255.255.255.255", true, 0xffffffff},
        {"256.0.0.1", false, 0},
        {"1.2.3", false, 0},
        {"1.2.3.4.", false, 0},
        {"1.2.3.4.5", false, 0},
        {"1..3.4", false, 0},
        {"a.b.c.d", false, 0},
        {"", false, 0},
        {"1.2.3.1234", false, 0},
        {" 1.2.3.4", false, 0},
        {"-1.2.3.4", false, 0},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.text);
        auto a = Ipv4Addr::parse(c.text);
        ASSERT_EQ(a.has_value(), c.ok);
        if (c.ok) {
            EXPECT_EQ(a->value, c.value);
            EXPECT_EQ(a->to_string(), c.text);
        }
    }
    EXPECT_EQ(Ipv4Addr::from_be(Ipv4Addr{0xc6120002}.to_be()).value, 0xc6120002u);
    EXPECT_EQ(Ipv4Addr::from_octets(198, 18, 0, 2).value, 0xc6120002u);
    EXPECT_EQ(prefix_mask(24), 0xffffff00u);
    EXPECT_EQ(prefix_mask(0), 0u);
    EXPECT_EQ(prefix_mask(32), 0xffffffffu);
    EXPECT_EQ(prefix_mask(15), 0xfffe0000u);
}

TEST(MacAddr, ParseAndFormat) {
    auto m = parse_mac("02:00:5e:10:ab:FF");
    ASSERT_TRUE(m);
    EXPECT_EQ(mac_to_string(*m), "02:00:5e:10:ab:ff");
    EXPECT_FALSE(parse_mac("02:00:5e:10:ab"));
    EXPECT_FALSE(parse_mac("02-00-5e-10-ab-ff"));
    EXPECT_FALSE(parse_mac("02:00:5e:10:ab:fg"));
}

// ------------------------------------------------------------- checksum

TEST(Checksum, Rfc1071Example) {
    // RFC 1071 section 3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
    const std::array<std::uint8_t, 8> data = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(checksum_fold(checksum_add(0, data)), 0xddf2);
    EXPECT_EQ(internet_checksum(data), static_cast<std::uint16_t>(~0xddf2));
}

TEST(Checksum, KnownIpv4Header) {
    // A textbook header (Wikipedia "IPv4 header checksum"): checksum b861.
    const Bytes hdr = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(internet_checksum(hdr), 0xb861);
    Bytes with = hdr;
    with[10] = 0xb8;
    with[11] = 0x61;
    EXPECT_TRUE(checksum_ok(with));
    with[12] ^= 1;
    EXPECT_FALSE(checksum_ok(with));
}

TEST(Checksum, MatchesReferenceOnRandomInput) {
    SeededRandom rng(42);
    for (int i = 0; i < 2000; ++i) {
        Bytes b(rng.below(300));
        rng.fill(b);
        EXPECT_EQ(internet_checksum(b), test::ref_checksum(b, 0, b.size())) << b.size();
    }
}

TEST(Checksum, IncrementalUpdateMatchesRecompute) {
    SeededRandom rng(7);
    for (int i = 0; i < 2000; ++i) {
        Bytes b(2 * (2 + rng.below(40)));
        rng.fill(b);
        b[2] = b[3] = 0;
        const std::uint16_t ck = internet_checksum(b);
        const std::uint16_t old_word = test::get16(b, 0);
        const auto new_word = static_cast<std::uint16_t>(rng.next());
        b[0] = static_cast<std::uint8_t>(new_word >> 8);
        b[1] = static_cast<std::uint8_t>(new_word);
        const std::uint16_t updated = checksum_update16(ck, old_word, new_word);
        store_be16(b.data() + 2, updated);
        EXPECT_TRUE(checksum_ok(b));
    }
}

// ------------------------------------------------------------- Ethernet

TEST(Ethernet, ParseEmitAndTruncation) {
    const Bytes f = test::eth(test::kOurMac, test::kPeerMac, 0x0800);
    auto h = EthernetHeader::parse(f);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->ethertype, 0x0800);
    EXPECT_EQ(h->dst.addr_bytes[5], 0x01);
    EXPECT_EQ(h->src.addr_bytes[5], 0x02);
    EXPECT_FALSE(h->is_vlan_tagged());
    for (std::size_t n = 0; n < f.size(); ++n)
        EXPECT_FALSE(EthernetHeader::parse(ByteSpan(f).first(n))) << n;
    Bytes out(14);
    ASSERT_TRUE(h->emit(out));
    EXPECT_EQ(out, f);
    Bytes small(13);
    EXPECT_FALSE(h->emit(small));
    for (std::uint16_t t : {0x8100, 0x88a8, 0x9100}) {
        auto v = EthernetHeader::parse(test::eth(test::kOurMac, test::kPeerMac, t));
        ASSERT_TRUE(v);
        EXPECT_TRUE(v->is_vlan_tagged());
    }
}

// ------------------------------------------------------------- ARP

TEST(Arp, ParseTable) {
    const Bytes good = test::arp_frame(1, test::kBcastMac, test::kPeerMac, test::kPeerIp,
                                       Bytes(6, 0), test::kOurIp);
    const Bytes payload(good.begin() + 14, good.end());
    struct Case {
        const char* name;
        Bytes bytes;
        bool ok;
        ArpError error;
    };
    auto mutate = [&](std::size_t at, std::uint8_t v) {
        Bytes b = payload;
        b[at] = v;
        return b;
    };
    Bytes padded = payload;
    padded.resize(46, 0);
    const Case cases[] = {
        {"valid request", payload, true, {}},
        {"valid with padding", padded, true, {}},
        {"empty", {}, false, ArpError::truncated},
        {"7 bytes", Bytes(payload.begin(), payload.begin() + 7), false, ArpError::truncated},
        {"27 bytes", Bytes(payload.begin(), payload.end() - 1), false, ArpError::truncated},
        {"htype 6", mutate(1, 6), false, ArpError::unsupported},
        {"ptype ipv6", mutate(2, 0x86), false, ArpError::unsupported},
        {"hlen 8", mutate(4, 8), false, ArpError::unsupported},
        {"plen 16", mutate(5, 16), false, ArpError::unsupported},
        {"op 3", mutate(7, 3), false, ArpError::bad_op},
        {"op 0", mutate(7, 0), false, ArpError::bad_op},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        auto p = ArpPacket::parse(c.bytes);
        ASSERT_EQ(p.has_value(), c.ok);
        if (!c.ok) {
            EXPECT_EQ(p.error(), c.error);
            continue;
        }
        EXPECT_EQ(p->op, ArpOp::request);
        EXPECT_EQ(p->sender_ip.value, test::kPeerIp);
        EXPECT_EQ(p->target_ip.value, test::kOurIp);
        EXPECT_EQ(p->sender_mac.addr_bytes[5], 0x02);
        Bytes out(28);
        ASSERT_TRUE(p->emit(out));
        EXPECT_EQ(out, payload);
        Bytes small(27);
        EXPECT_FALSE(p->emit(small));
    }
}

// ------------------------------------------------------------- IPv4

TEST(Ipv4, ParseTable) {
    test::IpOpts o;
    const Bytes frame = test::ip_frame(o, Bytes(12, 0xab));
    const Bytes dgram(frame.begin() + 14, frame.end());  // 32 bytes
    auto mutate = [&](std::size_t at, std::uint8_t v, bool fix_checksum = true) {
        Bytes b = dgram;
        b[at] = v;
        if (fix_checksum) {
            const std::size_t ihl = std::max<std::size_t>(20, (b[0] & 0xf) * 4u);
            if (ihl <= b.size()) {
                b[10] = b[11] = 0;
                store_be16(b.data() + 10, test::ref_checksum(b, 0, ihl));
            }
        }
        return b;
    };
    Bytes padded = dgram;
    padded.resize(46, 0);  // Ethernet padding after the datagram
    test::IpOpts with_opts;
    with_opts.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
    const Bytes opt_frame = test::ip_frame(with_opts, Bytes(4, 1));
    const Bytes opt_dgram(opt_frame.begin() + 14, opt_frame.end());

    struct Case {
        const char* name;
        Bytes bytes;
        bool ok;
        Ipv4Error error;
    };
    const Case cases[] = {
        {"valid", dgram, true, {}},
        {"valid with padding", padded, true, {}},
        {"valid with options", opt_dgram, true, {}},
        {"empty", {}, false, Ipv4Error::truncated},
        {"19 bytes", Bytes(dgram.begin(), dgram.begin() + 19), false, Ipv4Error::truncated},
        {"version 6", mutate(0, 0x65), false, Ipv4Error::bad_version},
        {"version 0", mutate(0, 0x05), false, Ipv4Error::bad_version},
        {"ihl 4", mutate(0, 0x44), false, Ipv4Error::bad_ihl},
        {"ihl 0", mutate(0, 0x40), false, Ipv4Error::bad_ihl},
        {"ihl 15 beyond datagram", mutate(0, 0x4f), false, Ipv4Error::bad_ihl},
        {"total length < ihl", mutate(3, 19), false, Ipv4Error::bad_total_length},
        {"total length > bytes", mutate(3, 33), false, Ipv4Error::bad_total_length},
        {"total length 0",
         [&] {
             Bytes b = dgram;
             b[2] = b[3] = b[10] = b[11] = 0;
             store_be16(b.data() + 10, test::ref_checksum(b, 0, 20));
             return b;
         }(),
         false, Ipv4Error::bad_total_length},
        {"bad checksum", mutate(11, static_cast<std::uint8_t>(dgram[11] ^ 0x40), false), false,
         Ipv4Error::bad_checksum},
        {"bad checksum (flipped address bit)", mutate(19, 0x03, false), false,
         Ipv4Error::bad_checksum},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        auto h = Ipv4Header::parse(c.bytes);
        ASSERT_EQ(h.has_value(), c.ok) << (h ? -1 : static_cast<int>(h.error()));
        if (!c.ok) {
            EXPECT_EQ(h.error(), c.error);
            continue;
        }
        EXPECT_EQ(h->src.value, test::kPeerIp);
        EXPECT_EQ(h->dst.value, test::kOurIp);
        EXPECT_EQ(h->protocol, 1);
        EXPECT_EQ(h->ttl, 64);
        EXPECT_EQ(h->id, 0x1234);
        EXPECT_FALSE(h->is_fragment());
        EXPECT_EQ(h->total_len, h->header_len + h->payload_len());
    }
    // Options: header_len says where the payload starts.
    EXPECT_EQ(Ipv4Header::parse(opt_dgram)->header_len, 24);
    // A bad checksum passes when the NIC verified it (the caller's choice).
    EXPECT_TRUE(Ipv4Header::parse(mutate(11, 0, false), false));
}

TEST(Ipv4, HeaderNotContiguousIsDistinguished) {
    const Bytes frame = test::ip_frame({}, Bytes(40, 0));
    const Bytes dgram(frame.begin() + 14, frame.end());
    auto h = Ipv4Header::parse(ByteSpan(dgram).first(10), dgram.size());
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error(), Ipv4Error::header_not_contiguous);
    EXPECT_TRUE(Ipv4Header::parse(ByteSpan(dgram).first(20), dgram.size()));
}

TEST(Ipv4, Fragments) {
    for (std::uint16_t ff : {0x2000, 0x0001, 0x2010, 0x1fff}) {
        test::IpOpts o;
        o.flags_frag = ff;
        const Bytes f = test::ip_frame(o, Bytes(8, 0));
        auto h = Ipv4Header::parse(ByteSpan(f).subspan(14));
        ASSERT_TRUE(h);
        EXPECT_TRUE(h->is_fragment()) << ff;
    }
    test::IpOpts df;
    df.flags_frag = 0x4000;
    const Bytes f = test::ip_frame(df, Bytes(8, 0));
    EXPECT_FALSE(Ipv4Header::parse(ByteSpan(f).subspan(14))->is_fragment());
}

TEST(Ipv4, EmitMatchesReferenceAndRoundTrips) {
    Ipv4Header h;
    h.total_len = 0x73;
    h.id = 0;
    h.flags_fragment = kIpv4FlagDf;
    h.ttl = 64;
    h.protocol = 17;
    h.src = Ipv4Addr{0xc0a80001};
    h.dst = Ipv4Addr{0xc0a800c7};
    Bytes out(20);
    ASSERT_TRUE(h.emit(out));
    const Bytes expected = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(out, expected);
    Bytes with_payload = out;
    with_payload.resize(0x73, 0);
    auto back = Ipv4Header::parse(with_payload);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->src, h.src);
    EXPECT_EQ(back->protocol, 17);
    // Without software checksum the field stays zero (NIC offload).
    ASSERT_TRUE(h.emit(out, false));
    EXPECT_EQ(out[10], 0);
    EXPECT_EQ(out[11], 0);
    Bytes small(19);
    EXPECT_FALSE(h.emit(small));
}

// ------------------------------------------------------------- ICMP

TEST(Icmp, ParseTable) {
    const Bytes msg = test::icmp_msg(8, 0, 0xbeef, 7, Bytes(5, 0x61));
    auto h = IcmpHeader::parse(msg);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->type, 8);
    EXPECT_EQ(h->code, 0);
    EXPECT_EQ(h->echo_id(), 0xbeef);
    EXPECT_EQ(h->echo_seq(), 7);
    EXPECT_EQ(h->checksum, test::get16(msg, 2));
    EXPECT_TRUE(checksum_ok(msg));
    for (std::size_t n = 0; n < 8; ++n) {
        auto t = IcmpHeader::parse(ByteSpan(msg).first(n));
        ASSERT_FALSE(t);
        EXPECT_EQ(t.error(), IcmpError::truncated);
    }
    Bytes out(8);
    ASSERT_TRUE(h->emit(out));
    EXPECT_EQ(out, Bytes(msg.begin(), msg.begin() + 8));
    Bytes small(7);
    EXPECT_FALSE(h->emit(small));
}

// ------------------------------------------------------------- random input

TEST(Parsers, RandomInputNeverReadsOutOfBounds) {
    // Under ASan an overread of the exactly-sized vector fails the test.
    SeededRandom rng(0x1e45);
    int ok_ip = 0;
    for (int i = 0; i < 100000; ++i) {
        Bytes b(rng.below(80));
        rng.fill(b);
        if (!b.empty() && rng.below(2)) b[0] = static_cast<std::uint8_t>(0x45 + rng.below(11));
        (void)EthernetHeader::parse(b);
        (void)ArpPacket::parse(b);
        (void)IcmpHeader::parse(b);
        auto h = Ipv4Header::parse(b, rng.below(2) == 0);
        if (h) {
            ++ok_ip;
            EXPECT_LE(h->total_len, b.size());
            EXPECT_GE(h->total_len, h->header_len);
            EXPECT_GE(h->header_len, 20);
        }
        (void)checksum_ok(b);
    }
    EXPECT_GT(ok_ip, 0);
}

// ------------------------------------------------------------- token bucket

TEST(TokenBucket, BurstThenRate) {
    TokenBucket b(10, 3);  // 10/s, burst 3
    Instant t{};
    EXPECT_TRUE(b.try_take(t));
    EXPECT_TRUE(b.try_take(t));
    EXPECT_TRUE(b.try_take(t));
    EXPECT_FALSE(b.try_take(t));
    t += std::chrono::milliseconds(99);
    EXPECT_FALSE(b.try_take(t));
    t += std::chrono::milliseconds(1);  // 100 ms: one token
    EXPECT_TRUE(b.try_take(t));
    EXPECT_FALSE(b.try_take(t));
    t += std::chrono::hours(1000);  // long idle: capped at the burst, no overflow
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(b.try_take(t));
    EXPECT_FALSE(b.try_take(t));
    TokenBucket unlimited(0, 0);
    for (int i = 0; i < 100000; ++i)
        ASSERT_TRUE(unlimited.try_take(t));
}

}  // namespace
}  // namespace l45::net
