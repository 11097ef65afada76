// l45-openssl-peer: the Linux kernel TCP + OpenSSL libssl baseline of
// issue 5's benchmarks (openssl_peer.h), and next to it, in the same run and
// on the server's CPU, the bounds l45 is measured against: raw IPsec-MB
// AES-128-GCM at the same record size and the server's asymmetric operations
// of one handshake (apps/bench/record_bench, handshake_bench).
//
//   l45-openssl-peer [--mode all|bulk|handshake|rr] [--server-cpu 1] [--client-cpu 0]
//                    [--seconds 3] [--rr-connections 1 8 32] [--csv out.csv]
//
// A benchmark program, not a test: it exits non-zero only when something does
// not work (an error on a connection, a figure of zero). docs/performance.md
// says how to read it; scripts/bench runs it.
#include <openssl/crypto.h>
#include <sched.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "apps/bench/handshake_bench.h"
#include "apps/bench/machine.h"
#include "apps/bench/openssl_peer.h"
#include "apps/bench/record_bench.h"
#include "apps/bench/timing.h"
#include "tls/pki/certificate.h"
#include "tls/record/aead.h"

namespace {

using l45::bench::peer::PeerOptions;
using l45::bench::peer::PeerResult;
using l45::bench::peer::Workload;

constexpr const char* kServerName = "server.l45.test";

class Csv {
  public:
    explicit Csv(const std::string& path) {
        if (path.empty()) return;
        out_.open(path);
        out_ << "section,workload,connections,metric,value,unit\n";
    }
    void row(const char* section, const char* workload, std::uint32_t conns, const char* metric,
             double value, const char* unit) {
        if (out_.is_open())
            out_ << section << ',' << workload << ',' << conns << ',' << metric << ',' << value
                 << ',' << unit << '\n';
    }
    [[nodiscard]] bool ok() const { return !out_.is_open() || out_.good(); }

