// l45-offload: the TLS-terminating proxy (issue 5) as a program.
//
//   l45-offload [EAL args] -- [--config FILE] [flags]
//
// With no argument at all it runs its embedded default (config.h): a net_tap
// port l45o0 at 198.18.0.2/24, a CA and a server certificate for localhost
// generated at first run into ./l45-offload-pki/ (reused afterwards), TLS on
// 443, the 301 redirect on 80, one backend at 198.18.0.1:8000.
//
// Start-up, in order: EAL (drivers/eal.h), configuration (file + flags,
// everything checked before a port is touched), certificates, the port,
// steering (rte_flow, or the software fallback with one log line), then one
// lcore running Interface + TcpStack + Proxy in a poll loop. It prints
// "l45-offload: up ..." once serving (scripts and tests wait for it), a
// one-line stats summary every stats.interval_s, and exposes its counters
// through rte_telemetry (stats.h).
//
// Lcores: when the control queue is not one of the TLS queues and the EAL
// has an lcore for each TLS queue besides the main one (e.g. `-l 0-2` for
// queues.tls = [1, 2], control = 0), each TLS queue gets its own lcore
// (lcores.h) and the main lcore serves the control queue. Otherwise (the
// embedded default: one queue) one lcore polls every rx queue of the port.
//
// SIGINT / SIGTERM: Proxy::shutdown (close_notify and FIN on every session,
// stop listening), then the loop runs until the proxy is drained; exit 0.
// A second signal, or sessions still open after the proxy's grace period
// and a margin, ends it at once with exit 1.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "apps/common/service.h"
#include "apps/l45-offload/config.h"
#include "apps/l45-offload/config_to_options.h"
#include "apps/l45-offload/credentials.h"
#include "apps/l45-offload/keylog.h"
#include "apps/l45-offload/lcores.h"
#include "apps/l45-offload/proxy.h"
#include "apps/l45-offload/stats.h"
#include "drivers/eal.h"
#include "drivers/port.h"
#include "drivers/steering.h"
#include "stack/net/interface.h"
#include "stack/tcp/interface_adapter.h"
#include "stack/tcp/stack.h"

namespace {

using namespace std::chrono_literals;
namespace offload = l45::offload;

std::atomic<int> g_signals{0};
void on_signal(int) {
    g_signals.fetch_add(1, std::memory_order_relaxed);
}

// How often the lcore copies its counters to the telemetry board.
constexpr l45::Duration kPublishInterval = 100ms;
// After the proxy's own shutdown_grace (which resets what is left), how
// long the loop still waits for the resets to leave before giving up.
constexpr l45::Duration kShutdownMargin = 2s;
// After draining, the final ACKs and RSTs still need a few iterations.
constexpr l45::Duration kFlushTime = 50ms;

// The port the configuration names, else the first one, else the vdev it
// asks for (the embedded default's net_tap).
l45::Result<l45::drivers::Port, std::string> open_port(const offload::Config& config,
                                                       const l45::drivers::PortConfig& pc) {
    if (!config.port_name.empty()) {
        const auto id = l45::drivers::find_port(config.port_name);
        if (!id) return l45::unexpected("no DPDK port named '" + config.port_name + "'");
        return l45::drivers::Port::open(*id, pc);
    }
    std::uint16_t id = 0;
    RTE_ETH_FOREACH_DEV(id) {
        return l45::drivers::Port::open(id, pc);
    }
    if (config.vdev.empty())
        return l45::unexpected(std::string("no DPDK port (give --vdev or a NIC)"));
    const auto comma = config.vdev.find(',');
    const std::string name = config.vdev.substr(0, comma);
    const std::string args = comma == std::string::npos ? "" : config.vdev.substr(comma + 1);
    return l45::drivers::Port::open_vdev(name, args, pc);
}

void print_nonzero(const char* title, const offload::StatsBoard::Group& g) {
    std::printf("l45-offload: %s (non-zero)\n", title);
    for (std::size_t i = 0; i < g.names.size(); ++i) {
        const auto v = g.values[i].load(std::memory_order_relaxed);
        if (v != 0)
            std::printf("  %-28s %llu\n", g.names[i].c_str(), static_cast<unsigned long long>(v));
    }
}

// What the single-lcore and the multi-lcore loops share: signals and the
// shutdown's deadlines, the telemetry board's refresh and the stats line,
// and the report at exit. `publish` copies the counters to the board and
// samples them.
class RunLoop {
  public:
    RunLoop(const offload::Config& config, l45::Duration shutdown_grace,
            std::function<offload::StatsSample(l45::Instant)> publish, l45::Instant now)
        : publish_(std::move(publish)),
          grace_(shutdown_grace + kShutdownMargin),
          stats_every_(std::chrono::duration_cast<l45::Duration>(
              std::chrono::duration<double>(config.stats_interval_s))),
          stats_on_(config.stats_interval_s > 0),
          last_(publish_(now)),
          next_stats_(now + stats_every_),
          next_publish_(now + kPublishInterval) {}

