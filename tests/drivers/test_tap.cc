// net_tap in a network namespace: the kernel as a peer (needs root).
#include <gtest/gtest.h>
#include <rte_ether.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <rte_ethdev.h>

#include <cstdio>

#include "drivers/testing/tap_netns.h"
#include "stack/base/bytes.h"
#include "tests/support/eal_env.h"

namespace l45 {
namespace {

using drivers::testing::run_argv;
using drivers::testing::TapNetns;
using namespace std::chrono_literals;

bool namespace_exists(const std::string& name) {
    struct stat st {};
    return ::stat(("/run/netns/" + name).c_str(), &st) == 0;
}

std::unique_ptr<TapNetns> make(std::uint8_t subnet = 7) {
    drivers::testing::TapNetnsConfig c;
    c.subnet = subnet;
    auto t = TapNetns::create(c);
    EXPECT_TRUE(t.has_value()) << (t ? "" : t.error());
    return t ? std::move(*t) : nullptr;
}

TEST(OpenTap, InterfaceExistsWhileThePortLives) {
    const std::string iface = "l45o" + std::to_string(::getpid() % 1000000);
    {
        auto port = drivers::testing::open_tap(iface);
        ASSERT_TRUE(port.has_value()) << port.error();
        EXPECT_EQ(run_argv({"ip", "link", "show", "dev", iface}).exit_status, 0);
        EXPECT_EQ(drivers::find_port("net_tap_" + iface), port->port_id());
    }
    EXPECT_NE(run_argv({"ip", "link", "show", "dev", iface}).exit_status, 0);
    EXPECT_FALSE(drivers::find_port("net_tap_" + iface).has_value());
    EXPECT_FALSE(drivers::testing::open_tap("a_name_much_too_long_for_linux").has_value());
}

TEST(TapNetns, InterfaceLivesInTheNamespaceAndIsGoneAfterTeardown) {
    auto t = make();
    ASSERT_NE(t, nullptr);
    const std::string ns = t->ns_name();
    const std::string iface = t->iface();
    EXPECT_TRUE(namespace_exists(ns));
    EXPECT_EQ(ns.rfind("l45-" + std::to_string(::getpid()) + "-", 0), 0u) << ns;

    const auto addr = t->run("ip -4 -o addr show dev " + iface);
    EXPECT_EQ(addr.exit_status, 0) << addr.output;
    EXPECT_NE(addr.output.find("inet 198.18.7.2/24"), std::string::npos) << addr.output;
    // Administratively up (a tap's operstate stays "unknown").
    const auto up = t->run("ip -o link show dev " + iface);
    EXPECT_NE(up.output.find(",UP"), std::string::npos) << up.output;
    // Not on the host any more.
    EXPECT_NE(run_argv({"ip", "link", "show", "dev", iface}).exit_status, 0);
    EXPECT_EQ(t->ns_ip(), "198.18.7.2");
    EXPECT_EQ(t->local_ip(), "198.18.7.1");
    EXPECT_FALSE(rte_is_zero_ether_addr(&t->ns_mac()));
    EXPECT_EQ(t->port().driver_name(), "net_tap");

    t.reset();
    EXPECT_FALSE(namespace_exists(ns));
    EXPECT_NE(run_argv({"ip", "link", "show", "dev", iface}).exit_status, 0);
}

TEST(TapNetns, KernelArpRequestArrivesAtRxBurst) {
    auto t = make(9);
    ASSERT_NE(t, nullptr);
    // No one answers, so ping fails; what matters is the ARP it sends first.
    auto ping = t->spawn("ping -c1 -W1 " + t->local_ip());
    ASSERT_TRUE(ping.has_value()) << (ping ? "" : ping.error());

    const std::uint8_t target[4] = {198, 18, 9, 1};
    const std::uint8_t sender[4] = {198, 18, 9, 2};
    bool seen = false;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    rte_mbuf* burst[32];
    while (!seen && std::chrono::steady_clock::now() < deadline) {
        const std::uint16_t n = t->port().rx_burst(0, burst);
        for (std::uint16_t i = 0; i < n; ++i) {
            rte_mbuf* m = burst[i];
            Reader r({rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m)});
            ByteSpan dst, src, sha, spa, tha, tpa;
            std::uint16_t type = 0, htype = 0, ptype = 0, op = 0;
            std::uint8_t hlen = 0, plen = 0;
            const bool ok = r.bytes(6, dst) && r.bytes(6, src) && r.u16(type) &&
                            type == RTE_ETHER_TYPE_ARP && r.u16(htype) && r.u16(ptype) &&
                            r.u8(hlen) && r.u8(plen) && r.u16(op) && r.bytes(6, sha) &&
                            r.bytes(4, spa) && r.bytes(6, tha) && r.bytes(4, tpa);
            if (ok) {
                const std::uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
                EXPECT_TRUE(std::equal(dst.begin(), dst.end(), bcast));
                EXPECT_TRUE(std::equal(src.begin(), src.end(), t->ns_mac().addr_bytes));
                EXPECT_TRUE(std::equal(sha.begin(), sha.end(), t->ns_mac().addr_bytes));
                EXPECT_EQ(htype, 1);
                EXPECT_EQ(ptype, RTE_ETHER_TYPE_IPV4);
                EXPECT_EQ(op, 1);  // request
                EXPECT_TRUE(std::equal(spa.begin(), spa.end(), sender));
                EXPECT_TRUE(std::equal(tpa.begin(), tpa.end(), target));
                seen = true;
            }
            rte_pktmbuf_free(m);
        }
        if (n == 0) std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(seen) << "no ARP request from the namespace reached rx_burst";
    // Nobody answered the ARP: ping gives up after its 1 s and says so.
    const auto result = (*ping)->wait(5s);
    EXPECT_EQ(result.exit_status, 1) << result.output;
    EXPECT_NE(result.output.find("1 packets transmitted, 0 received"), std::string::npos)
        << result.output;
    EXPECT_GT(t->port().counters().rx_packets, 0u);
}

TEST(TapNetns, RunReportsStatusAndOutput) {
    auto t = make(10);
    ASSERT_NE(t, nullptr);
    const auto r = t->run("echo hello; echo oops >&2; exit 3");
    EXPECT_EQ(r.exit_status, 3);
    EXPECT_EQ(r.output, "hello\noops\n");
    // Really inside: only lo and our interface.
    const auto links = t->run("ls /sys/class/net | sort | tr '\\n' ' '");
    EXPECT_EQ(links.output, t->iface() + " lo ");
}

TEST(TapNetns, BackgroundProcessIsKilledAndReaped) {
    auto t = make(11);
    ASSERT_NE(t, nullptr);
    auto p = t->spawn("echo started; exec sleep 30");
    ASSERT_TRUE(p.has_value());
    EXPECT_TRUE((*p)->running());
    const auto until = std::chrono::steady_clock::now() + 5s;
    while ((*p)->output_so_far().find("started") == std::string::npos &&
           std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(1ms);
    const pid_t pid = (*p)->pid();
    const auto r = (*p)->kill_and_wait();
    EXPECT_EQ(r.exit_status, 128 + SIGTERM);
    EXPECT_NE(r.output.find("started"), std::string::npos);
    EXPECT_FALSE((*p)->running());
    EXPECT_NE(::kill(pid, 0), 0);  // gone (and reaped)

    auto q = t->spawn("exit 4");
    ASSERT_TRUE(q.has_value());
    EXPECT_EQ((*q)->wait(5s).exit_status, 4);
}

TEST(TapNetns, TeardownKillsProcessesLeftRunning) {
    auto t = make(12);
    ASSERT_NE(t, nullptr);
    auto p = t->spawn("exec sleep 30");
    ASSERT_TRUE(p.has_value());
    const pid_t pid = (*p)->pid();
    t.reset();  // before the process object
    EXPECT_FALSE((*p)->running());
    EXPECT_NE(::kill(pid, 0), 0);
}

TEST(TapNetns, StaleNamespacesOfDeadProcessesAreDeleted) {
    // A pid that existed and is now dead (and reaped).
    auto dead = run_argv({"sh", "-c", "echo $$"});
    ASSERT_EQ(dead.exit_status, 0);
    const long pid = std::stol(dead.output);
    ASSERT_NE(::kill(static_cast<pid_t>(pid), 0), 0);
    const std::string stale = "l45-" + std::to_string(pid) + "-99";
    // Ours, and we are alive: never touched (and a later run cleans it up
    // if this test dies before deleting it).
    const std::string alive = "l45-" + std::to_string(::getpid()) + "-98";
    ASSERT_EQ(run_argv({"ip", "netns", "add", stale}).exit_status, 0);
    ASSERT_EQ(run_argv({"ip", "netns", "add", alive}).exit_status, 0);
    // Both are younger than this process: the default cut-off keeps them.
    EXPECT_EQ(TapNetns::cleanup_stale_namespaces(), 0);
    EXPECT_TRUE(namespace_exists(stale));
    // With a later cut-off, only the dead process's one goes.
    EXPECT_GE(TapNetns::cleanup_stale_namespaces(std::time(nullptr) + 1), 1);
    EXPECT_FALSE(namespace_exists(stale));
    EXPECT_TRUE(namespace_exists(alive));
    EXPECT_EQ(run_argv({"ip", "netns", "delete", alive}).exit_status, 0);
    if (namespace_exists(stale)) (void)run_argv({"ip", "netns", "delete", stale});
}

TEST(TapNetns, MultiQueuePortReportsWhatTheTapPmdHas) {
    drivers::testing::TapNetnsConfig c;
    c.subnet = 13;
    c.port.num_rx_queues = 2;
    c.port.num_tx_queues = 2;
    auto t = TapNetns::create(c);
    ASSERT_TRUE(t.has_value()) << t.error();
    drivers::Port& p = (*t)->port();
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(p.port_id(), &info), 0);
    const net::TxOffloads tx = p.tx_offloads();
    EXPECT_EQ(tx.ipv4_cksum, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0);
    EXPECT_EQ(tx.tcp_cksum, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0);
    EXPECT_EQ(tx.udp_cksum, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0);
    EXPECT_EQ(tx.tso, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0);
    EXPECT_EQ(tx.multi_segs, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0);
    EXPECT_EQ(p.num_rx_queues(), 2);
    EXPECT_EQ(p.rss(), info.flow_type_rss_offloads != 0 && info.reta_size > 0);
    if (p.rss()) {
        EXPECT_EQ(p.rss_key().size(), info.hash_key_size ? info.hash_key_size : 40u);
        for (std::uint16_t q : p.reta())
            EXPECT_LT(q, 2);
    }
    // net_tap gives the kernel end the port's MAC; the stack's station
    // address differs from it, so the two ends are two stations.
    EXPECT_TRUE(rte_is_same_ether_addr(&p.mac(), &(*t)->ns_mac()));
    const rte_ether_addr station = drivers::station_mac(p);
    EXPECT_FALSE(rte_is_same_ether_addr(&station, &(*t)->ns_mac()));
    std::printf("net_tap: tx capa %#llx rx capa %#llx rss %#llx key %u reta %u rss=%d\n",
                static_cast<unsigned long long>(info.tx_offload_capa),
                static_cast<unsigned long long>(info.rx_offload_capa),
                static_cast<unsigned long long>(info.flow_type_rss_offloads), info.hash_key_size,
                info.reta_size, p.rss());
}

}  // namespace
}  // namespace l45
