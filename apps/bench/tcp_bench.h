// l45-tcp-bench: what the two halves (l45 over net_ring, Linux over loopback)
// share: the options, the figure each run produces, and the byte pattern both
// senders stream so that a receiver can check what it got.
//
// Two workloads, each run on two cores (one per side):
//   bulk  A streams to B over `conns` long connections, B discards; the
//         figure is B's goodput (payload bytes per second).
//   crr   connect / request / response / close: A keeps `concurrency`
//         connections in flight; each sends `request_len` bytes, B answers
//         `response_len` bytes, A closes first (so A holds TIME-WAIT), B
//         closes on A's FIN; the figure is A's completed connections per second.
#pragma once

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "stack/base/bytes.h"

namespace l45::bench {

enum class TcpMode : std::uint8_t { bulk, crr };

struct TcpBenchOptions {
    double seconds = 2.0;  // measured window
    double warmup = 0.5;   // unmeasured, after every connection is up (bulk) or started (crr)
    std::uint32_t write_len = 64 * 1024;  // bulk: bytes offered per send()/write()
    std::uint32_t conns = 1;              // bulk: parallel connections
    std::uint32_t concurrency = 32;       // crr: connections in flight
    std::uint32_t request_len = 64;
    std::uint32_t response_len = 64;
    bool check = false;
    // l45: after 64 empty polls in a row, sleep this long (0: spin, as a
    // DPDK lcore normally does). For time-shared CPUs: see docs/performance.md.
    double idle_sleep_us = 0;           // receivers compare every byte with the pattern
    unsigned cpu_a = 0;                 // sender / client
    unsigned cpu_b = 1;                 // receiver / server
    std::uint16_t kernel_port = 15001;  // loopback baseline listens here (< 32768)
    int kernel_mss = 0;                 // TCP_MAXSEG for the baseline (0: leave it)
};

struct TcpFigure {
    bool ok = false;
    std::string error;                 // why !ok
    double window_s = 0;               // measured seconds
    std::uint64_t units = 0;           // bytes (bulk) or connections (crr) in the window
    std::uint64_t sent = 0;            // payload bytes A sent over the whole run
    std::uint64_t received = 0;        // payload bytes B received over the whole run
    std::uint64_t completed = 0;       // crr: connections A completed over the whole run
    std::uint64_t served = 0;          // crr: connections B closed normally
    std::uint64_t failed = 0;          // connections that ended abnormally
    std::uint64_t check_failures = 0;  // --check: chunks that differed from the pattern
    std::vector<std::string> notes;    // counters worth printing (retransmits, limits hit)
    // CPU time each side's thread used during the window (CLOCK_THREAD_CPUTIME_ID;
    // for Linux this includes the softirq work the kernel did in that thread's
    // context). One thread for both sides: all of it in cpu_a_s.
    double cpu_a_s = 0;
    double cpu_b_s = 0;
    [[nodiscard]] double per_second() const { return window_s > 0 ? units / window_s : 0; }
    // Per CPU-second of A and B together: what the work costs, whatever share
    // of the CPUs the scheduler gave the two threads.
    [[nodiscard]] double per_cpu_second() const {
        return cpu_a_s + cpu_b_s > 0 ? units / (cpu_a_s + cpu_b_s) : 0;
    }
};

// Another thread's CPU clock, published once that thread runs: the side that
// keeps time reads both clocks at the edges of the window.
class ThreadClock {
  public:
    // Called by the thread itself.
    void publish_self() {
        clockid_t id;
        if (pthread_getcpuclockid(pthread_self(), &id) == 0) {
            id_ = id;
            ready_.store(true, std::memory_order_release);
        }
    }
    // Seconds of CPU the thread has used (0 until it has published).
    [[nodiscard]] double seconds() const {
        if (!ready_.load(std::memory_order_acquire)) return 0;
        timespec ts{};
        clock_gettime(id_, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    }

  private:
    clockid_t id_{};
    std::atomic<bool> ready_{false};
};

// The stream every sender writes: byte o of a connection is pattern[o % kPeriod].
// The period is prime and not a divisor of any write size, so a receiver that
// lost, repeated or reordered a chunk sees a mismatch.
class StreamPattern {
  public:
    static constexpr std::uint32_t kPeriod = 4093;
    explicit StreamPattern(std::uint32_t max_len);
    // The `len` stream bytes starting at stream offset `offset`.
    [[nodiscard]] ByteSpan at(std::uint64_t offset, std::uint32_t len) const;
    // True when `data` are the stream bytes at `offset` (any length: checked
    // in pieces of at most max_len).
    [[nodiscard]] bool matches(std::uint64_t offset, ByteSpan data) const;

  private:
    std::uint32_t max_len_;
    std::vector<std::uint8_t> bytes_;  // kPeriod + max_len
};

// The measured window of one figure and its progress watchdog. It opens
// opt.warmup seconds after `begin` and closes opt.seconds later; at both
// edges it reads the unit count and both threads' CPU clocks. Templated on
// the time point: Linux's side keeps steady_clock time, l45's its Instant.
template <class TimePoint>
class MeasureWindow {
  public:
    enum class Tick : std::uint8_t { running, closed, stalled };
    static constexpr std::chrono::seconds kStallTimeout{3};

    MeasureWindow(const TcpBenchOptions& opt, TimePoint begin)
        : open_at_(begin + span(opt.warmup)),
          close_at_(open_at_ + span(opt.seconds)),
          last_progress_(begin) {}

    // Once per iteration, with the units done so far and both CPU clocks
    // (cpu_b 0 when B runs on A's thread). `closed` fills fig's window
    // figures; `stalled`: no unit for kStallTimeout.
    [[nodiscard]] Tick tick(TimePoint now, std::uint64_t units, double cpu_a, double cpu_b,
                            TcpFigure& fig) {
        if (units != last_units_) {
            last_units_ = units;
            last_progress_ = now;
        } else if (now - last_progress_ > kStallTimeout) {
            return Tick::stalled;
        }
        if (!measuring_ && now >= open_at_) {
            measuring_ = true;
            units0_ = units;
            opened_ = now;
            cpu_a0_ = cpu_a;
            cpu_b0_ = cpu_b;
        } else if (measuring_ && now >= close_at_) {
            fig.units = units - units0_;
            fig.window_s = std::chrono::duration<double>(now - opened_).count();
            fig.cpu_a_s = cpu_a - cpu_a0_;
            fig.cpu_b_s = cpu_b - cpu_b0_;
            return Tick::closed;
        }
        return Tick::running;
    }

  private:
    static typename TimePoint::duration span(double seconds) {
        return std::chrono::duration_cast<typename TimePoint::duration>(
            std::chrono::duration<double>(seconds));
    }

    TimePoint open_at_, close_at_, last_progress_, opened_{};
    std::uint64_t last_units_ = 0, units0_ = 0;
    double cpu_a0_ = 0, cpu_b0_ = 0;
    bool measuring_ = false;
};

[[nodiscard]] TcpFigure run_l45(TcpMode mode, const TcpBenchOptions& options);
[[nodiscard]] TcpFigure run_kernel(TcpMode mode, const TcpBenchOptions& options);

}  // namespace l45::bench
