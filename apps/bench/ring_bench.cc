// l45-ring-bench: the l45 side of issue 5's TLS benchmarks. l45-bench's
// LoadGenerator (host A) against the l45-offload Proxy (host B) over the
// in-process net_ring wire, each host on its own lcore
// (apps/bench/ring_pair.h), for the workloads l45-openssl-peer runs:
//
//   bulk       `--bulk-connections` echo streams for --seconds: A sends a
//              pattern, B decrypts it, forwards it over l45 TCP to A's echo
//              backend, encrypts the echo back. Goodput = bytes A received.
//   download   `--bulk-connections` streams for --seconds, the OpenSSL
//              peer's bulk shape: A's backend (a SourceService) streams a
//              pattern to B, B seals it in 16 KiB records, A's client opens
//              it and checks it (memcmp against a precomputed window).
//              Goodput = bytes A's client received.
//   handshake  `--hs-connections` in flight, a new connection per handshake
//              (no resumption), close_notify, close.
//   rr         `--rr-connections` long connections, 64-byte echo each.
//
// NOTE the proxy does more per byte than the OpenSSL peer's server: it
// decrypts what the client sends, carries it over a second TCP connection
// both ways and encrypts the echo (the peer's server only encrypts).
//
// Figures: wall rate over the run (ramp and close included), per
// CPU-second of B's lcore (with --idle-sleep-us > 0 B sleeps when idle, so
// its CPU time is the work; spinning, it equals the wall time), and per
// BUSY CPU-second of B's lcore: its CPU time times the share of its poll
// iterations (TSC time) that moved a frame (ring_pair.h, DPDK's busy/idle
// split), which leaves out the empty polls spent waiting for A. With
// --lcores 1 both hosts take turns on one lcore: the client's work is in
// every figure. The client does not verify the proxy's certificate unless
// --verify (as l45-openssl-peer), so the handshake figure is the proxy's.
//
//   l45-ring-bench -l 0,1 --no-pci -- [--mode all] [--seconds 3] [--csv out.csv]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "apps/bench/machine.h"
#include "apps/bench/ring_pair.h"
#include "drivers/eal.h"

namespace {

using l45::bench::RingPairOptions;
using l45::bench::RingPairResult;
using l45::loadgen::Mode;

const char* mode_name(Mode m) {
    switch (m) {
        case Mode::handshake:
            return "handshake";
        case Mode::bulk:
            return "bulk";
        case Mode::rr:
            return "rr";
    }
    return "?";
}

class Csv {
  public:
    explicit Csv(const std::string& path) {
        if (path.empty()) return;
        out_.open(path);
        out_ << "section,workload,connections,lcores,metric,value,unit\n";
    }
    void row(const char* workload, std::uint32_t conns, unsigned lcores, const char* metric,
             double value, const char* unit) {
        if (out_.is_open())
            out_ << "l45," << workload << ',' << conns << ',' << lcores << ',' << metric << ','
                 << value << ',' << unit << '\n';
    }
    [[nodiscard]] bool ok() const { return !out_.is_open() || out_.good(); }