  private:
    std::ofstream out_;
};

bool pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

// Prints one workload's figures and writes them as CSV; false when the run
// is void (errors, or nothing done).
bool report(const PeerOptions& o, const PeerResult& r, Csv& csv) {
    const char* w = l45::bench::peer::workload_name(o.workload);
    const double share = r.window_s > 0 ? r.server_cpu_s / r.window_s : 0;
    std::printf("\n%s, %u connection(s), window %.2f s: %s\n", w, o.connections, r.window_s,
                r.negotiated.c_str());
    std::printf(
        "  server thread: %.3f CPU-s (%.0f %% of its CPU; user %.2f s, sys %.2f s), client "
        "%.3f CPU-s\n",
        r.server_cpu_s, 100 * share, r.server_user_s, r.server_sys_s, r.client_cpu_s);
    csv.row("peer", w, o.connections, "server_cpu_share", share, "fraction");
    csv.row("peer", w, o.connections, "server_user_s", r.server_user_s, "s");
    csv.row("peer", w, o.connections, "server_sys_s", r.server_sys_s, "s");
    csv.row("peer", w, o.connections, "errors", static_cast<double>(r.errors), "count");
    double figure = 0;
    switch (o.workload) {
        case Workload::bulk: {
            const double gbit = static_cast<double>(r.bytes) * 8 / 1e9;
            figure = gbit;
            std::printf("  goodput %.3f Gbit/s wall, %.3f Gbit per server CPU-second\n",
                        gbit / r.window_s, gbit / r.server_cpu_s);
            csv.row("peer", w, o.connections, "goodput", gbit / r.window_s, "Gbit/s");
            csv.row("peer", w, o.connections, "goodput_per_server_cpu", gbit / r.server_cpu_s,
                    "Gbit/CPU-s");
            break;
        }
        case Workload::handshake: {
            const double n = static_cast<double>(r.handshakes);
            figure = n;
            std::printf("  %.0f handshakes/s wall, %.0f per server CPU-second\n", n / r.window_s,
                        n / r.server_cpu_s);
            csv.row("peer", w, o.connections, "handshakes", n / r.window_s, "handshakes/s");
            csv.row("peer", w, o.connections, "handshakes_per_server_cpu", n / r.server_cpu_s,
                    "handshakes/CPU-s");
            break;
        }
        case Workload::rr: {
            const double n = static_cast<double>(r.requests);
            figure = n;
            std::printf(
                "  %.0f requests/s wall, %.0f per server CPU-second; latency p50 %.1f us, p90 "
                "%.1f, p99 %.1f, max %.1f\n",
                n / r.window_s, n / r.server_cpu_s, r.p50_us, r.p90_us, r.p99_us, r.max_us);
            csv.row("peer", w, o.connections, "requests", n / r.window_s, "requests/s");
            csv.row("peer", w, o.connections, "requests_per_server_cpu", n / r.server_cpu_s,
                    "requests/CPU-s");
            csv.row("peer", w, o.connections, "p50", r.p50_us, "us");
            csv.row("peer", w, o.connections, "p90", r.p90_us, "us");
            csv.row("peer", w, o.connections, "p99", r.p99_us, "us");
            csv.row("peer", w, o.connections, "max", r.max_us, "us");
            break;
        }
    }
    if (r.errors != 0) std::printf("  ERRORS: %llu\n", static_cast<unsigned long long>(r.errors));
    return r.errors == 0 && figure > 0 && r.server_cpu_s > 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"l45-openssl-peer: Linux TCP + OpenSSL libssl over loopback, the baseline"};
    std::string mode = "all";
    PeerOptions base;
    std::uint32_t bulk_conns = 1, hs_conns = 32;
    std::vector<std::uint32_t> rr_conns = {1, 8, 32};
    std::size_t hs_request = 0;
    bool baselines = true;
    double baseline_seconds = 0.6;
    std::string csv_path;
    app.add_option("--mode", mode)
        ->check(CLI::IsMember({"all", "bulk", "handshake", "rr", "baselines"}))
        ->capture_default_str();
    app.add_option("--server-cpu", base.server_cpu)->capture_default_str();
    app.add_option("--client-cpu", base.client_cpu)->capture_default_str();
    app.add_option("--seconds", base.seconds, "measured window per workload")
        ->check(CLI::Range(0.05, 600.0))
        ->capture_default_str();
    app.add_option("--warmup", base.warmup)->check(CLI::Range(0.0, 60.0))->capture_default_str();
    app.add_option("--bulk-connections", bulk_conns)
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_option("--hs-connections", hs_conns, "handshakes in flight")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_option("--hs-request", hs_request, "handshake mode: echo this many bytes first")
        ->capture_default_str();
    app.add_option("--rr-connections", rr_conns, "rr: one run per value")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_option("--record", base.record_len, "bulk: bytes per SSL_write (one record)")
        ->check(CLI::Range(1, 16384))
        ->capture_default_str();
    app.add_option("--request", base.request_len, "rr: request and response bytes")
        ->check(CLI::Range(1, 16384))
        ->capture_default_str();
    app.add_flag("--verify", base.verify, "the client verifies the chain and host name");
    app.add_flag("!--no-baselines", baselines, "skip raw IPsec-MB and the asymmetric bound");
    app.add_option("--baseline-seconds", baseline_seconds)->capture_default_str();
    app.add_option("--csv", csv_path, "also write every figure as CSV");
    CLI11_PARSE(app, argc, argv);

    l45::tls::pki::SelfSignedOptions po;
    po.names = {kServerName};
    auto pki = l45::tls::pki::generate_self_signed(po);
    if (!pki) {
        std::fprintf(stderr, "l45-openssl-peer: generate_self_signed failed\n");
        return 2;
    }
    const l45::bench::peer::PeerCredentials creds{pki->chain_pem, pki->key_pem, pki->ca_cert_pem,
                                                  kServerName};

    std::printf("l45-openssl-peer\n");
    std::printf("  cpu model    : %s\n",
                l45::bench::first_line_with("/proc/cpuinfo", "model name").c_str());
    std::printf("  server cpu %d, client cpu %d; window %.2f s after %.2f s warm-up\n",
                base.server_cpu, base.client_cpu, base.seconds, base.warmup);
    std::printf("  openssl      : %s (libssl, kTLS off, client verify %s)\n",
                OpenSSL_version(OPENSSL_VERSION), base.verify ? "on" : "off");
    std::printf("  loadavg start: %s\n", l45::bench::loadavg().c_str());
    std::fflush(stdout);

