// The Linux kernel as the peer: a net_tap port whose kernel end lives in a
// namespace made by the test. The kernel's ARP, ping and flood ping must be
// answered by l45, and malformed frames sent from the namespace (scapy) must
// each be counted under their own drop reason and crash nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "apps/common/service.h"
#include "drivers/testing/tap_netns.h"
#include "stack/net/interface.h"

namespace l45 {
namespace {

using drivers::testing::TapNetns;

// l45 on the tap, served by a thread of its own while the test body drives
// the kernel side. Counters are read only after stop() (single owner).
class KernelPeer : public ::testing::Test {
  protected:
    void SetUp() override {
        auto tap = TapNetns::create();
        ASSERT_TRUE(tap) << tap.error();
        tap_ = std::move(*tap);
        net::InterfaceConfig c;
        c.mac = apps::stack_mac(tap_->port());
        c.ip = *net::Ipv4Addr::parse(tap_->local_ip());
        c.prefix_len = 24;
        iface_ =
            std::make_unique<net::Interface>(c, tap_->port().mempool(), tap_->port().tx_offloads());
        iface_->start(MonotonicClock::now());
        loop_ = std::thread([this] {
            while (!stop_.load(std::memory_order_relaxed))
                apps::service_once(tap_->port(), 0, *iface_, MonotonicClock::now());
        });
    }
    void TearDown() override {
        stop();
        if (HasFailure() && iface_) {
            iface_->counters().for_each([](std::string_view name, std::uint64_t v) {
                if (v)
                    std::fprintf(stderr, "  %.*s = %llu\n", static_cast<int>(name.size()),
                                 name.data(), static_cast<unsigned long long>(v));
            });
        }
        iface_.reset();
        tap_.reset();  // deletes the namespace even when the test failed
    }
    void stop() {
        stop_.store(true);
        if (loop_.joinable()) loop_.join();
    }
    std::string l45_ip() const { return tap_->local_ip(); }

    std::unique_ptr<TapNetns> tap_;
    std::unique_ptr<net::Interface> iface_;
    std::thread loop_;
    std::atomic<bool> stop_{false};
};

TEST_F(KernelPeer, PingGetsEveryReply) {
    const auto r = tap_->run("ping -c 20 -i 0.05 -W 2 " + l45_ip());
    EXPECT_EQ(r.exit_status, 0) << r.output;
    EXPECT_NE(r.output.find("20 packets transmitted, 20 received"), std::string::npos) << r.output;
    stop();
    EXPECT_GE(iface_->counters().icmp_echo_replies_out, 20u);
}

TEST_F(KernelPeer, ArpingGetsReplies) {
    const auto r = tap_->run("arping -c 5 -w 10 -I " + tap_->iface() + " " + l45_ip());
    EXPECT_EQ(r.exit_status, 0) << r.output;
    EXPECT_NE(r.output.find("Received 5 response"), std::string::npos) << r.output;
    // The kernel's neighbour entry now holds l45's MAC.
    const auto neigh = tap_->run("ip neigh show " + l45_ip());
    EXPECT_NE(neigh.output.find(net::mac_to_string(iface_->mac())), std::string::npos)
        << neigh.output;
    stop();
    EXPECT_GE(iface_->counters().arp_replies_out, 5u);
}

TEST_F(KernelPeer, FloodPingOfTenThousandGetsEveryReply) {
    const auto r = tap_->run("ping -f -c 10000 -W 2 " + l45_ip());
    EXPECT_EQ(r.exit_status, 0) << r.output;
    EXPECT_NE(r.output.find("10000 packets transmitted, 10000 received"), std::string::npos)
        << r.output;
    stop();
    EXPECT_EQ(iface_->counters().icmp_rate_limited, 0u);
    EXPECT_GE(iface_->counters().icmp_echo_replies_out, 10000u);
}

TEST_F(KernelPeer, MalformedFramesAreCountedAndCrashNothing) {
    const char* scripts = std::getenv("L45_TEST_SCRIPTS");
    ASSERT_NE(scripts, nullptr) << "run through meson test (L45_TEST_SCRIPTS unset)";
    // Resolve first, so the kernel knows l45's MAC.
    ASSERT_EQ(tap_->run("ping -c 1 -W 2 " + l45_ip()).exit_status, 0);
    constexpr int kEach = 5;
    std::ostringstream cmd;
    cmd << "/usr/bin/python3 " << scripts << "/send_malformed.py " << tap_->iface() << ' '
        << net::mac_to_string(iface_->mac()) << ' ' << l45_ip() << ' ' << tap_->ns_ip() << ' '
        << kEach << " 4545";
    const auto sent = tap_->run(cmd.str());
    ASSERT_EQ(sent.exit_status, 0) << sent.output;
    // After all that, l45 still answers.
    const auto ping = tap_->run("ping -c 3 -i 0.1 -W 2 " + l45_ip());
    EXPECT_NE(ping.output.find("3 received"), std::string::npos) << ping.output;
    stop();

    std::map<std::string, std::uint64_t> counters;
    iface_->counters().for_each(
        [&](std::string_view name, std::uint64_t v) { counters[std::string(name)] = v; });
    // Every category the script sent is counted under its own reason.
    std::istringstream lines(sent.output);
    int categories = 0;
    for (std::string name; lines >> name;) {
        std::uint64_t n = 0;
        lines >> n;
        if (name == "random" || name == "ip_options_echo") continue;
        ASSERT_TRUE(counters.count(name)) << "no counter named " << name;
        EXPECT_GE(counters[name], n) << name;
        ++categories;
    }
    EXPECT_GE(categories, 12);
    // The echo with IP options was answered: 1 + 1 (option echo) + 3 replies at least.
    EXPECT_GE(counters["icmp_echo_replies_out"], 5u);
}

}  // namespace
}  // namespace l45