  private:
    std::ofstream out_;
};

// Prints and records one run; false when it is void.
bool report(Mode mode, const char* w, std::uint32_t conns, const RingPairResult& r, Csv& csv) {
    const auto& l = r.load;
    const double b_cpu = r.lcores == 2 ? r.cpu_b_s : r.cpu_a_s;
    const double b_busy = r.lcores == 2 ? r.busy_cpu_b_s : r.busy_cpu_a_s;
    const double b_share = r.lcores == 2 ? r.busy_b : r.busy_a;
    std::printf(
        "\n%s, %u connection(s), %u lcore(s), %.2f s: cpu A %.2f s (busy %.0f %%), B %.2f s "
        "(busy %.0f %%); errors %llu; rx ring full %llu, retransmits A %llu B %llu\n",
        w, conns, r.lcores, r.seconds, r.cpu_a_s, r.busy_a * 100, r.cpu_b_s, r.busy_b * 100,
        static_cast<unsigned long long>(l.errors),
        static_cast<unsigned long long>(r.wire.rx_ring_full),
        static_cast<unsigned long long>(r.tcp_a.retransmits),
        static_cast<unsigned long long>(r.tcp_b.retransmits));
    if (!r.error.empty()) std::printf("  ERROR: %s\n", r.error.c_str());
    csv.row(w, conns, r.lcores, "server_cpu_s", b_cpu, "s");
    csv.row(w, conns, r.lcores, "server_busy_share", b_share, "ratio");
    csv.row(w, conns, r.lcores, "errors", static_cast<double>(l.errors), "count");
    double figure = 0;
    switch (mode) {
        case Mode::bulk: {
            const double gbit = static_cast<double>(l.bytes_received) * 8 / 1e9;
            figure = gbit;
            std::printf(
                "  goodput %.3f Gbit/s wall (%s), %.3f Gbit per proxy CPU-second, %.3f per busy "
                "CPU-second; integrity errors %llu\n",
                gbit / r.seconds,
                r.source_bytes != 0 ? "backend -> proxy -> client" : "each way through the proxy",
                gbit / b_cpu, gbit / b_busy, static_cast<unsigned long long>(l.integrity_errors));
            csv.row(w, conns, r.lcores, "goodput", gbit / r.seconds, "Gbit/s");
            csv.row(w, conns, r.lcores, "goodput_per_server_cpu", gbit / b_cpu, "Gbit/CPU-s");
            csv.row(w, conns, r.lcores, "goodput_per_server_busy_cpu", gbit / b_busy, "Gbit/CPU-s");
            if (l.integrity_errors != 0) figure = 0;
            break;
        }
        case Mode::handshake: {
            const double n = static_cast<double>(l.handshakes);
            figure = n;
            std::printf(
                "  %.0f handshakes/s wall, %.0f per proxy CPU-second, %.0f per busy CPU-second\n",
                n / r.seconds, n / b_cpu, n / b_busy);
            csv.row(w, conns, r.lcores, "handshakes", n / r.seconds, "handshakes/s");
            csv.row(w, conns, r.lcores, "handshakes_per_server_cpu", n / b_cpu, "handshakes/CPU-s");
            csv.row(w, conns, r.lcores, "handshakes_per_server_busy_cpu", n / b_busy,
                    "handshakes/CPU-s");
            break;
        }
        case Mode::rr: {
            const double n = static_cast<double>(l.requests);
            figure = n;
            const double p50 = static_cast<double>(l.latency.percentile(0.50)) / 1e3;
            const double p90 = static_cast<double>(l.latency.percentile(0.90)) / 1e3;
            const double p99 = static_cast<double>(l.latency.percentile(0.99)) / 1e3;
            const double mx = static_cast<double>(l.latency.max()) / 1e3;
            std::printf(
                "  %.0f requests/s wall, %.0f per proxy CPU-second, %.0f per busy CPU-second; "
                "latency p50 %.1f us, p90 %.1f, p99 %.1f, max %.1f\n",
                n / r.seconds, n / b_cpu, n / b_busy, p50, p90, p99, mx);
            csv.row(w, conns, r.lcores, "requests", n / r.seconds, "requests/s");
            csv.row(w, conns, r.lcores, "requests_per_server_cpu", n / b_cpu, "requests/CPU-s");
            csv.row(w, conns, r.lcores, "requests_per_server_busy_cpu", n / b_busy,
                    "requests/CPU-s");
            csv.row(w, conns, r.lcores, "p50", p50, "us");
            csv.row(w, conns, r.lcores, "p90", p90, "us");
            csv.row(w, conns, r.lcores, "p99", p99, "us");
            csv.row(w, conns, r.lcores, "max", mx, "us");
            break;
        }
    }
    return r.error.empty() && l.errors == 0 && figure > 0;
}

}  // namespace

