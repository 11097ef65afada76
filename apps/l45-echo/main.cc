// l45-echo: the l45 stack on one DPDK port: ARP, ICMP echo, TCP echo on
// port 7 and discard on port 9; optionally an iperf3 server (--iperf3, port
// 5201), an HTTP server (--http PORT: GET / and GET /bytes/N) and one client.
//
//   l45-echo [EAL args] -- --ip A.B.C.D/NN [--gw A.B.C.D] [--port NAME]
//                          [--iperf3 [--iperf3-port P]] [--http PORT] [--seed S]
//                          [--connect IP:PORT [--bytes N] [--bulk]]
//                          [--iperf3-client IP[:PORT] --bytes N [--reverse]]
//                          [--http-get http://IP[:PORT]/PATH [--out FILE]]
//                          [--queues N]
//
// --queues N runs N shards, one per rx queue and lcore (EAL -l with N
// lcores), when the PMD has RSS (apps/l45-echo/shards.h); without RSS it
// says so and runs on one queue as before.
//
// --connect streams N bytes of a seeded pattern to IP:PORT, half-closes,
// reads until the peer closes, prints the SHA-256 of both directions (and
// Gbit/s with --bulk) and exits: 0 when the connection closed normally.
// --iperf3-client runs one iperf3 test (-n N, -R with --reverse) against
// `iperf3 -s`; --http-get fetches one URL and prints the body's SHA-256.
// Each client mode exits 0 on success, 3 on failure.
//
// Example, with no NIC and no hugepages:
//   l45-echo --no-pci --vdev net_tap0,iface=l45t0 -- --ip 198.18.0.2/24
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "apps/common/cli.h"
#include "apps/common/http1.h"
#include "apps/common/service.h"
#include "apps/l45-echo/shards.h"
#include "apps/l45-echo/tcp_services.h"
#include "drivers/eal.h"
#include "drivers/port.h"
#include "stack/net/interface.h"
#include "stack/tcp/interface_adapter.h"
#include "stack/tcp/stack.h"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
    g_stop.store(true, std::memory_order_relaxed);
}

