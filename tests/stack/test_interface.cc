// Interface: hand-built frames in, exact frames out, one counter per drop,
// random/mutated frames crash nothing and leak no mbuf.
#include <gtest/gtest.h>
#include <rte_mempool.h>

#include <map>
#include <string>
#include <vector>

#include "stack/base/random.h"
#include "stack/net/checksum.h"
#include "stack/net/interface.h"
#include "tests/stack/net_frames.h"
#include "tests/support/eal_env.h"

namespace l45::net {
namespace {

using namespace std::chrono_literals;
using test::Bytes;
using test::kBcastMac;
using test::kOurIp;
using test::kOurMac;
using test::kPeerIp;
using test::kPeerMac;

rte_ether_addr to_mac(const Bytes& b) {
    rte_ether_addr m{};
    std::copy(b.begin(), b.end(), m.addr_bytes);
    return m;
}

InterfaceConfig default_config() {
    InterfaceConfig c;
    c.mac = to_mac(kOurMac);
    c.ip = Ipv4Addr{kOurIp};
    c.prefix_len = 24;
    c.arp.gratuitous_at_start = true;
    return c;
}

// Records what an L4 handler receives.
class RecordingHandler : public L4Handler {
  public:
    void on_ipv4(Instant, const Ipv4Info& info, MbufPtr m) override {
        infos.push_back(info);
        payloads.push_back(test::from_mbuf(m.get()));
    }
    std::vector<Ipv4Info> infos;
    std::vector<Bytes> payloads;
};

std::map<std::string, std::uint64_t> snapshot(const Counters& c) {
    std::map<std::string, std::uint64_t> out;
    c.for_each([&](std::string_view name, std::uint64_t v) { out[std::string(name)] = v; });
    return out;
}

class InterfaceTest : public ::testing::Test {
  protected:
    void SetUp() override { baseline_ = rte_mempool_in_use_count(pool()); }
    void TearDown() override {
        iface_.reset();
        EXPECT_EQ(rte_mempool_in_use_count(pool()), baseline_) << "mbuf leak";
    }
    static rte_mempool* pool() { return l45::test::pktmbuf_pool(); }

    Interface& make(const InterfaceConfig& c = default_config(), TxOffloads o = {}) {
        iface_ = std::make_unique<Interface>(c, pool(), o);
        return *iface_;
    }
    void feed(const Bytes& frame, std::size_t seg_len = 0, std::uint64_t ol_flags = 0) {
        rte_mbuf* m = test::to_mbuf(pool(), frame, seg_len);
        ASSERT_NE(m, nullptr);
        m->ol_flags = ol_flags;
        iface_->receive(now_, MbufPtr(m));
    }
    // Everything queued for transmit, as bytes (the mbufs are freed).
    std::vector<Bytes> drain() {
        std::vector<Bytes> out;
        std::array<rte_mbuf*, 8> burst{};
        std::size_t n;
        while ((n = iface_->drain_tx(burst)) > 0)
            for (std::size_t i = 0; i < n; ++i) {
                out.push_back(test::from_mbuf(burst[i]));
                last_ol_flags_ = burst[i]->ol_flags;
                last_l2_l3_ = {std::uint64_t{burst[i]->l2_len}, std::uint64_t{burst[i]->l3_len}};
                rte_pktmbuf_free(burst[i]);
            }
        return out;
    }
    // An mbuf carrying an L4 payload with headroom, as TCP would hand it over.
    static MbufPtr l4_payload(const Bytes& b) {
        MbufPtr m(rte_pktmbuf_alloc(pool()));
        auto* p = reinterpret_cast<std::uint8_t*>(
            rte_pktmbuf_append(m.get(), static_cast<std::uint16_t>(b.size())));
        std::copy(b.begin(), b.end(), p);
        return m;
    }
    Bytes echo_request(std::uint16_t seq, const Bytes& data, test::IpOpts o = {}) {
        o.protocol = 1;
        return test::ip_frame(o, test::icmp_msg(8, 0, 0x4242, seq, data));
    }