int main(int argc, char** argv) {
    auto eal = l45::drivers::eal_init(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "l45-ring-bench: %s\n", eal.error().c_str());
        return 2;
    }
    CLI::App app{"l45-ring-bench: l45-bench against l45-offload over net_ring, per lcore"};
    std::string mode = "all";
    double seconds = 3;
    std::vector<unsigned> lcores = {2, 1};
    std::uint32_t bulk_conns = 1, hs_conns = 32;
    std::vector<std::uint32_t> rr_conns = {1, 8, 32};
    std::size_t request_len = 64;
    double idle_sleep_us = 0;
    std::string csv_path;
    bool verify = false;
    app.add_option("--mode", mode)
        ->check(CLI::IsMember({"all", "bulk", "download", "handshake", "rr"}))
        ->capture_default_str();
    app.add_option("--seconds", seconds)->check(CLI::Range(0.05, 600.0))->capture_default_str();
    app.add_option("--lcores", lcores, "one run per value: 2 (a lcore per host) or 1")
        ->check(CLI::Range(1, 2))
        ->capture_default_str();
    app.add_option("--bulk-connections", bulk_conns)->capture_default_str();
    app.add_option("--hs-connections", hs_conns)->capture_default_str();
    app.add_option("--rr-connections", rr_conns)->capture_default_str();
    app.add_option("--request", request_len, "rr request = response bytes")->capture_default_str();
    app.add_option("--idle-sleep-us", idle_sleep_us, "sleep after 64 empty polls (0: spin)")
        ->capture_default_str();
    app.add_option("--csv", csv_path);
    app.add_flag("--verify", verify,
                 "the client verifies the proxy's certificate chain (off: the proxy's cost, "
                 "not the client's, is the handshake figure)");
    const int first = eal->app_args_index;
    std::vector<std::string> rest = {"l45-ring-bench"};
    for (int i = first; i < argc; ++i)
        rest.emplace_back(argv[i]);
    std::vector<const char*> cargs;
    for (const auto& s : rest)
        cargs.push_back(s.c_str());
    try {
        app.parse(static_cast<int>(cargs.size()), const_cast<char**>(cargs.data()));
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    std::printf("l45-ring-bench\n  cpu model    : %s\n  loadavg start: %s\n",
                l45::bench::first_line_with("/proc/cpuinfo", "model name").c_str(),
                l45::bench::loadavg().c_str());
    std::fflush(stdout);
    Csv csv(csv_path);
    bool ok = true;
    if (!verify)
        std::printf("  client       : certificate verification OFF (--verify turns it on)\n");
    auto run = [&](Mode m, bool download, std::uint32_t conns, unsigned nl) {
        const char* w = download ? "download" : mode_name(m);
        RingPairOptions o;
        o.load.mode = m;
        o.load.download = download;
        o.insecure = !verify;
        o.load.sni = "ring.l45.test";
        o.load.concurrency = conns;
        o.load.duration =
            std::chrono::duration_cast<l45::Duration>(std::chrono::duration<double>(seconds));
        o.load.request_len = request_len;
        o.load.handshake_request = false;  // as l45-openssl-peer's default
        o.lcores = nl;
        o.idle_sleep_us = idle_sleep_us;
        // A line per second on stderr once the load runs (set-up is over):
        // scripts/bench starts `perf record -p` on the first one.
        o.progress_interval = std::chrono::seconds(1);
        o.on_progress = [](const l45::loadgen::LoadStats& s, l45::Duration elapsed) {
            std::fprintf(stderr, "  progress %.0f s: handshakes %llu requests %llu bytes %llu\n",
                         std::chrono::duration<double>(elapsed).count(),
                         static_cast<unsigned long long>(s.handshakes),
                         static_cast<unsigned long long>(s.requests),
                         static_cast<unsigned long long>(s.bytes_received));
        };
        std::fprintf(stderr, "  running %s x%u on %u lcore(s) ...\n", w, conns, nl);
        auto r = l45::bench::run_ring_pair(o);
        if (!r) {
            std::printf("%s: %s\n", w, r.error().c_str());
            ok = false;
            return;
        }
        ok = report(m, w, conns, *r, csv) && ok;
        std::fflush(stdout);
    };
    for (unsigned nl : lcores) {
        if (mode == "all" || mode == "bulk") run(Mode::bulk, false, bulk_conns, nl);
        if (mode == "all" || mode == "download") run(Mode::bulk, true, bulk_conns, nl);
        if (mode == "all" || mode == "handshake") run(Mode::handshake, false, hs_conns, nl);
        if (mode == "all" || mode == "rr")
            for (std::uint32_t n : rr_conns)
                run(Mode::rr, false, n, nl);
    }
    std::printf("  loadavg end  : %s\n", l45::bench::loadavg().c_str());
    l45::drivers::eal_cleanup();
    if (!csv.ok()) return 2;
    return ok ? 0 : 1;
}