    // Start of an iteration. The first signal calls shut_down() once; a
    // second one ends the run at once: the exit code.
    [[nodiscard]] std::optional<int> check_signals(l45::Instant now, std::uint64_t open_sessions,
                                                   const std::function<void()>& shut_down) {
        const int signals = g_signals.load(std::memory_order_relaxed);
        if (signals > 0 && !shutting_down_) {
            std::printf("l45-offload: shutting down (%llu sessions open)\n",
                        static_cast<unsigned long long>(open_sessions));
            std::fflush(stdout);
            shut_down();
            shutting_down_ = true;
            give_up_at_ = now + grace_;
        }
        if (signals > 1) {
            std::printf("l45-offload: second signal, stopping now\n");
            return 1;
        }
        return std::nullopt;
    }

    // End of an iteration: the shutdown's progress (drained: every session
    // closed), then telemetry and the stats line. The exit code once over.
    [[nodiscard]] std::optional<int> after_poll(l45::Instant now, bool drained,
                                                std::uint64_t open_sessions) {
        if (shutting_down_) {
            if (stop_at_ == l45::Instant::max() && drained) stop_at_ = now + kFlushTime;
            if (now >= stop_at_) return 0;
            if (now >= give_up_at_) {
                std::printf("l45-offload: %llu sessions still open after the grace period\n",
                            static_cast<unsigned long long>(open_sessions));
                return 1;
            }
        }
        if (now >= next_publish_) {
            const auto s = publish_(now);
            next_publish_ = now + kPublishInterval;
            if (stats_on_ && now >= next_stats_) {
                std::printf("%s\n", offload::stats_line(last_, s).c_str());
                std::fflush(stdout);
                last_ = s;
                next_stats_ = now + stats_every_;
            }
        }
        return std::nullopt;
    }

    // The last stats line, the non-zero counters and the key log's count.
    void report(l45::Instant now, const offload::StatsBoard& board,
                const offload::KeyLogFile* keylog) {
        std::printf("%s\n", offload::stats_line(last_, publish_(now)).c_str());
        print_nonzero("offload counters", board.offload());
        print_nonzero("tcp counters", board.tcp());
        print_nonzero("net counters", board.net());
        if (keylog != nullptr) {
            std::printf("l45-offload: key log %s: %llu lines, %llu write errors\n",
                        keylog->path().c_str(),
                        static_cast<unsigned long long>(keylog->lines_written()),
                        static_cast<unsigned long long>(keylog->write_errors()));
        }
    }

    [[nodiscard]] const offload::StatsSample& last() const { return last_; }