    std::unique_ptr<Interface> iface_;
    Instant now_{std::chrono::seconds(1000)};
    unsigned baseline_ = 0;
    std::uint64_t last_ol_flags_ = 0;
    std::pair<std::uint64_t, std::uint64_t> last_l2_l3_{};
};

// ------------------------------------------------------------- mbuf checksum

TEST_F(InterfaceTest, MbufChecksumMatchesReferenceOnAnySegmentation) {
    SeededRandom rng(99);
    for (int i = 0; i < 3000; ++i) {
        Bytes b(1 + rng.below(600));
        rng.fill(b);
        rte_mbuf* m = test::to_mbuf(pool(), b, 1 + rng.below(80));
        ASSERT_NE(m, nullptr);
        const auto off = static_cast<std::uint32_t>(rng.below(b.size()));
        const auto len = static_cast<std::uint32_t>(rng.below(b.size() - off + 1));
        std::uint16_t sum = 0;
        ASSERT_TRUE(mbuf_checksum_sum(m, off, len, sum));
        EXPECT_EQ(static_cast<std::uint16_t>(~sum), test::ref_checksum(b, off, len))
            << "off " << off << " len " << len;
        EXPECT_FALSE(mbuf_checksum_sum(m, off, static_cast<std::uint32_t>(b.size()) + 1, sum));
        rte_pktmbuf_free(m);
    }
}

// ------------------------------------------------------------- ARP

TEST_F(InterfaceTest, GratuitousArpAtStart) {
    Interface& ifc = make();
    ifc.start(now_);
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    // RFC 5227 announcement: broadcast, request, sender == target == our IP.
    EXPECT_EQ(out[0], test::arp_frame(1, kBcastMac, kOurMac, kOurIp, Bytes(6, 0), kOurIp));
    EXPECT_EQ(ifc.counters().arp_gratuitous_out, 1u);

    InterfaceConfig quiet = default_config();
    quiet.arp.gratuitous_at_start = false;
    make(quiet).start(now_);
    EXPECT_TRUE(drain().empty());
}

TEST_F(InterfaceTest, AnswersArpRequestForUsAndLearnsSender) {
    Interface& ifc = make();
    Bytes req = test::arp_frame(1, kBcastMac, kPeerMac, kPeerIp, Bytes(6, 0), kOurIp);
    req.resize(60, 0);  // Ethernet padding, dropped in the reply
    feed(req);
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], test::arp_frame(2, kPeerMac, kOurMac, kOurIp, kPeerMac, kPeerIp));
    EXPECT_EQ(ifc.counters().arp_requests_in, 1u);
    EXPECT_EQ(ifc.counters().arp_replies_out, 1u);
    const rte_ether_addr* learnt = ifc.arp().lookup(now_, Ipv4Addr{kPeerIp});
    ASSERT_NE(learnt, nullptr);
    EXPECT_TRUE(mac_equal(*learnt, to_mac(kPeerMac)));
}

TEST_F(InterfaceTest, ArpForSomeoneElseIsNotAnsweredNorLearnt) {
    Interface& ifc = make();
    feed(test::arp_frame(1, kBcastMac, kPeerMac, kPeerIp, Bytes(6, 0), 0xc6120063));
    EXPECT_TRUE(drain().empty());
    EXPECT_EQ(ifc.counters().arp_not_for_us, 1u);
    EXPECT_EQ(ifc.arp().size(), 0u);
}

TEST_F(InterfaceTest, GratuitousArpUpdatesKnownEntry) {
    Interface& ifc = make();
    feed(test::arp_frame(1, kBcastMac, kPeerMac, kPeerIp, Bytes(6, 0), kOurIp));
    drain();
    const Bytes new_mac = {0x02, 0, 0, 0, 0, 0x77};
    feed(test::arp_frame(1, kBcastMac, new_mac, kPeerIp, Bytes(6, 0), kPeerIp));
    EXPECT_TRUE(drain().empty());
    EXPECT_TRUE(mac_equal(*ifc.arp().lookup(now_, Ipv4Addr{kPeerIp}), to_mac(new_mac)));
}

// ------------------------------------------------------------- ICMP

