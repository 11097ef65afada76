// The Linux kernel as the peer: a net_tap port whose kernel end lives in a
// namespace made by the test. The kernel's ARP, ping and flood ping must be
// answered by l45, and malformed frames sent from the namespace (scapy) must
// each be counted under their own drop reason and crash nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
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
        c.mac = drivers::station_mac(tap_->port());
        c.ip = *net::Ipv4Addr::parse(tap_->local_ip());
        c.prefix_len = 24;
        iface_ =
            std::make_unique<net::Interface>(c, tap_->port().mempool(), tap_->port().tx_offloads());
        iface_->start(MonotonicClock::now());
        start();
    }
    void start() {
        stop_.store(false);
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
    // Counters by name; the loop pauses while they are copied.
    std::map<std::string, std::uint64_t> snapshot() {
        stop();
        std::map<std::string, std::uint64_t> out;
        iface_->counters().for_each(
            [&](std::string_view name, std::uint64_t v) { out[std::string(name)] = v; });
        start();
        return out;
    }
    std::string malformed_cmd(int each, const char* mode) const {
        std::ostringstream cmd;
        cmd << "/usr/bin/python3 " << std::getenv("L45_TEST_SCRIPTS") << "/send_malformed.py "
            << tap_->iface() << ' ' << net::mac_to_string(iface_->mac()) << ' ' << l45_ip() << ' '
            << tap_->ns_ip() << ' ' << each << " 4545 " << mode;
        return cmd.str();
    }

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
    // The replies came from l45's MAC (arping prints it in upper case).
    std::string mac = net::mac_to_string(iface_->mac());
    for (char& ch : mac)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_NE(r.output.find("[" + mac + "]"), std::string::npos) << r.output;
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
    ASSERT_NE(std::getenv("L45_TEST_SCRIPTS"), nullptr)
        << "run through meson test (L45_TEST_SCRIPTS unset)";
    // Resolve first, so the kernel knows l45's MAC.
    ASSERT_EQ(tap_->run("ping -c 1 -W 2 " + l45_ip()).exit_status, 0);
    const auto before = snapshot();
    constexpr int kEach = 5;
    const auto sent = tap_->run(malformed_cmd(kEach, "categories"));
    ASSERT_EQ(sent.exit_status, 0) << sent.output;
    auto after = snapshot();

    // Every category the script sent is counted under its own reason, and
    // exactly that many times (nothing else runs on this link).
    std::istringstream lines(sent.output);
    int categories = 0;
    for (std::string name; lines >> name;) {
        std::uint64_t n = 0;
        lines >> n;
        if (name == "ip_options_echo") continue;
        ASSERT_TRUE(after.count(name)) << "no counter named " << name;
        EXPECT_EQ(after[name] - before.at(name), n) << name;
        ++categories;
    }
    EXPECT_EQ(categories, 12);
    // The echo with IP options was answered.
    EXPECT_EQ(after["icmp_echo_replies_out"] - before.at("icmp_echo_replies_out"), 1u);

    // Then 1000 random frames, and l45 still answers.
    const auto junk = tap_->run(malformed_cmd(kEach, "random"));
    ASSERT_EQ(junk.exit_status, 0) << junk.output;
    const auto ping = tap_->run("ping -c 3 -i 0.1 -W 2 " + l45_ip());
    EXPECT_NE(ping.output.find("3 received"), std::string::npos) << ping.output;
    const auto last = snapshot();
    EXPECT_GE(last.at("rx_frames") - after["rx_frames"], 1000u);
}

}  // namespace
}  // namespace l45
