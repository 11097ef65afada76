#include "apps/l45-offload/stats.h"

#include <rte_telemetry.h>

#include <chrono>
#include <cstdio>

namespace l45::offload {
namespace {

// rte_telemetry callbacks are plain functions: they find the board here.
// Set once, before the commands are registered.
const StatsBoard* g_board = nullptr;

template <class F>
void for_each_net(const net::Counters& n, const drivers::PortCounters& port, F&& f) {
    n.for_each(f);
    f(std::string_view("port_rx_packets"), port.rx_packets);
    f(std::string_view("port_tx_packets"), port.tx_packets);
    f(std::string_view("port_tx_dropped"), port.tx_dropped);
    f(std::string_view("port_tx_prepare_dropped"), port.tx_prepare_dropped);
}

template <class Visit>
StatsBoard::Group make_group(Visit&& visit) {
    StatsBoard::Group g;
    visit([&](std::string_view name, std::uint64_t) { g.names.emplace_back(name); });
    g.values = std::make_unique<std::atomic<std::uint64_t>[]>(g.names.size());
    return g;
}

template <class Visit>
void store(StatsBoard::Group& g, Visit&& visit) {
    std::size_t i = 0;
    visit([&](std::string_view, std::uint64_t v) {
        if (i < g.names.size()) g.values[i++].store(v, std::memory_order_relaxed);
    });
}

int answer(const StatsBoard::Group& g, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    for (std::size_t i = 0; i < g.names.size(); ++i) {
        rte_tel_data_add_dict_u64(d, g.names[i].c_str(),
                                  g.values[i].load(std::memory_order_relaxed));
    }
    return 0;
}

int offload_cb(const char*, const char*, rte_tel_data* d) {
    return g_board ? answer(g_board->offload(), d) : -1;
}
int tcp_cb(const char*, const char*, rte_tel_data* d) {
    return g_board ? answer(g_board->tcp(), d) : -1;
}
int net_cb(const char*, const char*, rte_tel_data* d) {
    return g_board ? answer(g_board->net(), d) : -1;
}

// The counters the summary calls drops, by name (one list for the structs
// and for a board).
bool is_drop(std::string_view name) {
    static constexpr std::string_view kDrops[] = {
        "sessions_exhausted", "http_exhausted",   "rx_queue_full",   "mbuf_alloc_failed",
        "syn_backlog_drops",  "table_full",       "tx_queue_full",   "tx_alloc_failed",
        "no_route",           "arp_hold_dropped", "port_tx_dropped", "port_tx_prepare_dropped"};
    for (std::string_view d : kDrops)
        if (d == name) return true;
    return false;
}

}  // namespace

std::uint64_t drops(const ProxyCounters& p, const tcp::TcpCounters& t, const net::Counters& n,
                    const drivers::PortCounters& port) {
    std::uint64_t sum = 0;
    const auto add = [&](std::string_view name, std::uint64_t v) {
        if (is_drop(name)) sum += v;
    };
    p.for_each(add);
    for_each_tcp_counter(t, add);
    for_each_net(n, port, add);
    return sum;
}

StatsSample sample(Instant at, const StatsBoard& board) {
    StatsSample s;
    s.at = at;
    const auto read = [&](const StatsBoard::Group& g) {
        for (std::size_t i = 0; i < g.names.size(); ++i) {
            const std::string& name = g.names[i];
            const std::uint64_t v = g.values[i].load(std::memory_order_relaxed);
            if (&g == &board.offload()) {
                if (name == "connections_accepted") s.connections = v;
                if (name == "connections_active") s.active = v;
                if (name == "handshakes_ok") s.handshakes = v;
                if (name == "handshakes_failed") s.handshake_failures = v;
                if (name == "tls_bytes_in") s.tls_bytes_in = v;
                if (name == "tls_bytes_out") s.tls_bytes_out = v;
            }
            if (is_drop(name)) s.drops += v;
        }
    };
    read(board.offload());
    read(board.tcp());
    read(board.net());
    return s;
}

StatsSample sample(Instant at, const ProxyCounters& p, const tcp::TcpCounters& t,
                   const net::Counters& n, const drivers::PortCounters& port) {
    StatsSample s;
    s.at = at;
    s.connections = p.connections_accepted;
    s.active = p.connections_active;
    s.handshakes = p.handshakes_ok;
    s.handshake_failures = p.handshakes_failed;
    s.tls_bytes_in = p.tls_bytes_in;
    s.tls_bytes_out = p.tls_bytes_out;
    s.drops = drops(p, t, n, port);
    return s;
}

std::string stats_line(const StatsSample& prev, const StatsSample& cur) {
    const double secs = std::chrono::duration<double>(cur.at - prev.at).count();
    const auto rate = [&](std::uint64_t a, std::uint64_t b) {
        return secs > 0 && b >= a ? static_cast<double>(b - a) / secs : 0.0;
    };
    char line[256];
    std::snprintf(line, sizeof line,
                  "l45-offload: stats connections %llu active %llu handshakes %llu (%.1f/s) "
                  "failed %llu in %.3f Gbit/s out %.3f Gbit/s drops %llu",
                  static_cast<unsigned long long>(cur.connections),
                  static_cast<unsigned long long>(cur.active),
                  static_cast<unsigned long long>(cur.handshakes),
                  rate(prev.handshakes, cur.handshakes),
                  static_cast<unsigned long long>(cur.handshake_failures),
                  rate(prev.tls_bytes_in, cur.tls_bytes_in) * 8 / 1e9,
                  rate(prev.tls_bytes_out, cur.tls_bytes_out) * 8 / 1e9,
                  static_cast<unsigned long long>(cur.drops));
    return line;
}

StatsBoard::StatsBoard() {
    offload_ = make_group([](auto&& f) { ProxyCounters{}.for_each(f); });
    tcp_ = make_group([](auto&& f) { for_each_tcp_counter(tcp::TcpCounters{}, f); });
    net_ = make_group([](auto&& f) { for_each_net(net::Counters{}, drivers::PortCounters{}, f); });
}

void StatsBoard::publish(const ProxyCounters& p, const tcp::TcpCounters& t, const net::Counters& n,
                         const drivers::PortCounters& port) {
    store(offload_, [&](auto&& f) { p.for_each(f); });
    store(tcp_, [&](auto&& f) { for_each_tcp_counter(t, f); });
    store(net_, [&](auto&& f) { for_each_net(n, port, f); });
}

void StatsBoard::publish_sum(std::span<const StatsBoard* const> parts) {
    const auto sum = [&](Group StatsBoard::*which) {
        Group& out = this->*which;
        for (std::size_t i = 0; i < out.names.size(); ++i) {
            std::uint64_t v = 0;
            for (const StatsBoard* b : parts)
                v += (b->*which).values[i].load(std::memory_order_relaxed);
            out.values[i].store(v, std::memory_order_relaxed);
        }
    };
    sum(&StatsBoard::offload_);
    sum(&StatsBoard::tcp_);
    sum(&StatsBoard::net_);
}

Result<void, std::string> StatsBoard::register_telemetry() {
    g_board = this;
    struct Cmd {
        const char* name;
        telemetry_cb cb;
        const char* help;
    };
    static constexpr Cmd kCmds[] = {
        {"/l45/offload/stats", offload_cb, "l45-offload proxy counters"},
        {"/l45/tcp/stats", tcp_cb, "l45 TCP stack counters"},
        {"/l45/net/stats", net_cb, "l45 interface and port counters"},
    };
    for (const Cmd& c : kCmds) {
        const int rc = rte_telemetry_register_cmd(c.name, c.cb, c.help);
        if (rc != 0)
            return unexpected(std::string("rte_telemetry_register_cmd ") + c.name + ": " +
                              std::to_string(rc));
    }
    return {};
}

}  // namespace l45::offload