// The reply built independently: what RFC 792 says the stack must send.
Bytes expected_echo_reply(std::uint16_t ip_id, std::uint16_t seq, const Bytes& data) {
    test::IpOpts o;
    o.src = kOurIp;
    o.dst = kPeerIp;
    o.id = ip_id;
    o.protocol = 1;
    return test::ip_frame(o, test::icmp_msg(0, 0, 0x4242, seq, data), kPeerMac, kOurMac);
}

void expect_checksums_valid(const Bytes& f) {
    ASSERT_GE(f.size(), 34u);
    const std::size_t ihl = (f[14] & 0xf) * 4u;
    EXPECT_EQ(test::ref_checksum(f, 14, ihl), 0) << "IP header checksum";
    EXPECT_EQ(test::ref_checksum(f, 14 + ihl, f.size() - 14 - ihl), 0) << "ICMP checksum";
}

TEST_F(InterfaceTest, EchoReplyExactBytes) {
    Interface& ifc = make();
    const Bytes data = {'l', '4', '5', ' ', 'p', 'i', 'n', 'g', '!'};  // odd length
    feed(echo_request(1, data));
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], expected_echo_reply(0, 1, data));
    expect_checksums_valid(out[0]);
    EXPECT_EQ(last_ol_flags_, 0u);
    EXPECT_EQ(ifc.counters().icmp_echo_requests_in, 1u);
    EXPECT_EQ(ifc.counters().icmp_echo_replies_out, 1u);
    // The IP id advances.
    feed(echo_request(2, data));
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], expected_echo_reply(1, 2, data));
}

TEST_F(InterfaceTest, EchoReplyMultiSegmentAndPadding) {
    make();
    Bytes data(1000);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint8_t>(i * 7 + 1);
    Bytes frame = echo_request(9, data);
    feed(frame, 77);  // odd-sized segments: checksum over odd boundaries
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], expected_echo_reply(0, 9, data));
    expect_checksums_valid(out[0]);

    // A short echo padded to 60 bytes: the padding is not echoed.
    Bytes small = echo_request(10, {1, 2, 3});
    small.resize(60, 0xee);
    feed(small);
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], expected_echo_reply(1, 10, {1, 2, 3}));
    // Padding split into its own segment: trimmed away with it.
    feed(small, 45);
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], expected_echo_reply(2, 10, {1, 2, 3}));
}

TEST_F(InterfaceTest, EchoReplyDropsIpOptions) {
    make();
    test::IpOpts o;
    o.options = {0x01, 0x01, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00};
    feed(echo_request(3, {9, 8, 7, 6}, o));
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], expected_echo_reply(0, 3, {9, 8, 7, 6}));
}

TEST_F(InterfaceTest, EchoReplyWithChecksumOffload) {
    make(default_config(), TxOffloads{.ipv4_cksum = true});
    feed(echo_request(1, {1, 2}));
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0][24], 0);  // left to the NIC
    EXPECT_EQ(out[0][25], 0);
    EXPECT_EQ(last_ol_flags_, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
    EXPECT_EQ(last_l2_l3_.first, 14u);
    EXPECT_EQ(last_l2_l3_.second, 20u);
    Bytes expected = expected_echo_reply(0, 1, {1, 2});
    expected[24] = expected[25] = 0;
    EXPECT_EQ(out[0], expected);
}

TEST_F(InterfaceTest, EchoRateLimit) {
    InterfaceConfig c = default_config();
    c.icmp.echo_rate_per_sec = 10;
    c.icmp.echo_burst = 3;
    Interface& ifc = make(c);
    for (std::uint16_t i = 0; i < 5; ++i)
        feed(echo_request(i, {}));
    EXPECT_EQ(drain().size(), 3u);
    EXPECT_EQ(ifc.counters().icmp_rate_limited, 2u);
    now_ += 100ms;
    feed(echo_request(5, {}));
    feed(echo_request(6, {}));
    EXPECT_EQ(drain().size(), 1u);
    EXPECT_EQ(ifc.counters().icmp_rate_limited, 3u);
}

