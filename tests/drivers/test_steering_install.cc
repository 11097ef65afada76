// Steering::install on real ethdev ports without rte_flow (net_ring through
// the RingWire): the software fallback, its one-time notice, and the
// classifier on frames that crossed the wire.
#include <gtest/gtest.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "drivers/steering.h"
#include "drivers/wire.h"
#include "tests/stack/net_frames.h"
#include "tests/support/eal_env.h"

namespace l45 {
namespace {

using drivers::Steering;
using drivers::SteeringConfig;
using drivers::SteeringMode;
using drivers::TrafficClass;
using net::test::Bytes;

// Sends DPDK's log to a temporary file for the lifetime of the object.
class LogCapture {
  public:
    LogCapture() : file_(std::tmpfile()) { rte_openlog_stream(file_); }
    ~LogCapture() {
        rte_openlog_stream(nullptr);
        std::fclose(file_);
    }
    std::string text() {
        std::fflush(file_);
        std::string out;
        std::rewind(file_);
        char buf[512];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0)
            out.append(buf, n);
        return out;
    }

  private:
    std::FILE* file_;
};

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

class SteeringInstallTest : public ::testing::Test {
  protected:
    void TearDown() override {
        wire_.reset();
        EXPECT_TRUE(pools_.release()) << "an mbuf of the ports' pool is still out";
    }
    drivers::RingWire& make(std::uint16_t num_queues) {
        drivers::WireConfig c;
        c.num_queues = num_queues;
        c.port.mempools = &pools_;
        c.port.num_mbufs = 2047;
        auto w = drivers::RingWire::create(c);
        EXPECT_TRUE(w.has_value()) << (w ? "" : w.error());
        if (!w) std::abort();
        wire_ = std::move(*w);
        return *wire_;
    }
    static SteeringConfig tls_config() {
        SteeringConfig c;
        c.tls_ports = {443};
        c.tls_queues = {1, 2, 3};
        c.control_queue = 0;
        return c;
    }

    drivers::Mempools pools_;
    std::unique_ptr<drivers::RingWire> wire_;
};

TEST_F(SteeringInstallTest, NetRingFallsBackToSoftwareAndSaysSoOnce) {
    drivers::RingWire& w = make(4);
    drivers::forget_steering_fallback_notices_for_testing();
    LogCapture log;
    {
        auto a = Steering::install(w.a(), tls_config());
        ASSERT_TRUE(a) << a.error();
        EXPECT_EQ(a->mode(), SteeringMode::software);
        EXPECT_EQ(a->default_route(), drivers::DefaultRoute::none);
        EXPECT_EQ(a->num_rules(), 0u);
        EXPECT_NE(a->fallback_reason().find("tcp dst 443 -> rss [1,2,3]"), std::string::npos)
            << a->fallback_reason();
        EXPECT_NE(a->fallback_reason().find("rte_flow_validate"), std::string::npos)
            << a->fallback_reason();
        // The other end, the same driver: no second notice.
        auto b = Steering::install(w.b(), tls_config());
        ASSERT_TRUE(b) << b.error();
        EXPECT_EQ(b->mode(), SteeringMode::software);
    }
    const std::string text = log.text();
    const std::string notice =
        "steering: " + w.a().driver_name() + " has no rte_flow support for rule 'tcp dst 443";
    EXPECT_EQ(count(text, notice), 1u) << text;
    EXPECT_EQ(count(text, "; falling back to software classification\n"), 1u) << text;
    EXPECT_EQ(w.a().driver_name(), "net_ring");
}

TEST_F(SteeringInstallTest, SoftwareOnlyIsQuietAndTouchesNothing) {
    drivers::RingWire& w = make(4);
    drivers::forget_steering_fallback_notices_for_testing();
    LogCapture log;
    drivers::SteeringOptions opts;
    opts.software_only = true;
    auto s = Steering::install(w.a(), tls_config(), opts);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(s->mode(), SteeringMode::software);
    EXPECT_EQ(s->fallback_reason(), "configured");
    EXPECT_EQ(count(log.text(), "steering:"), 0u) << log.text();
}

TEST_F(SteeringInstallTest, QueuesThePortDoesNotHaveAreAnError) {
    drivers::RingWire& w = make(2);
    auto s = Steering::install(w.a(), tls_config());
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().find("TLS queue 2 but the port has 2 rx queues"), std::string::npos)
        << s.error();
}

TEST_F(SteeringInstallTest, ClassifierSortsFramesThatCrossedTheWire) {
    drivers::RingWire& w = make(4);
    auto steering = Steering::install(w.b(), tls_config());
    ASSERT_TRUE(steering) << steering.error();
    ASSERT_EQ(steering->mode(), SteeringMode::software);
    // Moving the Steering keeps it working (the app stores it).
    Steering s = std::move(*steering);

    constexpr std::uint32_t kClient = 0xc6120063;
    constexpr std::uint32_t kServer = 0xc6120002;
    std::vector<Bytes> frames;
    for (std::uint16_t sport = 50000; sport < 50060; ++sport) {
        net::test::IpOpts o;
        o.src = kClient;
        o.dst = kServer;
        o.protocol = 6;
        Bytes tcp;
        net::test::put16(tcp, sport);
        net::test::put16(tcp, sport % 2 ? 443 : 8080);  // half TLS, half not
        net::test::put(tcp, Bytes(16, 0));
        frames.push_back(net::test::ip_frame(o, tcp));
    }
    frames.push_back(net::test::arp_frame(1, net::test::kBcastMac, net::test::kPeerMac, kClient,
                                          Bytes(6, 0), kServer));
    std::vector<rte_mbuf*> burst;
    for (const Bytes& f : frames) {
        rte_mbuf* m = rte_pktmbuf_alloc(test::pktmbuf_pool());
        ASSERT_NE(m, nullptr);
        auto* p = rte_pktmbuf_append(m, static_cast<std::uint16_t>(f.size()));
        ASSERT_NE(p, nullptr);
        std::memcpy(p, f.data(), f.size());
        burst.push_back(m);
    }
    ASSERT_EQ(w.a().tx_burst(0, burst), frames.size());
    w.pump(Instant{} + std::chrono::seconds(1));

    // net_ring has no RSS: everything arrives on queue 0, and the classifier
    // says where each frame belongs.
    std::size_t tls = 0;
    std::size_t control = 0;
    std::set<std::uint16_t> tls_queues;
    rte_mbuf* rx[64];
    std::uint16_t n = 0;
    while ((n = w.b().rx_burst(0, rx)) > 0) {
        for (std::uint16_t i = 0; i < n; ++i) {
            const ByteSpan data(rte_pktmbuf_mtod(rx[i], const std::uint8_t*),
                                rte_pktmbuf_data_len(rx[i]));
            const auto got = s.classifier().classify(data);
            std::uint16_t dport = 0;
            Reader r(data);
            const bool is_tcp = r.skip(14 + 20 + 2) && r.u16(dport) && data[23] == 6;
            if (got.traffic_class == TrafficClass::tls) {
                ++tls;
                tls_queues.insert(got.queue);
                EXPECT_TRUE(is_tcp && dport == 443);
            } else {
                ++control;
                EXPECT_EQ(got.queue, 0);
                EXPECT_FALSE(is_tcp && dport == 443);
            }
            rte_pktmbuf_free(rx[i]);
        }
    }
    EXPECT_EQ(tls, 30u);
    EXPECT_EQ(control, 31u);
    EXPECT_EQ(tls_queues, (std::set<std::uint16_t>{1, 2, 3}));
}

}  // namespace
}  // namespace l45