void print_counters(const l45::net::Interface& iface, const l45::drivers::Port& port) {
    std::printf("l45-echo: counters (non-zero)\n");
    iface.counters().for_each([](std::string_view name, std::uint64_t value) {
        if (value != 0)
            std::printf("  %-28.*s %llu\n", static_cast<int>(name.size()), name.data(),
                        static_cast<unsigned long long>(value));
    });
    const auto pc = port.counters();
    std::printf("  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n", "port_rx_packets",
                static_cast<unsigned long long>(pc.rx_packets), "port_tx_packets",
                static_cast<unsigned long long>(pc.tx_packets), "port_tx_dropped",
                static_cast<unsigned long long>(pc.tx_dropped + pc.tx_prepare_dropped));
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    auto eal = l45::drivers::eal_init(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "l45-echo: %s\n", eal.error().c_str());
        return 1;
    }

    CLI::App app{"l45-echo: the l45 stack answering ARP and ICMP echo on a DPDK port"};
    std::string ip_text;
    std::string gw_text;
    std::string port_name;
    double stats_interval = 10;
    std::string connect_text;
    std::uint64_t send_bytes = 0;
    bool bulk = false;
    std::uint64_t seed = 1;
    app.add_option("--ip", ip_text, "local address and prefix, e.g. 198.18.0.2/24")->required();
    app.add_option("--gw", gw_text, "default gateway");
    app.add_option("--port", port_name, "DPDK port name (default: the first port)");
    app.add_option("--stats-interval", stats_interval,
                   "seconds between counter summaries (0: only at exit)");
    app.add_option("--connect", connect_text,
                   "client mode: stream to IP:PORT, read the reply, print hashes, exit");
    app.add_option("--bytes", send_bytes, "client: bytes to send (default 1 MiB, --bulk 1 GiB)");
    app.add_flag("--bulk", bulk, "client: a bulk stream, reported in Gbit/s");
    bool fin_after_peer = false;
    app.add_flag("--fin-after-peer", fin_after_peer,
                 "client: send FIN only after the peer's (for peers like nc that stop "
                 "sending once they read EOF)");
    app.add_option("--seed", seed, "seed of the byte pattern (clients and /bytes/N)");
    l45::apps::ServerConfig servers;
    app.add_flag("--iperf3", servers.iperf3, "serve iperf3 (one TCP stream, normal and -R)");
    app.add_option("--iperf3-port", servers.iperf3_port, "iperf3 server port (default 5201)");
    app.add_option("--http", servers.http_port, "serve HTTP/1.1 on this port");
    std::string iperf3_client_text;
    bool reverse = false;
    std::string http_get_text;
    std::string out_path;
    app.add_option("--iperf3-client", iperf3_client_text,
                   "client mode: one iperf3 test against IP[:PORT] (--bytes N)");
    app.add_flag("--reverse", reverse, "iperf3 client: the server sends (iperf3 -R)");
    app.add_option("--http-get", http_get_text, "client mode: GET http://IP[:PORT]/PATH");
    app.add_option("--out", out_path, "HTTP GET client: write the body to FILE");
    unsigned queues = 1;
    app.add_option("--queues", queues, "shards: one rx/tx queue and lcore each (needs RSS)")
        ->check(CLI::Range(1, 128));
    const int app_argc = argc - eal->app_args_index + 1;
    std::vector<char*> app_argv = {argv[0]};
    for (int i = eal->app_args_index; i < argc; ++i)
        app_argv.push_back(argv[i]);
    try {
        app.parse(app_argc, app_argv.data());
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    const auto prefix = l45::apps::parse_ipv4_prefix(ip_text);
    if (!prefix) {
        std::fprintf(stderr, "l45-echo: bad --ip '%s'\n", ip_text.c_str());
        return 1;
    }
    std::optional<l45::net::Ipv4Addr> gateway;
    if (!gw_text.empty()) {
        gateway = l45::net::Ipv4Addr::parse(gw_text);
        if (!gateway) {
            std::fprintf(stderr, "l45-echo: bad --gw '%s'\n", gw_text.c_str());
            return 1;
        }
    }
    servers.seed = seed;
    std::optional<l45::apps::ClientPlan> plan;
    const int modes = !connect_text.empty() + !iperf3_client_text.empty() + !http_get_text.empty();
    if (modes > 1) {
        std::fprintf(stderr,
                     "l45-echo: --connect, --iperf3-client and --http-get exclude each other\n");
        return 1;
    }
    const auto parse_endpoint = [](const std::string& text, std::uint16_t default_port,
                                   l45::net::Ipv4Addr& out_addr, std::uint16_t& out_port) {
        const auto colon = text.rfind(':');
        const auto dst = l45::net::Ipv4Addr::parse(text.substr(0, colon));
        const int p =
            colon == std::string::npos ? default_port : std::atoi(text.c_str() + colon + 1);
        if (!dst || p <= 0 || p > 65535) return false;
        out_addr = *dst;
        out_port = static_cast<std::uint16_t>(p);
        return true;
    };
    if (!connect_text.empty()) {
        plan.emplace();
        if (!parse_endpoint(connect_text, 0, plan->dst, plan->port)) {
            std::fprintf(stderr, "l45-echo: bad --connect '%s' (IP:PORT)\n", connect_text.c_str());
            return 1;
        }
        plan->send_len = send_bytes ? send_bytes : (bulk ? 1ull << 30 : 1ull << 20);
        plan->seed = seed;
        plan->fin_after_peer = fin_after_peer;
    }
    if (!iperf3_client_text.empty()) {
        plan.emplace();
        plan->kind = l45::apps::ClientPlan::Kind::kIperf3;
        if (!parse_endpoint(iperf3_client_text, l45::apps::iperf3::kDefaultPort, plan->dst,
                            plan->port)) {
            std::fprintf(stderr, "l45-echo: bad --iperf3-client '%s' (IP[:PORT])\n",
                         iperf3_client_text.c_str());
            return 1;
        }
        plan->send_len = send_bytes ? send_bytes : 1ull << 20;
        plan->seed = seed;
        plan->reverse = reverse;
    }
    if (!http_get_text.empty()) {
        const auto url = l45::apps::http::parse_http_url(http_get_text);
        plan.emplace();
        plan->kind = l45::apps::ClientPlan::Kind::kHttpGet;
        if (!url || !parse_endpoint(std::string(url->host), url->port, plan->dst, plan->port)) {
            std::fprintf(stderr, "l45-echo: bad --http-get '%s' (http://IP[:PORT]/PATH)\n",
                         http_get_text.c_str());
            return 1;
        }
        plan->port = url->port;
        plan->http_host = std::string(url->host) + ":" + std::to_string(url->port);
        plan->http_target = std::string(url->target);
        plan->out_path = out_path;
    }
    const auto port_id = l45::apps::pick_port(port_name);
    if (!port_id) {
        std::fprintf(stderr, "l45-echo: no DPDK port (give one with --vdev or a NIC)\n");
        return 1;
    }

    if (queues > 1) {
        if (l45::drivers::pmd_has_rss(*port_id)) {
            std::signal(SIGINT, on_signal);
            std::signal(SIGTERM, on_signal);
            l45::apps::ShardedEchoConfig sc;
            sc.port_id = *port_id;
            sc.num_shards = static_cast<std::uint16_t>(queues);
            sc.iface.ip = prefix->addr;
            sc.iface.prefix_len = prefix->prefix_len;
            sc.iface.gateway = gateway;
            sc.tcp.local_addr = prefix->addr;
            sc.plan = plan;
            sc.servers = servers;
            const int sharded_rc = l45::apps::run_sharded_echo(sc, g_stop);
            l45::drivers::eal_cleanup();
            return sharded_rc;
        }
        rte_eth_dev_info info{};
        const char* driver =
            rte_eth_dev_info_get(*port_id, &info) == 0 && info.driver_name ? info.driver_name : "?";
        std::printf("l45-echo: no RSS on %s: one queue\n", driver);
    }

    int rc = 0;
    {
        auto port = l45::drivers::Port::open(*port_id, {});
        if (!port) {
            std::fprintf(stderr, "l45-echo: %s\n", port.error().c_str());
            return 1;
        }
        const l45::net::InterfaceConfig config =
            l45::apps::port_interface(*port, prefix->addr, prefix->prefix_len, gateway);
        l45::net::Interface iface(config, port->mempool(), port->tx_offloads());

        l45::tcp::TcpStackConfig tcp_config;
        tcp_config.local_addr = prefix->addr;
        tcp_config.tcp.mss = static_cast<std::uint16_t>(config.mtu - 40);
        l45::SystemRandom random;
        l45::apps::TcpServices services(tcp_config.max_connections, servers, random);
        l45::tcp::InterfaceAdapter adapter(iface);
        l45::tcp::TcpStack tcp(tcp_config, adapter, port->mempool(), random, services);
        adapter.attach(tcp);
        services.attach(tcp);
        if (auto r = services.listen(); !r) {
            std::fprintf(stderr, "l45-echo: %s\n", r.error().c_str());
            return 1;
        }

        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        iface.start(l45::MonotonicClock::now());
        std::printf("l45-echo: up on %s (%s) mac %s ip %s/%u, lcore %u\n", port->name().c_str(),
                    port->driver_name().c_str(), l45::net::mac_to_string(config.mac).c_str(),
                    prefix->addr.to_string().c_str(), prefix->prefix_len, rte_lcore_id());
        std::fflush(stdout);

        if (plan) {
            if (auto r = services.start_client(l45::MonotonicClock::now(), *plan); !r) {
                std::fprintf(stderr, "l45-echo: %s\n", r.error().c_str());
                return 1;
            }
        }
        const auto interval = std::chrono::duration_cast<l45::Duration>(
            std::chrono::duration<double>(stats_interval));
        auto next_stats = l45::MonotonicClock::now() + interval;
        while (!g_stop.load(std::memory_order_relaxed)) {
            const auto now = l45::MonotonicClock::now();
            services.set_now(now);
            l45::apps::service_once(*port, 0, iface, now, &tcp);
            services.tick(now);
            if (plan && services.client().done) break;
            if (stats_interval > 0 && now >= next_stats) {
                const auto& c = iface.counters();
                std::printf("l45-echo: rx %llu tx %llu arp_in %llu icmp_echo %llu drops_ip %llu\n",
                            static_cast<unsigned long long>(c.rx_frames),
                            static_cast<unsigned long long>(c.tx_frames),
                            static_cast<unsigned long long>(c.arp_rx),
                            static_cast<unsigned long long>(c.icmp_echo_replies_out),
                            static_cast<unsigned long long>(
                                c.ip_bad_version + c.ip_bad_ihl + c.ip_bad_total_length +
                                c.ip_bad_checksum + c.ip_ttl_zero + c.ip_fragment_dropped));
                std::fflush(stdout);
                next_stats = now + interval;
            }
        }
        if (plan) {
            const auto& c = services.client();
            const double secs = std::chrono::duration<double>(c.elapsed).count();
            using Kind = l45::apps::ClientPlan::Kind;
            if (plan->kind == Kind::kPattern) {
                std::printf("l45-echo: client %s: sent %llu bytes sha256 %s\n",
                            l45::tcp::to_string(c.reason), static_cast<unsigned long long>(c.sent),
                            c.sent_sha256.c_str());
                std::printf("l45-echo: client received %llu bytes sha256 %s\n",
                            static_cast<unsigned long long>(c.received), c.received_sha256.c_str());
                if (bulk && secs > 0)
                    std::printf("l45-echo: bulk %.3f Gbit/s (%llu bytes in %.3f s)\n",
                                static_cast<double>(c.sent) * 8 / secs / 1e9,
                                static_cast<unsigned long long>(c.sent), secs);
            } else if (plan->kind == Kind::kIperf3) {
                const std::uint64_t moved = plan->reverse ? c.received : c.sent;
                std::printf(
                    "l45-echo: iperf3 client %s: %s %llu bytes, server counted %llu, "
                    "%.3f Gbit/s (%.3f s)\n",
                    c.ok ? "ok" : "FAILED", plan->reverse ? "received" : "sent",
                    static_cast<unsigned long long>(moved),
                    static_cast<unsigned long long>(c.peer_bytes),
                    secs > 0 ? static_cast<double>(moved) * 8 / secs / 1e9 : 0.0, secs);
            } else {
                std::printf(
                    "l45-echo: http-get status %d: received %llu bytes sha256 %s "
                    "(%.3f Gbit/s, %.3f s)\n",
                    c.http_status, static_cast<unsigned long long>(c.received),
                    c.received_sha256.c_str(),
                    secs > 0 ? static_cast<double>(c.received) * 8 / secs / 1e9 : 0.0, secs);
            }
            if (!c.error.empty()) std::printf("l45-echo: client error: %s\n", c.error.c_str());
            if (!c.done || !c.ok) rc = 3;
        }
        const auto& tc = tcp.counters();
        std::printf(
            "l45-echo: tcp echoed %llu discarded %llu closed %llu open %u resets_sent %llu "
            "challenge_acks %llu syn_cookies_sent %llu syn_cookies_accepted %llu "
            "bad_checksum %llu bad_header %llu bad_option %llu retransmits %llu rto_timeouts %llu "
            "fast_retransmits %llu sack_retransmits %llu ooo_queued %llu\n",
            static_cast<unsigned long long>(services.counters().echoed),
            static_cast<unsigned long long>(services.counters().discarded),
            static_cast<unsigned long long>(services.counters().closed), tcp.num_connections(),
            static_cast<unsigned long long>(tc.resets_sent),
            static_cast<unsigned long long>(tc.challenge_acks),
            static_cast<unsigned long long>(tc.syn_cookies_sent),
            static_cast<unsigned long long>(tc.syn_cookies_accepted),
            static_cast<unsigned long long>(tc.bad_checksum),
            static_cast<unsigned long long>(tc.bad_header),
            static_cast<unsigned long long>(tc.bad_option),
            static_cast<unsigned long long>(tc.retransmits),
            static_cast<unsigned long long>(tc.rto_timeouts),
            static_cast<unsigned long long>(tc.fast_retransmits),
            static_cast<unsigned long long>(tc.sack_retransmits),
            static_cast<unsigned long long>(tc.ooo_queued));
        const auto& sc = services.counters();
        std::printf(
            "l45-echo: services opened %llu live %llu; http requests %llu bad %llu body_bytes "
            "%llu refused %llu; iperf3 tests %llu failed %llu bytes %llu denied %llu\n",
            static_cast<unsigned long long>(sc.opened),
            static_cast<unsigned long long>(sc.opened - sc.closed),
            static_cast<unsigned long long>(sc.http_requests),
            static_cast<unsigned long long>(sc.http_bad_requests),
            static_cast<unsigned long long>(sc.http_body_bytes),
            static_cast<unsigned long long>(sc.http_refused),
            static_cast<unsigned long long>(sc.iperf3_tests),
            static_cast<unsigned long long>(sc.iperf3_failed),
            static_cast<unsigned long long>(sc.iperf3_bytes),
            static_cast<unsigned long long>(sc.iperf3_denied));
        print_counters(iface, *port);
    }
    l45::drivers::eal_cleanup();
    return rc;
}