TEST_F(InterfaceTest, DefaultRateLimitAnswersAFloodPing) {
    // ping -f -c 10000: a request every ~100 us at most, preload bursts; the
    // default bucket must answer all of them.
    Interface& ifc = make();
    for (std::uint16_t i = 0; i < 10000; ++i) {
        feed(echo_request(i, Bytes(56, 0)));
        now_ += 50us;
        if (i % 64 == 0) drain();
    }
    drain();
    EXPECT_EQ(ifc.counters().icmp_echo_replies_out, 10000u);
    EXPECT_EQ(ifc.counters().icmp_rate_limited, 0u);
}

TEST_F(InterfaceTest, EchoToBroadcastIgnoredByDefault) {
    Interface& ifc = make();
    test::IpOpts o;
    o.dst = 0xc61200ff;
    feed(echo_request(1, {}, o));
    EXPECT_TRUE(drain().empty());
    EXPECT_EQ(ifc.counters().icmp_broadcast_ignored, 1u);
}

// ------------------------------------------------------------- L4 delivery

TEST_F(InterfaceTest, DeliversToL4HandlerTrimmed) {
    Interface& ifc = make();
    RecordingHandler tcp;
    ifc.set_l4_handler(kIpProtoTcp, &tcp);
    test::IpOpts o;
    o.protocol = 6;
    o.options = {0x01, 0x01, 0x01, 0x00};
    Bytes seg = {0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    Bytes frame = test::ip_frame(o, seg);
    frame.resize(64, 0);
    feed(frame, 40);  // headers in the first segment, payload and padding split
    ASSERT_EQ(tcp.payloads.size(), 1u);
    EXPECT_EQ(tcp.payloads[0], seg);
    const Ipv4Info& info = tcp.infos[0];
    EXPECT_EQ(info.src.value, kPeerIp);
    EXPECT_EQ(info.dst.value, kOurIp);
    EXPECT_EQ(info.protocol, 6);
    EXPECT_EQ(info.ttl, 64);
    EXPECT_EQ(info.header_len, 24);
    EXPECT_EQ(info.payload_len, 5);
    EXPECT_FALSE(info.to_broadcast);
    EXPECT_EQ(ifc.counters().ip_delivered, 1u);
    ifc.set_l4_handler(kIpProtoTcp, nullptr);
    feed(frame);
    EXPECT_EQ(ifc.counters().ip_unknown_protocol, 1u);
}

TEST_F(InterfaceTest, NicChecksumFlags) {
    Interface& ifc = make();
    RecordingHandler udp;
    ifc.set_l4_handler(kIpProtoUdp, &udp);
    test::IpOpts o;
    o.protocol = 17;
    o.good_checksum = false;
    const Bytes bad = test::ip_frame(o, {1, 2, 3, 4});
    feed(bad, 0, RTE_MBUF_F_RX_IP_CKSUM_GOOD);  // the NIC vouched: not rechecked
    EXPECT_EQ(udp.payloads.size(), 1u);
    feed(bad);  // no flag: software check
    EXPECT_EQ(ifc.counters().ip_bad_checksum, 1u);
    o.good_checksum = true;
    feed(test::ip_frame(o, {1, 2, 3, 4}), 0, RTE_MBUF_F_RX_IP_CKSUM_BAD);
    EXPECT_EQ(ifc.counters().ip_bad_checksum, 2u);
    EXPECT_EQ(udp.payloads.size(), 1u);
}

// ------------------------------------------------------------- send_ipv4

TEST_F(InterfaceTest, SendHoldsUntilArpReplyThenEmits) {
    Interface& ifc = make();
    const Bytes tcp = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    ASSERT_TRUE(ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, kIpProtoTcp, l4_payload(tcp)));
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);  // the ARP request only
    EXPECT_EQ(out[0], test::arp_frame(1, kBcastMac, kOurMac, kOurIp, Bytes(6, 0), kPeerIp));
    EXPECT_EQ(ifc.next_deadline(), now_ + 1s);

    now_ += 3ms;
    feed(test::arp_frame(2, kOurMac, kPeerMac, kPeerIp, kOurMac, kOurIp));
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    test::IpOpts o;
    o.src = kOurIp;
    o.dst = kPeerIp;
    o.protocol = 6;
    o.id = 0;
    o.flags_frag = 0x4000;  // DF
    EXPECT_EQ(out[0], test::ip_frame(o, tcp, kPeerMac, kOurMac));
    EXPECT_EQ(ifc.counters().ip_tx, 1u);
    EXPECT_EQ(ifc.counters().arp_replies_in, 1u);

    // Resolved now: the next datagram goes straight out.
    ASSERT_TRUE(ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, kIpProtoTcp, l4_payload(tcp)));
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    o.id = 1;
    EXPECT_EQ(out[0], test::ip_frame(o, tcp, kPeerMac, kOurMac));
}

