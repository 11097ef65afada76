// l45-tcp-bench: l45's TCP between two lcores over the direct net_ring wire,
// next to the same workload on the Linux kernel's loopback measured in the
// same run, on the same two CPUs. A benchmark program, not a test: it prints
// a table (and optionally CSV) and exits non-zero only when something does
// not work (a run failed, a figure is zero, bytes or connections do not add
// up, or --check found a byte that differs from what was sent).
//
//   l45-tcp-bench [EAL args] -- [--mode bulk|crr|all] [--seconds S] [--warmup S]
//                                [--write-size N] [--conns N] [--concurrency N]
//                                [--request N] [--response N] [--check] [--csv FILE]
//
// EAL: `-l 0,1` puts side A (sender / client) on lcore 0 and side B (receiver
// / server) on lcore 1; no hugepages needed (drivers/eal.h adds --no-huge).
// See docs/performance.md ("TCP") for how to read the figures.
#include <rte_lcore.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "apps/bench/machine.h"
#include "apps/bench/tcp_bench.h"
#include "drivers/eal.h"

namespace l45::bench {

StreamPattern::StreamPattern(std::uint32_t max_len)
    : max_len_(max_len), bytes_(kPeriod + std::size_t{max_len}) {
    // splitmix64: no short repeats, cheap to generate once.
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (std::size_t i = 0; i < bytes_.size(); ++i) {
        if (i < kPeriod) {
            x += 0x9e3779b97f4a7c15ull;
            std::uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            bytes_[i] = static_cast<std::uint8_t>(z ^ (z >> 31));
        } else {
            bytes_[i] = bytes_[i - kPeriod];  // the tail repeats the head: any window is linear
        }
    }
}

ByteSpan StreamPattern::at(std::uint64_t offset, std::uint32_t len) const {
    const auto start = static_cast<std::size_t>(offset % kPeriod);
    return ByteSpan(bytes_.data() + start, std::min<std::size_t>(len, max_len_));
}

bool StreamPattern::matches(std::uint64_t offset, ByteSpan data) const {
    while (!data.empty()) {
        const std::size_t n = std::min<std::size_t>(data.size(), max_len_);
        const ByteSpan want = at(offset, static_cast<std::uint32_t>(n));
        if (std::memcmp(want.data(), data.data(), n) != 0) return false;
        offset += n;
        data = data.subspan(n);
    }
    return true;
}

}  // namespace l45::bench