    Csv csv(csv_path);
    bool ok = true;
    auto run = [&](Workload w, std::uint32_t conns, std::size_t request_len) {
        PeerOptions o = base;
        o.workload = w;
        o.connections = conns;
        o.request_len = request_len;
        std::fprintf(stderr, "  running %s x%u ...\n", l45::bench::peer::workload_name(w), conns);
        const PeerResult r = l45::bench::peer::run_peer(creds, o);
        ok = report(o, r, csv) && ok;
        std::fflush(stdout);
    };
    if (mode == "all" || mode == "bulk") run(Workload::bulk, bulk_conns, base.request_len);
    if (mode == "all" || mode == "handshake") run(Workload::handshake, hs_conns, hs_request);
    if (mode == "all" || mode == "rr")
        for (std::uint32_t n : rr_conns)
            run(Workload::rr, n, base.request_len);

    if (baselines && (mode == "all" || mode == "baselines")) {
        // On the server's CPU, after the peer's threads are gone.
        if (!pin_to(base.server_cpu)) {
            std::fprintf(stderr, "l45-openssl-peer: cannot pin to CPU %d\n", base.server_cpu);
            return 2;
        }
        auto engine = l45::tls::CryptoEngine::create();
        if (!engine) {
            std::fprintf(stderr, "l45-openssl-peer: no IPsec-MB engine\n");
            return 2;
        }
        // Per CPU-second like the peer's figures (time preempted by other
        // load counts in neither).
        l45::bench::stopwatch_time_base() = l45::bench::TimeBase::thread_cpu;
        l45::bench::RecordOptions ro;
        ro.seconds = baseline_seconds;
        ro.warmup = baseline_seconds / 4;
        ro.sizes = {base.record_len};
        ro.suites = {l45::tls::CipherSuite::aes_128_gcm_sha256};
        ro.impls = {"ipsec-mb", "l45"};
        ro.ops = {"seal"};
        const auto rec = l45::bench::run_record_bench(**engine, ro);
        std::printf("\nbaselines on cpu %d, per CPU-second (thread CPU time)\n", base.server_cpu);
        for (const auto& r : rec) {
            const std::string metric = r.impl == "l45" ? "l45_record_seal" : "ipsec_mb_gcm_seal";
            std::printf("  AES-128-GCM %zu B %s, %-9s %7.2f GB/s = %6.2f Gbit/s\n", r.size,
                        r.op.c_str(), r.impl.c_str(), r.gbytes_per_s, r.gbytes_per_s * 8);
            csv.row("baseline", "bulk", 0, metric.c_str(), r.gbytes_per_s * 8, "Gbit/s");
            ok = ok && r.gbytes_per_s > 0;
        }
        l45::bench::HandshakeOptions ho;
        ho.seconds = baseline_seconds;
        ho.warmup = baseline_seconds / 4;
        ho.server_asym_only = true;
        const auto hs = l45::bench::run_handshake_bench(**engine, ho);
        const double bound = 1e6 / hs.server_asym_us();
        std::printf(
            "  server asymmetric ops: X25519 keygen %.1f us + derive %.1f us + ECDSA P-256 "
            "sign %.1f us = %.1f us: bound %.0f handshakes/s\n",
            hs.x25519_keygen_us, hs.x25519_derive_us, hs.ecdsa_sign_us, hs.server_asym_us(), bound);
        csv.row("baseline", "handshake", 0, "x25519_keygen", hs.x25519_keygen_us, "us");
        csv.row("baseline", "handshake", 0, "x25519_derive", hs.x25519_derive_us, "us");
        csv.row("baseline", "handshake", 0, "ecdsa_p256_sign", hs.ecdsa_sign_us, "us");
        csv.row("baseline", "handshake", 0, "server_asym_bound", bound, "handshakes/s");
    }
    std::printf("  loadavg end  : %s\n", l45::bench::loadavg().c_str());
    if (!csv.ok()) {
        std::fprintf(stderr, "l45-openssl-peer: writing %s failed\n", csv_path.c_str());
        return 2;
    }
    return ok ? 0 : 1;
}