TEST_F(InterfaceTest, StaticNeighbourNeedsNoArpAndArpCannotChangeIt) {
    InterfaceConfig c = default_config();
    c.arp.gratuitous_at_start = false;
    c.static_neighbours.push_back({Ipv4Addr{kPeerIp}, to_mac(kPeerMac)});
    Interface& ifc = make(c);
    ifc.start(now_);
    const Bytes tcp = {0x01, 0x02, 0x03};
    ASSERT_TRUE(ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, kIpProtoTcp, l4_payload(tcp)));
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);  // the datagram itself, no ARP request
    test::IpOpts o;
    o.src = kOurIp;
    o.dst = kPeerIp;
    o.protocol = 6;
    o.id = 0;
    o.flags_frag = 0x4000;
    EXPECT_EQ(out[0], test::ip_frame(o, tcp, kPeerMac, kOurMac));
    EXPECT_EQ(ifc.counters().arp_requests_out, 0u);
    // A (spoofed) ARP request from the peer's address with another MAC is
    // answered but does not move the static binding.
    const Bytes other_mac = {0x02, 0x99, 0, 0, 0, 0x99};
    feed(test::arp_frame(1, kOurMac, other_mac, kPeerIp, Bytes(6, 0), kOurIp));
    (void)drain();
    ASSERT_NE(ifc.arp().lookup(now_ + 1h, Ipv4Addr{kPeerIp}), nullptr);
    EXPECT_TRUE(mac_equal(*ifc.arp().lookup(now_ + 1h, Ipv4Addr{kPeerIp}), to_mac(kPeerMac)));
}

TEST_F(InterfaceTest, LearnNeighbourReleasesHeldPackets) {
    Interface& ifc = make();
    const Bytes tcp = {0x01, 0x02, 0x03, 0x04};
    ASSERT_TRUE(ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, kIpProtoTcp, l4_payload(tcp)));
    ASSERT_EQ(drain().size(), 1u);  // the ARP request
    // Another shard learnt the binding and passes it on.
    ifc.learn_neighbour(now_ + 1ms, Ipv4Addr{kPeerIp}, to_mac(kPeerMac));
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    test::IpOpts o;
    o.src = kOurIp;
    o.dst = kPeerIp;
    o.protocol = 6;
    o.id = 0;
    o.flags_frag = 0x4000;
    EXPECT_EQ(out[0], test::ip_frame(o, tcp, kPeerMac, kOurMac));
    // Learnt, not static: it ages like an ARP-learnt entry.
    EXPECT_FALSE(ifc.arp().find(Ipv4Addr{kPeerIp})->is_static);
    EXPECT_EQ(ifc.arp().lookup(now_ + 1h, Ipv4Addr{kPeerIp}), nullptr);
}

TEST_F(InterfaceTest, SendOffLinkViaGatewayAndNoRoute) {
    Interface& ifc = make();
    auto r = ifc.send_ipv4(now_, Ipv4Addr{test::kFarIp}, kIpProtoTcp, l4_payload({1}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), SendError::no_route);
    EXPECT_EQ(ifc.counters().no_route, 1u);

    InterfaceConfig c = default_config();
    c.gateway = Ipv4Addr{test::kGwIp};
    Interface& gw = make(c);
    ASSERT_TRUE(gw.send_ipv4(now_, Ipv4Addr{test::kFarIp}, kIpProtoTcp, l4_payload({1, 2})));
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], test::arp_frame(1, kBcastMac, kOurMac, kOurIp, Bytes(6, 0), test::kGwIp));
    feed(test::arp_frame(2, kOurMac, test::kGwMac, test::kGwIp, kOurMac, kOurIp));
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    test::IpOpts o;
    o.src = kOurIp;
    o.dst = test::kFarIp;
    o.protocol = 6;
    o.id = 0;
    o.flags_frag = 0x4000;
    EXPECT_EQ(out[0], test::ip_frame(o, {1, 2}, test::kGwMac, kOurMac));
}