  private:
    std::function<offload::StatsSample(l45::Instant)> publish_;
    l45::Duration grace_;
    l45::Duration stats_every_;
    bool stats_on_;
    offload::StatsSample last_;
    l45::Instant next_stats_, next_publish_;
    bool shutting_down_ = false;
    l45::Instant give_up_at_ = l45::Instant::max();
    l45::Instant stop_at_ = l45::Instant::max();
};

// One lcore per TLS queue (apps/l45-offload/lcores.h): the TLS lcores on EAL
// workers, the control queue, telemetry and signals on this (main) lcore.
int run_lcores(const offload::Config& config, l45::drivers::Port& port,
               const l45::drivers::Steering& steering, const l45::net::InterfaceConfig& ic,
               const l45::tls::pki::CredentialSelector* credentials, offload::KeyLogFile* keylog) {
    const auto n = static_cast<std::uint32_t>(config.tls_queues.size());
    offload::LcoresConfig lc;
    lc.tls_queues = config.tls_queues;
    lc.control_queue = config.control_queue;
    lc.dispatch_all = steering.mode() == l45::drivers::SteeringMode::software;
    lc.iface = ic;
    lc.proxy = offload::config_to_options(config, n);
    lc.proxy.credentials = credentials;
    if (keylog != nullptr) lc.proxy.key_log = keylog->sink();
    lc.tcp.local_addr = config.ip;
    lc.tcp.tcp.mss = static_cast<std::uint16_t>(ic.mtu - 40);
    lc.tcp.max_connections = offload::tcp_connections_for(lc.proxy);
    auto lcores = offload::OffloadLcores::create(port, steering.classifier(), lc);
    if (!lcores) {
        std::fprintf(stderr, "l45-offload: %s\n", lcores.error().c_str());
        return 1;
    }
    offload::OffloadLcores& ls = **lcores;
    offload::StatsBoard board;
    if (config.telemetry) {
        if (auto r = board.register_telemetry(); !r) {
            std::fprintf(stderr, "l45-offload: %s\n", r.error().c_str());
            return 1;
        }
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto now = l45::MonotonicClock::now();
    if (auto r = ls.start(now); !r) {
        std::fprintf(stderr, "l45-offload: %s\n", r.error().c_str());
        return 1;
    }
    if (auto r = ls.launch(); !r) {
        std::fprintf(stderr, "l45-offload: %s\n", r.error().c_str());
        return 1;
    }
    std::string backends;
    for (const auto& b : config.backends)
        backends +=
            (backends.empty() ? "" : ",") + b.addr.to_string() + ":" + std::to_string(b.port);
    std::printf(
        "l45-offload: up on %s (%s) mac %s ip %s/%u https %u http %u backends %s "
        "steering %s, control queue %u on lcore %u, %u TLS lcores (%u sessions each)\n",
        port.name().c_str(), port.driver_name().c_str(), l45::net::mac_to_string(ic.mac).c_str(),
        config.ip.to_string().c_str(), config.prefix_len, config.https_port, config.http_port,
        backends.c_str(), l45::drivers::to_string(steering.mode()), config.control_queue,
        rte_lcore_id(), n, lc.proxy.max_sessions);
    for (std::uint16_t k = 0; k < ls.num_lcores(); ++k)
        std::printf("l45-offload: TLS queue %u on lcore %u\n", config.tls_queues[k],
                    ls.lcore_id(k));
    std::fflush(stdout);

    RunLoop loop(
        config, lc.proxy.shutdown_grace,
        [&](l45::Instant t) {
            ls.publish_sum(board);
            return offload::sample(t, board);
        },
        now);
    int rc = 0;
    for (;;) {
        now = l45::MonotonicClock::now();
        if (auto r = loop.check_signals(now, loop.last().active, [&] { ls.request_shutdown(); })) {
            rc = *r;
            break;
        }
        ls.poll_control(now);
        if (auto r = loop.after_poll(now, ls.drained(), loop.last().active)) {
            rc = *r;
            break;
        }
    }
    ls.stop();  // the TLS lcores are gone from here: their counters may be read
    loop.report(now, board, keylog);
    for (std::uint16_t k = 0; k < ls.num_lcores(); ++k) {
        const auto& p = ls.proxy(k).counters();
        std::printf(
            "l45-offload: lcore %u (queue %u): connections %llu handshakes %llu bytes in %llu "
            "out %llu, frames handed over %llu\n",
            ls.lcore_id(k), config.tls_queues[k],
            static_cast<unsigned long long>(p.connections_accepted),
            static_cast<unsigned long long>(p.handshakes_ok),
            static_cast<unsigned long long>(p.bytes_in),
            static_cast<unsigned long long>(p.bytes_out),
            static_cast<unsigned long long>(ls.handed_back(k)));
    }
    if (ls.handback_dropped() != 0)
        std::printf("l45-offload: %llu frames dropped on full hand-back rings\n",
                    static_cast<unsigned long long>(ls.handback_dropped()));
    std::printf("l45-offload: %s\n", rc == 0 ? "drained, exiting" : "exiting with sessions open");
    std::fflush(stdout);
    return rc;
}

int run(const offload::Config& config) {
    // --- certificates ---
    std::optional<offload::GeneratedPki> generated;
    if (config.generate_certificates()) {
        auto g = offload::ensure_generated_pki(config.generated_dir, config.generated_names);
        if (!g) {
            std::fprintf(stderr, "l45-offload: %s\n", g.error().c_str());
            return 1;
        }
        generated = *g;
        std::error_code ec;
        const std::string ca = std::filesystem::absolute(g->ca_path, ec).string();
        std::printf("l45-offload: %s CA %s (clients: curl --cacert %s https://%s/)\n",
                    g->created ? "generated" : "reusing", ca.c_str(), ca.c_str(),
                    config.generated_names.front().c_str());
    }
    auto credentials = offload::load_credentials(config, generated ? &*generated : nullptr);
    if (!credentials) {
        std::fprintf(stderr, "l45-offload: %s\n", credentials.error().c_str());
        return 1;
    }
    // The key log: opened before anything serves, so a bad path stops the
    // start, and announced on stderr (it holds every session's keys).
    std::unique_ptr<offload::KeyLogFile> keylog;
    if (!config.keylog_file.empty()) {
        auto k = offload::KeyLogFile::open(config.keylog_file);
        if (!k) {
            std::fprintf(stderr, "l45-offload: tls.keylog_file: %s\n", k.error().c_str());
            return 1;
        }
        keylog = std::move(*k);
        std::fprintf(stderr,
                     "l45-offload: WARNING: writing the TLS secrets of every session to %s "
                     "(tls.keylog_file): anyone who can read it can decrypt the traffic. "
                     "For debugging only; never in production.\n",
                     keylog->path().c_str());
    }

    // --- port and steering ---
    l45::drivers::PortConfig pc;
    std::uint16_t max_queue = config.control_queue;
    for (std::uint16_t q : config.tls_queues)
        max_queue = std::max(max_queue, q);
    pc.num_rx_queues = static_cast<std::uint16_t>(max_queue + 1);
    pc.num_tx_queues = pc.num_rx_queues;
    auto port = open_port(config, pc);
    if (!port) {
        std::fprintf(stderr, "l45-offload: %s\n", port.error().c_str());
        return 1;
    }
    auto steering = l45::drivers::Steering::install(
        *port, offload::steering_config(config),
        {.software_only = config.steering == offload::SteeringChoice::software});
    if (!steering) {
        std::fprintf(stderr, "l45-offload: steering: %s\n", steering.error().c_str());
        return 1;
    }

    const l45::net::InterfaceConfig ic =
        l45::apps::port_interface(*port, config.ip, config.prefix_len, config.gateway);

    // One lcore per TLS queue when the control queue is a queue of its own
    // and the EAL gave enough lcores (docs/appliance.md "Several lcores").
    const auto n_tls = static_cast<unsigned>(config.tls_queues.size());
    const bool separate_control = std::find(config.tls_queues.begin(), config.tls_queues.end(),
                                            config.control_queue) == config.tls_queues.end();
    if (separate_control && rte_lcore_count() >= n_tls + 1)
        return run_lcores(config, *port, *steering, ic, credentials->get(), keylog.get());
    if (config.tls_queues.size() > 1 || separate_control) {
        std::printf(
            "l45-offload: %u TLS queue(s) served by this one lcore: one lcore per TLS queue "
            "needs a control queue of its own and %u EAL lcores (-l), have %u\n",
            n_tls, n_tls + 1, rte_lcore_count());
    }

    // --- the lcore's stack ---
    l45::net::Interface iface(ic, port->mempool(), port->tx_offloads());

    l45::SystemRandom proxy_random;
    l45::SystemRandom tcp_random;
    offload::ProxyOptions options = offload::config_to_options(config, 1);
    options.credentials = credentials->get();
    options.random = &proxy_random;
    if (keylog) options.key_log = keylog->sink();
    if (config.max_connections > options.max_sessions) {
        std::printf(
            "l45-offload: %u TLS sessions on this lcore (limits.max_connections %u; "
            "each session's buffers are made at start-up)\n",
            options.max_sessions, config.max_connections);
    }
    l45::tcp::TcpStackConfig tc;
    tc.local_addr = config.ip;
    tc.tcp.mss = static_cast<std::uint16_t>(ic.mtu - 40);
    tc.max_connections = offload::tcp_connections_for(options);
    auto proxy = offload::Proxy::create(options, tc.max_connections);
    if (!proxy) {
        std::fprintf(stderr, "l45-offload: %s\n", proxy.error().c_str());
        return 1;
    }
    l45::tcp::InterfaceAdapter adapter(iface);
    l45::tcp::TcpStack tcp(tc, adapter, port->mempool(), tcp_random, **proxy);
    adapter.attach(tcp);
    offload::Proxy& px = **proxy;

    offload::StatsBoard board;
    if (config.telemetry) {
        if (auto r = board.register_telemetry(); !r) {
            std::fprintf(stderr, "l45-offload: %s\n", r.error().c_str());
            return 1;
        }
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto now = l45::MonotonicClock::now();
    iface.start(now);
    if (auto r = px.start(tcp, now); !r) {
        std::fprintf(stderr, "l45-offload: %s\n", r.error().c_str());
        return 1;
    }
    std::string backends;
    for (const auto& b : config.backends)
        backends +=
            (backends.empty() ? "" : ",") + b.addr.to_string() + ":" + std::to_string(b.port);
    std::printf(
        "l45-offload: up on %s (%s) mac %s ip %s/%u https %u http %u backends %s "
        "steering %s, lcore %u\n",
        port->name().c_str(), port->driver_name().c_str(), l45::net::mac_to_string(ic.mac).c_str(),
        config.ip.to_string().c_str(), config.prefix_len, config.https_port, config.http_port,
        backends.c_str(), l45::drivers::to_string(steering->mode()), rte_lcore_id());
    if (config.telemetry) {
        std::printf(
            "l45-offload: telemetry %s/dpdk_telemetry.v2 (/l45/offload/stats, "
            "/l45/tcp/stats, /l45/net/stats)\n",
            rte_eal_get_runtime_dir());
    }
    std::fflush(stdout);

    RunLoop loop(
        config, options.shutdown_grace,
        [&](l45::Instant t) {
            board.publish(px.counters(), tcp.counters(), iface.counters(), port->counters());
            return offload::sample(t, px.counters(), tcp.counters(), iface.counters(),
                                   port->counters());
        },
        now);
    int rc = 0;
    for (;;) {
        now = l45::MonotonicClock::now();
        if (auto r = loop.check_signals(now, px.sessions_in_use(), [&] { px.shutdown(now); })) {
            rc = *r;
            break;
        }
        px.poll(now);
        for (std::uint16_t q = 1; q < port->num_rx_queues(); ++q)
            l45::apps::service_once(*port, q, iface, now, nullptr);
        l45::apps::service_once(*port, 0, iface, now, &tcp);
        if (auto r = loop.after_poll(now, px.drained(), px.sessions_in_use())) {
            rc = *r;
            break;
        }
    }
    loop.report(now, board, keylog.get());
    std::printf("l45-offload: %s\n", rc == 0 ? "drained, exiting" : "exiting with sessions open");
    std::fflush(stdout);
    adapter.detach();
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    auto eal = l45::drivers::eal_init(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "l45-offload: %s\n", eal.error().c_str());
        return 1;
    }
    CLI::App app{"l45-offload: TLS 1.3 termination on l45's TCP, plaintext to backends"};
    offload::CliOverrides cli;
    offload::add_cli_options(app, cli);
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
    auto config = offload::load_config(cli);
    int rc = 2;
    if (!config) {
        std::fprintf(stderr, "l45-offload: configuration:\n%s\n", config.error().c_str());
    } else {
        rc = run(*config);
    }
    l45::drivers::eal_cleanup();
    return rc;
}