namespace {

using l45::bench::TcpBenchOptions;
using l45::bench::TcpFigure;
using l45::bench::TcpMode;

using l45::bench::first_line_with;
using l45::bench::loadavg;

struct Row {
    TcpMode mode;
    std::string workload;
    TcpFigure l45;
    TcpFigure kernel;
    bool have_kernel = false;
    bool have_l45 = false;
};

// Bulk: Gbit/s of goodput; crr: connections per second.
double value(TcpMode mode, const TcpFigure& f) {
    return mode == TcpMode::bulk ? f.per_second() * 8 / 1e9 : f.per_second();
}
const char* unit(TcpMode mode) {
    return mode == TcpMode::bulk ? "Gbit/s" : "conn/s";
}

// The checks that make a figure believable; each failure is printed.
bool check(const char* who, TcpMode mode, const TcpFigure& f) {
    bool ok = true;
    auto fail = [&](const std::string& what) {
        std::fprintf(stderr, "l45-tcp-bench: %s %s: %s\n", who,
                     mode == TcpMode::bulk ? "bulk" : "crr", what.c_str());
        ok = false;
    };
    if (!f.ok) fail(f.error);
    if (f.units == 0 || f.window_s <= 0) fail("nothing measured");
    if (f.sent != f.received)
        fail("sent " + std::to_string(f.sent) + " bytes but received " +
             std::to_string(f.received));
    if (f.failed != 0) fail(std::to_string(f.failed) + " connections ended abnormally");
    if (f.check_failures != 0)
        fail(std::to_string(f.check_failures) + " received chunks differ from the pattern");
    if (mode == TcpMode::crr && f.completed != f.served)
        fail("client completed " + std::to_string(f.completed) + " connections, server served " +
             std::to_string(f.served));
    return ok;
}

void print_notes(const char* who, const TcpFigure& f) {
    for (const std::string& n : f.notes)
        std::printf("  %-7s %s\n", who, n.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    auto eal = l45::drivers::eal_init(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "l45-tcp-bench: %s\n", eal.error().c_str());
        return 2;
    }
    CLI::App app{"l45-tcp-bench: l45 TCP between two lcores next to Linux loopback"};
    std::string mode_text = "all";
    std::string csv_path;
    bool no_kernel = false;
    bool no_l45 = false;
    TcpBenchOptions opt;
    app.add_option("--mode", mode_text, "workload")
        ->capture_default_str()
        ->check(CLI::IsMember({"bulk", "crr", "all"}));
    app.add_option("--seconds", opt.seconds, "measured seconds per figure")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 600.0));
    app.add_option("--warmup", opt.warmup, "unmeasured seconds before each window")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 60.0));
    app.add_option("--write-size", opt.write_len, "bulk: bytes per send()/write()")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1u << 24));
    app.add_option("--conns", opt.conns, "bulk: parallel connections")
        ->capture_default_str()
        ->check(CLI::Range(1u, 64u));
    app.add_option("--concurrency", opt.concurrency, "crr: connections in flight")
        ->capture_default_str()
        ->check(CLI::Range(1u, 512u));
    app.add_option("--request", opt.request_len, "crr: request bytes")
        ->capture_default_str()
        ->check(CLI::Range(1u, 16384u));
    app.add_option("--response", opt.response_len, "crr: response bytes")
        ->capture_default_str()
        ->check(CLI::Range(1u, 16384u));
    app.add_option("--idle-sleep-us", opt.idle_sleep_us,
                   "l45: sleep this long after 64 empty polls (0: always spin)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1000.0));
    app.add_flag("--check", opt.check, "receivers compare every byte with the sent pattern");
    app.add_option("--kernel-port", opt.kernel_port, "loopback baseline port (127.0.0.1)")
        ->capture_default_str()
        ->check(CLI::Range(1024, 32767));
    app.add_option("--kernel-mss", opt.kernel_mss,
                   "linux: TCP_MAXSEG on both ends (0: loopback's own, from its 64 KiB MTU)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65495));
    app.add_flag("--no-kernel", no_kernel, "skip the Linux loopback baseline");
    app.add_flag("--no-l45", no_l45, "skip l45 (profile the baseline alone)");
    app.add_option("--csv", csv_path, "also write every figure as CSV to this file");
    std::vector<char*> app_argv = {argv[0]};
    for (int i = eal->app_args_index; i < argc; ++i)
        app_argv.push_back(argv[i]);
    try {
        app.parse(static_cast<int>(app_argv.size()), app_argv.data());
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    const unsigned lcore_a = rte_lcore_id();
    const unsigned lcore_b = rte_get_next_lcore(lcore_a, 1, 0);
    const bool two = lcore_b < RTE_MAX_LCORE;
    opt.cpu_a = static_cast<unsigned>(rte_lcore_to_cpu_id(static_cast<int>(lcore_a)));
    opt.cpu_b =
        two ? static_cast<unsigned>(rte_lcore_to_cpu_id(static_cast<int>(lcore_b))) : opt.cpu_a;

    std::printf("l45-tcp-bench\n");
    std::printf("  cpu model    : %s\n", first_line_with("/proc/cpuinfo", "model name").c_str());
    if (two)
        std::printf(
            "  l45          : A on lcore %u (cpu %u), B on lcore %u (cpu %u), direct net_ring\n",
            lcore_a, opt.cpu_a, lcore_b, opt.cpu_b);
    else
        std::printf("  l45          : one lcore (cpu %u): A and B take turns (give -l 0,1)\n",
                    opt.cpu_a);
    std::printf(
        "  linux        : two threads pinned to cpu %u and cpu %u, 127.0.0.1:%u, epoll, mss %s\n",
        opt.cpu_a, opt.cpu_b, opt.kernel_port,
        opt.kernel_mss ? std::to_string(opt.kernel_mss).c_str() : "default");
    std::printf("  seconds/fig  : %.2f (+%.2f warm-up)%s\n", opt.seconds, opt.warmup,
                opt.check ? ", every byte checked" : "");
    std::printf("  loadavg start: %s\n", loadavg().c_str());
    std::fflush(stdout);

    std::vector<Row> rows;
    auto run = [&](TcpMode mode, std::string workload) {
        Row r{mode, std::move(workload), {}, {}, false, false};
        if (!no_l45) {
            r.l45 = l45::bench::run_l45(mode, opt);
            r.have_l45 = true;
        }
        if (!no_kernel) {
            r.kernel = l45::bench::run_kernel(mode, opt);
            r.have_kernel = true;
        }
        rows.push_back(std::move(r));
    };
    char name[96];
    if (mode_text == "bulk" || mode_text == "all") {
        std::snprintf(name, sizeof name, "bulk, %u conn, %u B writes", opt.conns, opt.write_len);
        run(TcpMode::bulk, name);
    }
    if (mode_text == "crr" || mode_text == "all") {
        std::snprintf(name, sizeof name, "crr, %u in flight, %u B/%u B", opt.concurrency,
                      opt.request_len, opt.response_len);
        run(TcpMode::crr, name);
    }
    std::printf("  loadavg end  : %s\n", loadavg().c_str());

    std::printf(
        "\nTCP, A: sender/client, B: receiver/server (bulk: goodput; crr: "
        "connect/request/response/close)\n"
        "per wall second, and per CPU-second used by A and B together (the cost, "
        "whatever share of the CPUs the two got)\n");
    std::printf("%-34s %13s %13s %7s | %13s %13s %7s\n", "workload", "l45", "linux lo", "ratio",
                "l45 /cpu-s", "linux /cpu-s", "ratio");
    bool ok = true;
    auto fmt = [](char* out, std::size_t len, TcpMode mode, double v) {
        if (v <= 0)
            std::snprintf(out, len, "-");
        else
            std::snprintf(out, len, mode == TcpMode::bulk ? "%.2f %s" : "%.0f %s", v, unit(mode));
    };
    auto ratio = [](char* out, std::size_t len, double a, double b) {
        if (a > 0 && b > 0)
            std::snprintf(out, len, "%.2f", a / b);
        else
            std::snprintf(out, len, "-");
    };
    for (const Row& r : rows) {
        const double scale = r.mode == TcpMode::bulk ? 8 / 1e9 : 1;
        const double l = r.have_l45 ? value(r.mode, r.l45) : 0;
        const double k = r.have_kernel ? value(r.mode, r.kernel) : 0;
        const double lc = r.have_l45 ? r.l45.per_cpu_second() * scale : 0;
        const double kc = r.have_kernel ? r.kernel.per_cpu_second() * scale : 0;
        char lt[32], kt[32], rt[16], lct[32], kct[32], rct[16];
        fmt(lt, sizeof lt, r.mode, l);
        fmt(kt, sizeof kt, r.mode, k);
        ratio(rt, sizeof rt, l, k);
        fmt(lct, sizeof lct, r.mode, lc);
        fmt(kct, sizeof kct, r.mode, kc);
        ratio(rct, sizeof rct, lc, kc);
        std::printf("%-34s %13s %13s %7s | %13s %13s %7s\n", r.workload.c_str(), lt, kt, rt, lct,
                    kct, rct);
        auto busy = [](const TcpFigure& f) {
            char b[96];
            std::snprintf(b, sizeof b, "A %.1f%% B %.1f%% of the window",
                          f.window_s > 0 ? 100 * f.cpu_a_s / f.window_s : 0.0,
                          f.window_s > 0 ? 100 * f.cpu_b_s / f.window_s : 0.0);
            return std::string(b);
        };
        std::printf("  cpu     l45 %s; linux %s\n", r.have_l45 ? busy(r.l45).c_str() : "-",
                    r.have_kernel ? busy(r.kernel).c_str() : "-");
        if (r.have_l45) print_notes("l45", r.l45);
        if (r.have_kernel) print_notes("linux", r.kernel);
        if (r.have_l45) ok = check("l45", r.mode, r.l45) && ok;
        if (r.have_kernel) ok = check("linux", r.mode, r.kernel) && ok;
    }
    for (const Row& r : rows) {
        if (!r.have_l45) continue;
        const bool bulk = r.mode == TcpMode::bulk;
        std::printf("  totals %-5s l45: sent %llu received %llu%s", bulk ? "bulk" : "crr",
                    static_cast<unsigned long long>(r.l45.sent),
                    static_cast<unsigned long long>(r.l45.received), bulk ? "" : " (requests)");
        if (!bulk)
            std::printf(", completed %llu served %llu",
                        static_cast<unsigned long long>(r.l45.completed),
                        static_cast<unsigned long long>(r.l45.served));
        std::printf("\n");
    }

    if (!csv_path.empty()) {
        std::ofstream csv(csv_path);
        csv << "workload,impl,value,unit,per_cpu_second,units,window_s,cpu_a_s,cpu_b_s,sent,"
               "received,completed,served\n";
        for (const Row& r : rows) {
            auto row = [&](const char* impl, const TcpFigure& f) {
                const double scale = r.mode == TcpMode::bulk ? 8 / 1e9 : 1;
                csv << '"' << r.workload << "\"," << impl << ',' << value(r.mode, f) << ','
                    << unit(r.mode) << ',' << f.per_cpu_second() * scale << ',' << f.units << ','
                    << f.window_s << ',' << f.cpu_a_s << ',' << f.cpu_b_s << ',' << f.sent << ','
                    << f.received << ',' << f.completed << ',' << f.served << '\n';
            };
            if (r.have_l45) row("l45", r.l45);
            if (r.have_kernel) row("linux-loopback", r.kernel);
        }
        if (!csv) {
            std::fprintf(stderr, "l45-tcp-bench: writing %s failed\n", csv_path.c_str());
            ok = false;
        }
    }
    l45::drivers::eal_cleanup();
    return ok ? 0 : 1;
}