TEST_F(InterfaceTest, SendErrors) {
    InterfaceConfig c = default_config();
    c.mtu = 100;
    Interface& ifc = make(c);
    auto r = ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, 6, l4_payload(Bytes(81)));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), SendError::too_big);
    EXPECT_EQ(ifc.counters().tx_too_big, 1u);
    MbufPtr no_room(rte_pktmbuf_alloc(pool()));
    no_room->data_off = 10;  // too little room for Ethernet + IP
    ASSERT_NE(rte_pktmbuf_append(no_room.get(), 1), nullptr);
    r = ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, 6, std::move(no_room));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), SendError::no_headroom);
    r = ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, 6, MbufPtr());
    EXPECT_FALSE(r);
    // Hold overflow: default 4 held per entry.
    for (int i = 0; i < 4; ++i)
        ASSERT_TRUE(ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, 6, l4_payload({1})));
    r = ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, 6, l4_payload({1}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), SendError::arp_hold_full);
    EXPECT_EQ(ifc.counters().arp_hold_overflow, 1u);
    // Broadcast needs no ARP.
    ASSERT_TRUE(ifc.send_ipv4(now_, Ipv4Addr{0xc61200ff}, 17, l4_payload({1})));
    auto out = drain();
    ASSERT_EQ(out.size(), 2u);  // one ARP request + the broadcast
    EXPECT_EQ(Bytes(out[1].begin(), out[1].begin() + 6), kBcastMac);
}

TEST_F(InterfaceTest, ArpRetriesThenGivesUp) {
    InterfaceConfig c = default_config();
    c.arp.retry_interval = 1s;
    c.arp.max_retries = 2;
    Interface& ifc = make(c);
    ASSERT_TRUE(ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, 6, l4_payload({1})));
    ASSERT_TRUE(ifc.send_ipv4(now_, Ipv4Addr{kPeerIp}, 6, l4_payload({2})));
    EXPECT_EQ(drain().size(), 1u);
    const Bytes request = test::arp_frame(1, kBcastMac, kOurMac, kOurIp, Bytes(6, 0), kPeerIp);
    ifc.poll(now_ + 500ms);
    EXPECT_TRUE(drain().empty());
    for (int i = 1; i <= 2; ++i) {
        EXPECT_EQ(ifc.next_deadline(), now_ + std::chrono::seconds(i));
        ifc.poll(now_ + std::chrono::seconds(i));
        auto out = drain();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0], request);
    }
    ifc.poll(now_ + 3s);
    EXPECT_TRUE(drain().empty());
    EXPECT_EQ(ifc.counters().arp_requests_out, 3u);
    EXPECT_EQ(ifc.counters().arp_resolve_failed, 1u);
    EXPECT_EQ(ifc.counters().arp_hold_dropped, 2u);
    EXPECT_EQ(ifc.next_deadline(), Instant::max());
}

TEST_F(InterfaceTest, TxQueueOverflowIsCounted) {
    InterfaceConfig c = default_config();
    c.tx_capacity = 2;
    Interface& ifc = make(c);
    for (std::uint16_t i = 0; i < 3; ++i)
        feed(echo_request(i, {}));
    EXPECT_EQ(ifc.tx_pending(), 2u);
    EXPECT_EQ(ifc.counters().tx_queue_full, 1u);
    EXPECT_EQ(ifc.counters().icmp_echo_replies_out, 2u);
    // TearDown: the Interface frees what is still queued.
}

// ------------------------------------------------------------- drops

// Counters that count traffic rather than drops.
bool is_total(const std::string& name) {
    static const char* totals[] = {
        "rx_frames", "rx_bytes",        "arp_rx",         "ip_rx",
        "icmp_rx",   "arp_requests_in", "arp_replies_in", "icmp_echo_requests_in"};
    for (const char* t : totals)
        if (name == t) return true;
    return false;
}

