// l45-bench: a TLS 1.3 load generator on l45's own TCP (issue 5, item 5).
//
//   l45-bench [EAL args] -- [handshake|bulk|rr] --connect IP:PORT --ip A.B.C.D/NN
//             [--gw IP] [--port NAME] [--sni NAME] (--ca FILE | --insecure)
//             [-c N] [-n N] [-t SECONDS] [--size BYTES] [--bytes BYTES]
//             [--payload echo|http] [--path /P] [--handshake-request]
//             [--csv FILE] [--serve-echo PORT] [--start-delay SECONDS]
//
// One lcore: DPDK port -> net::Interface -> TcpStack -> LoadGenerator (and,
// with --serve-echo, an EchoService behind a TcpDemux on the same stack).
// A progress line goes to stderr once a second; the results to stdout (a
// table and one "l45-bench: result key=value ..." line), and a CSV row to
// --csv FILE (with a header when the file is new). Exit status: 0 when the
// run made progress without errors, 3 when any error was counted, 4 when
// nothing completed, 1/2 for set-up and usage errors.
//
// --serve-echo PORT alone (no --connect) serves the echo backend until
// SIGINT: what l45-offload forwards to in the benchmarks.
//
// Example (net_tap, the kernel end moved into a namespace by the caller):
//   l45-bench --no-pci --vdev net_tap0,iface=l45b0 -- rr --connect 198.18.0.2:443
//       --ip 198.18.0.3/24 --ca ca.pem -c 16 -t 5 --size 64   (one command line)
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "apps/common/cli.h"
#include "apps/common/service.h"
#include "apps/l45-bench/load_generator.h"
#include "apps/l45-bench/report.h"
#include "drivers/eal.h"
#include "drivers/port.h"
#include "stack/net/interface.h"
#include "stack/tcp/interface_adapter.h"
#include "stack/tcp/stack.h"
#include "tls/record/aead.h"

