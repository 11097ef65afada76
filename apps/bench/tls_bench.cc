// l45-tls-bench: per-core throughput of l45's TLS 1.3 record layer and
// handshake, next to the libraries underneath (raw IPsec-MB, OpenSSL), on one
// pinned core. A benchmark program, not a test: it prints a table (and
// optionally CSV) and exits non-zero only when something does not work.
//
//   l45-tls-bench [--cpu 1] [--seconds 0.6] [--csv out.csv] [--only record|handshake]
//
// See docs/performance.md for how to read the figures.
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>
#include <sched.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "apps/bench/handshake_bench.h"
#include "apps/bench/machine.h"
#include "apps/bench/record_bench.h"
#include "apps/bench/timing.h"
#include "tls/record/aead.h"

namespace {

using l45::tls::CipherSuite;
using l45::tls::EngineArch;

const char* arch_name(EngineArch a) {
    switch (a) {
        case EngineArch::best:
            return "best";
        case EngineArch::no_aesni:
            return "no-aesni";
        case EngineArch::sse:
            return "sse";
        case EngineArch::avx:
            return "avx";
        case EngineArch::avx2:
            return "avx2";
        case EngineArch::avx512:
            return "avx512";
    }
    return "?";
}

const char* suite_short(CipherSuite s) {
    switch (s) {
        case CipherSuite::aes_128_gcm_sha256:
            return "AES_128_GCM";
        case CipherSuite::aes_256_gcm_sha384:
            return "AES_256_GCM";
        case CipherSuite::chacha20_poly1305_sha256:
            return "CHACHA20_POLY1305";
    }
    return "?";
}

using l45::bench::first_line_with;
using l45::bench::loadavg;

bool pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

// "b8" for l45-batch x8, else the impl name. (snprintf: GCC 12 -O3 reports a
// false -Wrestrict on `"b" + std::to_string(n)`.)
std::string column(const std::string& impl, std::size_t batch) {
    if (impl != "l45-batch") return impl;
    char buf[32];
    std::snprintf(buf, sizeof buf, "b%zu", batch);
    return buf;
}

void print_records(const std::vector<l45::bench::RecordResult>& results,
                   const std::vector<std::size_t>& batches) {
    // (suite, size, op) -> impl/batch -> GB/s
    using Key = std::tuple<int, std::size_t, std::string>;
    std::map<Key, std::map<std::string, double>> rows;
    std::vector<Key> order;
    for (const auto& r : results) {
        const Key k{static_cast<int>(r.suite), r.size, r.op};
        if (!rows.count(k)) order.push_back(k);
        rows[k][column(r.impl, r.batch)] = r.gbytes_per_s;
    }
    std::printf("\nRecord protection, GB/s of payload per core (1 GB = 1e9 bytes)\n");
    std::printf("%-18s %6s %-4s %8s %9s %8s %8s", "suite", "size", "op", "l45", "ipsec-mb",
                "l45/raw", "openssl");
    for (std::size_t b : batches) {
        char head[32];
        std::snprintf(head, sizeof head, "l45 x%zu", b);
        std::printf(" %8s", head);
    }
    std::printf(" %10s\n", "mb-direct");
    for (const Key& k : order) {
        auto& row = rows[k];
        auto get = [&](const std::string& c) { return row.count(c) ? row[c] : 0.0; };
        std::printf("%-18s %6zu %-4s %8.2f %9.2f %8.2f %8.2f",
                    suite_short(static_cast<CipherSuite>(std::get<0>(k))), std::get<1>(k),
                    std::get<2>(k).c_str(), get("l45"), get("ipsec-mb"),
                    get("ipsec-mb") > 0 ? get("l45") / get("ipsec-mb") : 0.0, get("openssl"));
        for (std::size_t b : batches)
            std::printf(" %8.2f", get(column("l45-batch", b)));
        if (row.count("ipsec-mb-direct"))
            std::printf(" %10.2f\n", get("ipsec-mb-direct"));
        else
            std::printf(" %10s\n", "-");
    }
    std::printf(
        "ipsec-mb: GCM direct API with precomputed keys; CHACHA20 one job per record (job API).\n"
        "mb-direct: CHACHA20 through the direct API (the call l45's single-record path makes).\n"
        "l45 xN: AeadBatch with N records from N connections per submit/flush.\n");
}

void print_handshake(const l45::bench::HandshakeResult& h) {
    const double server_bound = 1e6 / h.server_asym_us();
    const double both_bound = 1e6 / (h.server_asym_us() + h.client_asym_us());
    std::printf("\nHandshakes per core (X25519, ECDSA P-256, TLS_AES_128_GCM_SHA256, in memory)\n");
    std::printf("%-52s %12s\n", "", "per second");
    std::printf("%-52s %12.0f\n", "l45 full handshake (client + server on one core)", h.full_per_s);
    std::printf("%-52s %12.0f\n", "bound: asym ops of both sides (OpenSSL)", both_bound);
    std::printf("%-52s %12.0f\n", "l45 server side only (time in server Connection)",
                h.server_per_s);
    std::printf("%-52s %12.0f\n", "bound: server asym ops (keygen+derive+sign)", server_bound);
    std::printf("%-52s %12.0f\n", "l45 client side (rest of the time)", h.client_per_s);
    std::printf("%-52s %12.0f\n", "l45 full handshake, warm heap (no malloc trim)",
                h.full_per_s_warm_heap);
    std::printf("%-52s %12.0f\n", "l45 server side only, warm heap", h.server_per_s_warm_heap);
    std::printf("%-52s %12.0f\n", "bound: client asym ops (keygen+derive+verify+chain)",
                1e6 / h.client_asym_us());
    std::printf("\nAsymmetric operations (OpenSSL %s), microseconds each\n",
                OpenSSL_version(OPENSSL_VERSION_STRING));
    std::printf(
        "  X25519 keygen %.2f | X25519 derive %.2f | ECDSA P-256 sign %.2f | "
        "verify %.2f | X.509 chain verify %.2f\n",
        h.x25519_keygen_us, h.x25519_derive_us, h.ecdsa_sign_us, h.ecdsa_verify_us,
        h.chain_verify_us);
    std::printf(
        "  server asym %.2f us, client asym %.2f us; l45 server spends %.2f us, "
        "client %.2f us per handshake\n",
        h.server_asym_us(), h.client_asym_us(), 1e6 / h.server_per_s, 1e6 / h.client_per_s);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"l45-tls-bench: per-core TLS 1.3 record and handshake throughput"};
    int cpu = 1;
    double seconds = 0.6;
    std::string csv_path;
    std::string only;
    std::vector<std::size_t> batches = {8, 16};
    app.add_option("--cpu", cpu, "CPU to pin to (sched_setaffinity)")->capture_default_str();
    app.add_option("--seconds", seconds, "measured seconds per figure (warm-up is 1/4 of it)")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 60.0));
    app.add_option("--csv", csv_path, "also write every figure as CSV to this file");
    app.add_option("--only", only, "run one part only")
        ->check(CLI::IsMember({"record", "handshake"}));
    app.add_option("--batch", batches, "AeadBatch sizes")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    bool cpu_time = false;
    app.add_flag("--cpu-time", cpu_time,
                 "count thread CPU time instead of wall time (figures per CPU-second)");
    CLI11_PARSE(app, argc, argv);
    if (cpu_time) l45::bench::stopwatch_time_base() = l45::bench::TimeBase::thread_cpu;

    if (!pin_to(cpu)) {
        std::fprintf(stderr, "l45-tls-bench: cannot pin to CPU %d\n", cpu);
        return 2;
    }
    auto engine = l45::tls::CryptoEngine::create();
    if (!engine) {
        std::fprintf(stderr, "l45-tls-bench: no IPsec-MB engine\n");
        return 2;
    }
    const double warmup = seconds / 4;

    std::printf("l45-tls-bench\n");
    std::printf("  cpu model    : %s\n", first_line_with("/proc/cpuinfo", "model name").c_str());
    std::printf("  pinned to    : cpu %d (running on %d)\n", cpu, sched_getcpu());
    std::printf("  ipsec-mb     : %s, arch %s (init_mb_mgr_auto)\n", imb_get_version_str(),
                arch_name((*engine)->arch()));
    std::printf("  openssl      : %s\n", OpenSSL_version(OPENSSL_VERSION));
    std::printf("  seconds/fig  : %.2f (+%.2f warm-up), counting %s time\n", seconds, warmup,
                cpu_time ? "thread CPU" : "wall");
    std::printf("  loadavg start: %s\n", loadavg().c_str());
    std::fflush(stdout);

    std::vector<l45::bench::RecordResult> records;
    std::optional<l45::bench::HandshakeResult> hs;
    if (only.empty() || only == "record") {
        l45::bench::RecordOptions ro;
        ro.seconds = seconds;
        ro.warmup = warmup;
        ro.batch_sizes = batches;
        records = l45::bench::run_record_bench(**engine, ro);
    }
    if (only.empty() || only == "handshake") {
        l45::bench::HandshakeOptions ho;
        ho.seconds = seconds;
        ho.warmup = warmup;
        hs = l45::bench::run_handshake_bench(**engine, ho);
    }
    std::printf("  loadavg end  : %s\n", loadavg().c_str());
    if (!records.empty()) print_records(records, batches);
    if (hs) print_handshake(*hs);

    if (!csv_path.empty()) {
        std::ofstream csv(csv_path);
        csv << "section,suite,size,op,impl,batch,value,unit\n";
        for (const auto& r : records)
            csv << "record," << suite_short(r.suite) << ',' << r.size << ',' << r.op << ','
                << r.impl << ',' << r.batch << ',' << r.gbytes_per_s << ",GB/s\n";
        if (hs) {
            auto row = [&](const char* what, double v, const char* unit) {
                csv << "handshake,AES_128_GCM,,," << what << ",1," << v << ',' << unit << '\n';
            };
            row("l45-full", hs->full_per_s, "handshakes/s");
            row("l45-server-only", hs->server_per_s, "handshakes/s");
            row("l45-client-side", hs->client_per_s, "handshakes/s");
            row("l45-full-warm-heap", hs->full_per_s_warm_heap, "handshakes/s");
            row("l45-server-only-warm-heap", hs->server_per_s_warm_heap, "handshakes/s");
            row("bound-both-asym", 1e6 / (hs->server_asym_us() + hs->client_asym_us()),
                "handshakes/s");
            row("bound-server-asym", 1e6 / hs->server_asym_us(), "handshakes/s");
            row("bound-client-asym", 1e6 / hs->client_asym_us(), "handshakes/s");
            row("x25519-keygen", hs->x25519_keygen_us, "us");
            row("x25519-derive", hs->x25519_derive_us, "us");
            row("ecdsa-p256-sign", hs->ecdsa_sign_us, "us");
            row("ecdsa-p256-verify", hs->ecdsa_verify_us, "us");
            row("x509-chain-verify", hs->chain_verify_us, "us");
        }
        if (!csv) {
            std::fprintf(stderr, "l45-tls-bench: writing %s failed\n", csv_path.c_str());
            return 2;
        }
    }
    return 0;
}