TEST_F(InterfaceTest, EachMalformedFrameIncrementsExactlyItsCounter) {
    const Bytes arp_req = test::arp_frame(1, kBcastMac, kPeerMac, kPeerIp, Bytes(6, 0), kOurIp);
    auto with = [](Bytes b, std::size_t at, std::uint8_t v) {
        b[at] = v;
        return b;
    };
    auto ip_with = [](Bytes b, std::size_t at, std::uint8_t v) {  // keeps the checksum right
        b[at] = v;
        b[24] = b[25] = 0;
        const std::size_t ihl = std::max<std::size_t>(20, (b[14] & 0xf) * 4u);
        if (14 + ihl <= b.size()) {
            const std::uint16_t ck = test::ref_checksum(b, 14, ihl);
            b[24] = static_cast<std::uint8_t>(ck >> 8);
            b[25] = static_cast<std::uint8_t>(ck);
        }
        return b;
    };
    const Bytes echo = echo_request(1, {1, 2, 3, 4});
    test::IpOpts o;
    struct Case {
        const char* name;
        Bytes frame;
        const char* counter;
        std::size_t seg_len = 0;
    };
    test::IpOpts frag;
    frag.flags_frag = 0x2000;
    test::IpOpts ttl0;
    ttl0.ttl = 0;
    test::IpOpts bad_ck;
    bad_ck.good_checksum = false;
    test::IpOpts not_us;
    not_us.dst = 0xc6120009;
    test::IpOpts mcast_src;
    mcast_src.src = 0xe0000001;
    test::IpOpts proto99;
    proto99.protocol = 99;
    Bytes bad_icmp = echo;
    bad_icmp[34 + 4] ^= 0xff;  // corrupt the id without fixing the checksum
    const Case cases[] = {
        {"runt", Bytes(13, 0), "rx_runt"},
        {"headers split", echo, "rx_headers_not_contiguous", 10},
        {"other unicast MAC", with(echo, 5, 0x33), "rx_not_for_us"},
        {"unjoined multicast", with(echo, 0, 0x01), "rx_not_for_us"},
        {"multicast source MAC", with(echo, 6, 0x03), "rx_bad_src_mac"},
        {"broadcast source MAC",
         test::ip_frame(o, test::icmp_msg(8, 0, 1, 1, {}), kOurMac, kBcastMac), "rx_bad_src_mac"},
        {"vlan tagged", with(with(echo, 12, 0x81), 13, 0x00), "rx_vlan_dropped"},
        {"ipv6", with(with(echo, 12, 0x86), 13, 0xdd), "rx_unknown_ethertype"},
        {"arp truncated", Bytes(arp_req.begin(), arp_req.end() - 1), "arp_malformed"},
        {"arp bad op", with(arp_req, 21, 9), "arp_malformed"},
        {"arp htype", with(arp_req, 15, 6), "arp_unsupported"},
        {"arp multicast sender", with(arp_req, 22, 0x01), "arp_bad_sender"},
        {"arp sender is us", test::arp_frame(1, kBcastMac, kPeerMac, kOurIp, Bytes(6, 0), kOurIp),
         "arp_addr_conflict"},
        {"arp not for us",
         test::arp_frame(1, kBcastMac, kPeerMac, kPeerIp, Bytes(6, 0), 0xc6120063),
         "arp_not_for_us"},
        {"ip truncated", Bytes(echo.begin(), echo.begin() + 30), "ip_truncated"},
        {"ip version 6", ip_with(echo, 14, 0x65), "ip_bad_version"},
        {"ip ihl 4", ip_with(echo, 14, 0x44), "ip_bad_ihl"},
        {"ip ihl beyond frame", ip_with(Bytes(echo.begin(), echo.begin() + 40), 14, 0x4f),
         "ip_bad_ihl"},
        {"ip total length > frame", ip_with(echo, 17, 0xff), "ip_bad_total_length"},
        {"ip total length < ihl", ip_with(echo, 17, 10), "ip_bad_total_length"},
        {"ip bad checksum", test::ip_frame(bad_ck, {1}), "ip_bad_checksum"},
        {"ip ttl 0", test::ip_frame(ttl0, {1}), "ip_ttl_zero"},
        {"ip multicast source", test::ip_frame(mcast_src, {1}), "ip_bad_source"},
        {"ip not for us", test::ip_frame(not_us, {1}), "ip_not_for_us"},
        {"ip fragment", test::ip_frame(frag, Bytes(16, 0)), "ip_fragment_dropped"},
        {"ip unknown protocol", test::ip_frame(proto99, {1}), "ip_unknown_protocol"},
        {"icmp short", test::ip_frame(o, {8, 0, 0xf7, 0xff}), "icmp_malformed"},
        {"icmp bad checksum", bad_icmp, "icmp_bad_checksum"},
        {"icmp other type", test::ip_frame(o, test::icmp_msg(13, 0, 1, 1, {})),
         "icmp_other_dropped"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        Interface& ifc = make();
        const auto before = snapshot(ifc.counters());
        feed(c.frame, c.seg_len);
        EXPECT_TRUE(drain().empty());
        const auto after = snapshot(ifc.counters());
        std::map<std::string, std::uint64_t> changed;
        for (const auto& [name, v] : after)
            if (v != before.at(name) && !is_total(name)) changed[name] = v - before.at(name);
        EXPECT_EQ(changed, (std::map<std::string, std::uint64_t>{{c.counter, 1}}));
    }
}

// ------------------------------------------------------------- robustness

TEST_F(InterfaceTest, RandomAndMutatedFramesCrashNothingAndLeakNothing) {
    InterfaceConfig c = default_config();
    c.arp.cache_capacity = 16;
    c.gateway = Ipv4Addr{test::kGwIp};
    Interface& ifc = make(c);
    RecordingHandler tcp;  // keeps copies only; frees every mbuf
    ifc.set_l4_handler(kIpProtoTcp, &tcp);
    test::IpOpts t;
    t.protocol = 6;
    const std::vector<Bytes> seeds = {
        test::arp_frame(1, kBcastMac, kPeerMac, kPeerIp, Bytes(6, 0), kOurIp),
        test::arp_frame(2, kOurMac, kPeerMac, kPeerIp, kOurMac, kOurIp),
        echo_request(1, Bytes(40, 0x5a)),
        test::ip_frame(t, Bytes(30, 1)),
    };
    SeededRandom rng(0xf00d);
    std::array<rte_mbuf*, 32> burst{};
    for (int i = 0; i < 100000; ++i) {
        Bytes f;
        if (rng.below(10) == 0) {
            f.resize(rng.below(120));
            rng.fill(f);
        } else {
            f = seeds[rng.below(seeds.size())];
            const std::uint64_t flips = 1 + rng.below(4);
            for (std::uint64_t k = 0; k < flips; ++k)
                f[rng.below(f.size())] = static_cast<std::uint8_t>(rng.next());
            if (rng.below(4) == 0) f.resize(rng.below(f.size() + 20), 0);
        }
        rte_mbuf* m = test::to_mbuf(pool(), f, rng.below(3) == 0 ? 1 + rng.below(40) : 0);
        ASSERT_NE(m, nullptr);
        m->ol_flags = rng.below(8) == 0 ? RTE_MBUF_F_RX_IP_CKSUM_GOOD : 0;
        now_ += std::chrono::microseconds(rng.below(20000));
        ifc.receive(now_, MbufPtr(m));
        if (rng.below(50) == 0)
            (void)ifc.send_ipv4(now_, Ipv4Addr{static_cast<std::uint32_t>(rng.next())}, 6,
                                l4_payload({1, 2, 3}));
        if (ifc.next_deadline() <= now_) ifc.poll(now_);
        const std::size_t n = ifc.drain_tx(burst);
        for (std::size_t k = 0; k < n; ++k)
            rte_pktmbuf_free(burst[k]);
        tcp.payloads.clear();
        tcp.infos.clear();
    }
    EXPECT_EQ(ifc.counters().rx_frames, 100000u);
    EXPECT_GT(ifc.counters().icmp_echo_replies_out, 0u);
    EXPECT_GT(ifc.counters().ip_delivered, 0u);
    // TearDown destroys the Interface and checks the pool is back where it was.
}

}  // namespace
}  // namespace l45::net
