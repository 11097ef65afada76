#include "apps/l45-bench/report.h"

#include <cinttypes>
#include <cstdio>
#include <utility>
#include <vector>

namespace l45::loadgen {

namespace {

double per_s(std::uint64_t n, double seconds) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

double gbit_s(std::uint64_t bytes, double seconds) {
    return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds / 1e9 : 0.0;
}

double us(std::uint64_t ns) {
    return static_cast<double>(ns) / 1000.0;
}

std::string format(const char* fmt, auto... args) {
    char buf[512];
    const int n = std::snprintf(buf, sizeof buf, fmt, args...);
    return std::string(
        buf, n < 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

// Every figure of a run, in CSV column order.
std::vector<std::pair<const char*, std::string>> figures(const RunSummary& run) {
    const LoadStats& s = *run.stats;
    const LoadOptions& o = *run.options;
    const auto u = [](std::uint64_t v) { return std::to_string(v); };
    const auto f = [](double v) { return format("%.3f", v); };
    return {
        {"mode", to_string(o.mode)},
        {"payload", to_string(o.payload)},
        {"server", run.server},
        {"verified", o.insecure ? "no" : "yes"},
        {"concurrency", u(o.concurrency)},
        {"request_len", u(o.request_len)},
        {"seconds", f(run.seconds)},
        {"connects", u(s.connects)},
        {"handshakes", u(s.handshakes)},
        {"handshakes_per_s", f(per_s(s.handshakes, run.seconds))},
        {"requests", u(s.requests)},
        {"requests_per_s", f(per_s(s.requests, run.seconds))},
        {"bytes_sent", u(s.bytes_sent)},
        {"bytes_received", u(s.bytes_received)},
        {"gbit_out", f(gbit_s(s.bytes_sent, run.seconds))},
        {"gbit_in", f(gbit_s(s.bytes_received, run.seconds))},
        {"errors", u(s.errors)},
        {"tls_errors", u(s.tls_errors)},
        {"tcp_errors", u(s.tcp_errors)},
        {"integrity_errors", u(s.integrity_errors)},
        {"timeouts", u(s.timeouts)},
        {"http_errors", u(s.http_errors)},
        {"latency_samples", u(s.latency.count())},
        {"p50_us", f(us(s.latency.percentile(0.50)))},
        {"p90_us", f(us(s.latency.percentile(0.90)))},
        {"p99_us", f(us(s.latency.percentile(0.99)))},
        {"p999_us", f(us(s.latency.percentile(0.999)))},
        {"max_us", f(us(s.latency.max()))},
        {"mean_us", f(s.latency.mean() / 1000.0)},
        {"handshake_p50_us", f(us(s.handshake_latency.percentile(0.50)))},
        {"handshake_p99_us", f(us(s.handshake_latency.percentile(0.99)))},
    };
}

std::string latency_row(const char* name, const Histogram& h) {
    if (h.count() == 0) return format("  %-18s (no samples)\n", name);
    return format(
        "  %-18s p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f us (%" PRIu64
        " samples)\n",
        name, us(h.percentile(0.5)), us(h.percentile(0.9)), us(h.percentile(0.99)),
        us(h.percentile(0.999)), us(h.max()), h.mean() / 1000.0, h.count());
}

}  // namespace

std::string progress_line(const LoadStats& from, const LoadStats& to, double seconds,
                          double elapsed_s, std::uint32_t open_connections) {
    return format(
        "l45-bench: %6.1f s  %9.0f hs/s  %9.0f req/s  in %7.3f Gbit/s  out %7.3f Gbit/s  "
        "errors %" PRIu64 "  open %u",
        elapsed_s, per_s(to.handshakes - from.handshakes, seconds),
        per_s(to.requests - from.requests, seconds),
        gbit_s(to.bytes_received - from.bytes_received, seconds),
        gbit_s(to.bytes_sent - from.bytes_sent, seconds), to.errors, open_connections);
}

std::string results_text(const RunSummary& run) {
    const LoadStats& s = *run.stats;
    const LoadOptions& o = *run.options;
    std::string out =
        format("l45-bench: %s (%s) against %s, SNI %s, %s, concurrency %u, %.3f s\n",
               to_string(o.mode), to_string(o.payload), run.server.c_str(), o.sni.c_str(),
               o.insecure ? "certificate NOT verified (--insecure)" : "certificate verified",
               o.concurrency, run.seconds);
    out += format("  %-18s %" PRIu64 " (%" PRIu64 " closed cleanly)\n", "connections", s.connects,
                  s.closed);
    out += format("  %-18s %" PRIu64 " (%.1f/s)\n", "handshakes", s.handshakes,
                  per_s(s.handshakes, run.seconds));
    out += format("  %-18s %" PRIu64 " (%.1f/s)\n", "requests", s.requests,
                  per_s(s.requests, run.seconds));
    out +=
        format("  %-18s sent %" PRIu64 " received %" PRIu64 " (out %.3f Gbit/s, in %.3f Gbit/s)\n",
               "bytes", s.bytes_sent, s.bytes_received, gbit_s(s.bytes_sent, run.seconds),
               gbit_s(s.bytes_received, run.seconds));
    out += format("  %-18s %" PRIu64 " (tls %" PRIu64 ", tcp %" PRIu64 ", integrity %" PRIu64
                  " bytes, timeouts %" PRIu64 ", http status >= 400 %" PRIu64 ")\n",
                  "errors", s.errors, s.tls_errors, s.tcp_errors, s.integrity_errors, s.timeouts,
                  s.http_errors);
    out += latency_row(o.mode == Mode::rr ? "latency (rr)" : "latency", s.latency);
    out += latency_row("handshake latency", s.handshake_latency);
    return out;
}

std::string results_line(const RunSummary& run) {
    std::string out = "l45-bench: result";
    for (const auto& [name, value] : figures(run))
        out += " " + std::string(name) + "=" + value;
    return out;
}

std::string csv_header() {
    LoadOptions o;
    LoadStats s;
    const RunSummary run{&o, "", 0, &s};
    std::string out;
    for (const auto& [name, value] : figures(run))
        out += (out.empty() ? "" : ",") + std::string(name);
    return out;
}

std::string csv_row(const RunSummary& run) {
    std::string out;
    bool first = true;
    for (const auto& [name, value] : figures(run)) {
        out += (first ? "" : ",") + value;
        first = false;
    }
    return out;
}

}  // namespace l45::loadgen