namespace {

using namespace std::chrono_literals;
namespace loadgen = l45::loadgen;

std::atomic<int> g_signals{0};
void on_signal(int) {
    g_signals.fetch_add(1, std::memory_order_relaxed);
}

// After the generator is done, the last ACKs and FINs still need a few
// iterations before the port closes.
constexpr l45::Duration kFlushTime = 50ms;

struct Args {
    std::string mode = "handshake";
    std::string connect;
    std::string ip;
    std::string gw;
    std::string port_name;
    std::string payload = "echo";
    std::string csv;
    double seconds = 10;
    double start_delay = 0;
    double idle_timeout = 5;
    std::uint16_t serve_echo = 0;
    std::uint32_t max_connections = 0;
    loadgen::LoadOptions options;
};

bool append_csv(const std::string& path, const loadgen::RunSummary& run) {
    std::error_code ec;
    const bool fresh =
        !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0;
    std::ofstream out(path, std::ios::app);
    if (!out) return false;
    if (fresh) out << loadgen::csv_header() << '\n';
    out << loadgen::csv_row(run) << '\n';
    return static_cast<bool>(out);
}

int run(Args& args) {
    const auto prefix = l45::apps::parse_ipv4_prefix(args.ip);
    if (!prefix) {
        std::fprintf(stderr, "l45-bench: bad --ip '%s'\n", args.ip.c_str());
        return 2;
    }
    std::optional<l45::net::Ipv4Addr> gateway;
    if (!args.gw.empty()) {
        gateway = l45::net::Ipv4Addr::parse(args.gw);
        if (!gateway) {
            std::fprintf(stderr, "l45-bench: bad --gw '%s'\n", args.gw.c_str());
            return 2;
        }
    }
    const bool client = !args.connect.empty();
    if (!client && args.serve_echo == 0) {
        std::fprintf(stderr, "l45-bench: nothing to do: give --connect IP:PORT or --serve-echo\n");
        return 2;
    }
    loadgen::LoadOptions& o = args.options;
    if (client) {
        const auto ep = l45::apps::parse_ipv4_endpoint(args.connect, 443);
        if (!ep) {
            std::fprintf(stderr, "l45-bench: bad --connect '%s' (IP[:PORT])\n",
                         args.connect.c_str());
            return 2;
        }
        o.server = ep->addr;
        o.port = ep->port;
    }
    static const std::map<std::string, loadgen::Mode> modes = {
        {"handshake", loadgen::Mode::handshake},
        {"bulk", loadgen::Mode::bulk},
        {"rr", loadgen::Mode::rr}};
    static const std::map<std::string, loadgen::Payload> payloads = {
        {"echo", loadgen::Payload::echo}, {"http", loadgen::Payload::http}};
    o.mode = modes.at(args.mode);
    o.payload = payloads.at(args.payload);
    o.duration =
        std::chrono::duration_cast<l45::Duration>(std::chrono::duration<double>(args.seconds));
    o.idle_timeout =
        std::chrono::duration_cast<l45::Duration>(std::chrono::duration<double>(args.idle_timeout));

    const auto port_id = l45::apps::pick_port(args.port_name);
    if (!port_id) {
        std::fprintf(stderr, "l45-bench: no DPDK port (give one with --vdev or a NIC)\n");
        return 1;
    }
    auto port = l45::drivers::Port::open(*port_id, {});
    if (!port) {
        std::fprintf(stderr, "l45-bench: %s\n", port.error().c_str());
        return 1;
    }
    const l45::net::InterfaceConfig ic =
        l45::apps::port_interface(*port, prefix->addr, prefix->prefix_len, gateway);
    l45::net::Interface iface(ic, port->mempool(), port->tx_offloads());

    l45::tcp::TcpStackConfig tc;
    tc.local_addr = prefix->addr;
    tc.tcp.mss = static_cast<std::uint16_t>(ic.mtu - 40);
    // Each client connection holds a slot until TIME-WAIT (which is kept
    // without a slot); echo connections come on top.
    tc.max_connections = args.max_connections != 0
                             ? args.max_connections
                             : std::max<std::uint32_t>(1024, 2 * o.concurrency + 64);

    auto engine = l45::tls::CryptoEngine::create();
    if (!engine) {
        std::fprintf(stderr, "l45-bench: no IPsec-MB engine\n");
        return 1;
    }
    l45::SystemRandom random;
    o.engine = engine->get();
    o.random = &random;

    std::unique_ptr<loadgen::LoadGenerator> generator;
    if (client) {
        auto g = loadgen::LoadGenerator::create(o, tc.max_connections);
        if (!g) {
            std::fprintf(stderr, "l45-bench: %s\n", g.error().c_str());
            return 2;
        }
        generator = std::move(*g);
    }
    loadgen::EchoService echo(tc.max_connections);
    // The stack's one handler: the generator alone, or the demux in front of
    // the generator (default) and the echo service (its port).
    l45::tcp::TcpHandler* idle_handler = &echo;
    std::optional<loadgen::TcpDemux> demux;
    if (args.serve_echo != 0 && generator) {
        demux.emplace(tc.max_connections, *generator);
        demux->route_port(args.serve_echo, echo);
    }
    l45::tcp::TcpHandler& handler =
        demux ? static_cast<l45::tcp::TcpHandler&>(*demux)
              : (generator ? static_cast<l45::tcp::TcpHandler&>(*generator) : *idle_handler);

    l45::tcp::InterfaceAdapter adapter(iface);
    l45::tcp::TcpStack tcp(tc, adapter, port->mempool(), random, handler);
    adapter.attach(tcp);
    if (args.serve_echo != 0) {
        if (auto r = echo.listen(tcp, args.serve_echo); !r) {
            std::fprintf(stderr, "l45-bench: cannot listen on %u: %s\n", args.serve_echo,
                         l45::tcp::to_string(r.error()));
            return 1;
        }
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto now = l45::MonotonicClock::now();
    iface.start(now);
    const std::string server = o.server.to_string() + ":" + std::to_string(o.port);
    std::printf("l45-bench: up on %s (%s) mac %s ip %s/%u, lcore %u", port->name().c_str(),
                port->driver_name().c_str(), l45::net::mac_to_string(ic.mac).c_str(),
                prefix->addr.to_string().c_str(), prefix->prefix_len, rte_lcore_id());
    if (args.serve_echo != 0) std::printf(", echo on port %u", args.serve_echo);
    if (client)
        std::printf(", %s (%s) against %s, concurrency %u%s", loadgen::to_string(o.mode),
                    loadgen::to_string(o.payload), server.c_str(), o.concurrency,
                    o.insecure ? ", certificate NOT verified (--insecure)" : "");
    std::printf("\n");
    std::fflush(stdout);

    // --start-delay: serve the port (ARP, the echo backend) before the load
    // starts, e.g. while a script moves the tap into its namespace.
    const auto start_at = now + std::chrono::duration_cast<l45::Duration>(
                                    std::chrono::duration<double>(args.start_delay));
    bool started = false;
    auto stop_at = l45::Instant::max();
    auto next_progress = l45::Instant::max();
    loadgen::LoadStats last{};
    auto last_at = now;
    int rc = 0;
    bool stopping = false;
    for (;;) {
        now = l45::MonotonicClock::now();
        const int signals = g_signals.load(std::memory_order_relaxed);
        if (signals > 1 || (signals > 0 && !generator)) {
            rc = generator ? 1 : 0;
            break;
        }
        if (generator && !started && now >= start_at && signals == 0) {
            if (auto r = generator->start(tcp, now); !r) {
                std::fprintf(stderr, "l45-bench: %s\n", r.error().c_str());
                return 1;
            }
            started = true;
            next_progress = now + 1s;
            last_at = now;
        }
        if (generator && signals > 0 && !stopping) {
            stopping = true;
            std::fprintf(stderr, "l45-bench: stopping (%u connections open)\n",
                         generator->open_connections());
            if (!started) break;
            generator->stop(now);
        }
        if (started) generator->poll(now);
        l45::apps::service_once(*port, 0, iface, now, &tcp);
        if (started) {
            if (stop_at == l45::Instant::max() && generator->done()) stop_at = now + kFlushTime;
            if (now >= stop_at) break;
            if (now >= next_progress) {
                const auto& s = generator->stats();
                const double dt = std::chrono::duration<double>(now - last_at).count();
                const double elapsed =
                    std::chrono::duration<double>(now - generator->started_at()).count();
                std::fprintf(
                    stderr, "%s\n",
                    loadgen::progress_line(last, s, dt, elapsed, generator->open_connections())
                        .c_str());
                last = s;
                last_at = now;
                next_progress = now + 1s;
            }
        }
    }
    adapter.detach();
    {
        const auto& t = tcp.counters();
        std::fprintf(stderr,
                     "l45-bench: tcp segments in %llu out %llu, retransmits %llu, resets sent "
                     "%llu received %llu, no_connection %llu, table_full %llu\n",
                     static_cast<unsigned long long>(t.segments_in),
                     static_cast<unsigned long long>(t.segments_out),
                     static_cast<unsigned long long>(t.retransmits),
                     static_cast<unsigned long long>(t.resets_sent),
                     static_cast<unsigned long long>(t.resets_received),
                     static_cast<unsigned long long>(t.no_connection),
                     static_cast<unsigned long long>(t.table_full));
    }
    if (!generator) {
        std::printf("l45-bench: echo served %llu connections, %llu bytes\n",
                    static_cast<unsigned long long>(echo.accepted()),
                    static_cast<unsigned long long>(echo.bytes_echoed()));
        return rc;
    }
    if (!started) return 1;
    const auto end = generator->done() ? generator->finished_at() : now;
    const loadgen::RunSummary summary{
        &o, server, std::chrono::duration<double>(end - generator->started_at()).count(),
        &generator->stats()};
    std::printf("%s", loadgen::results_text(summary).c_str());
    std::printf("%s\n", loadgen::results_line(summary).c_str());
    std::fflush(stdout);
    if (!args.csv.empty() && !append_csv(args.csv, summary)) {
        std::fprintf(stderr, "l45-bench: cannot write %s\n", args.csv.c_str());
        rc = rc == 0 ? 1 : rc;
    }
    const auto& s = generator->stats();
    if (rc == 0 && s.errors != 0) rc = 3;
    if (rc == 0 && s.requests == 0) rc = 4;
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    auto eal = l45::drivers::eal_init(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "l45-bench: %s\n", eal.error().c_str());
        return 1;
    }
    CLI::App app{"l45-bench: a TLS 1.3 load generator on l45's TCP"};
    Args args;
    loadgen::LoadOptions& o = args.options;
    app.add_option("mode", args.mode, "handshake (default), bulk or rr")
        ->check(CLI::IsMember({"handshake", "bulk", "rr"}));
    app.add_option("--connect", args.connect, "the TLS server, IP[:PORT] (port 443)");
    app.add_option("--ip", args.ip, "local address and prefix, e.g. 198.18.0.3/24")->required();
    app.add_option("--gw", args.gw, "default gateway");
    app.add_option("--port", args.port_name, "DPDK port name (default: the first port)");
    app.add_option("--sni", o.sni, "server name sent and verified (localhost)");
    app.add_option("--ca", o.ca_file, "CA certificate(s), PEM, to verify the server with");
    app.add_flag("--insecure", o.insecure,
                 "do NOT verify the server certificate (lab use; said in the output)");
    app.add_option("-c,--concurrency", o.concurrency, "connections open at once (16)")
        ->check(CLI::PositiveNumber);
    app.add_option("-n,--total", o.total, "handshake/rr: requests to make (0: until -t)");
    app.add_option("-t,--time", args.seconds, "seconds, an upper bound on the run (10)");
    app.add_option("--size", o.request_len, "rr/echo request and response bytes (64)");
    app.add_option("--bytes", o.bulk_bytes, "bulk: bytes each way per connection (0: until -t)");
    app.add_option("--payload", args.payload, "echo (default) or http (GET --path)")
        ->check(CLI::IsMember({"echo", "http"}));
    app.add_option("--path", o.http_path, "payload http: the path to GET (/)");
    app.add_flag("--handshake-request", o.handshake_request,
                 "handshake mode: one request per connection before closing");
    app.add_option("--idle-timeout", args.idle_timeout,
                   "seconds without progress before a connection is reset (5)");
    app.add_option("--csv", args.csv, "append the results as a CSV row (header if new)");
    app.add_option("--serve-echo", args.serve_echo,
                   "also serve a plaintext TCP echo backend on this port");
    app.add_option("--max-connections", args.max_connections,
                   "TCP connection table size (default max(1024, 2c + 64))");
    app.add_option("--start-delay", args.start_delay,
                   "seconds to serve the port before the load starts (0)");
    std::vector<char*> app_argv = {argv[0]};
    for (int i = eal->app_args_index; i < argc; ++i)
        app_argv.push_back(argv[i]);
    try {
        app.parse(static_cast<int>(app_argv.size()), app_argv.data());
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        l45::drivers::eal_cleanup();
        return code;
    }
    const int rc = run(args);
    l45::drivers::eal_cleanup();
    return rc;
}
