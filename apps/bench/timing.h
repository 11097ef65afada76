// Timing harness for l45-tls-bench: a monotonic clock, a barrier against
// dead-code elimination, and a loop that warms up and then runs timed passes
// for a fixed wall-clock budget.
//
// A "pass" is a callable that does one unit of work (a ring of records, one
// handshake, one signature...) and reports how many seconds of it count. A
// pass may leave set-up out of the count (e.g. re-sealing records so that
// they can be opened again), which is why it times itself instead of the
// harness timing it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>

namespace l45::bench {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC
static_assert(Clock::is_steady);

[[nodiscard]] inline double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// Makes the compiler assume `value` (and all memory) is read here, so the
// work that produced it cannot be dropped.
template <class T>
inline void keep(const T& value) {
    asm volatile("" : : "r,m"(value) : "memory");
}
inline void clobber_memory() {
    asm volatile("" : : : "memory");
}

struct PassTime {
    double counted = 0;  // seconds of the pass that are measured
    double aux = 0;      // a sub-part of `counted` the caller also wants (e.g. the server's share)
};

struct Measurement {
    std::uint64_t units = 0;  // work units in the counted passes
    double counted = 0;
    double aux = 0;
    [[nodiscard]] double per_second() const { return counted > 0 ? units / counted : 0; }
    [[nodiscard]] double aux_per_second() const { return aux > 0 ? units / aux : 0; }
};

// Runs `pass` (returning PassTime, doing `units_per_pass` units) for
// `warmup_s` of wall time unmeasured, then for at least `seconds` of wall
// time (and at least 3 passes) measured.
template <class Pass>
[[nodiscard]] Measurement measure(double seconds, double warmup_s, std::uint64_t units_per_pass,
                                  Pass&& pass) {
    const auto warm_start = Clock::now();
    do {
        (void)pass();
    } while (seconds_between(warm_start, Clock::now()) < warmup_s);

    Measurement m;
    const auto start = Clock::now();
    std::uint64_t passes = 0;
    do {
        const PassTime t = pass();
        m.counted += t.counted;
        m.aux += t.aux;
        m.units += units_per_pass;
        ++passes;
    } while (passes < 3 || seconds_between(start, Clock::now()) < seconds);
    return m;
}

// What a Stopwatch counts. Wall time by default; thread CPU time
// (CLOCK_THREAD_CPUTIME_ID) for a program that compares its figures with
// others taken per CPU-second, which on a shared machine is the only
// comparison that holds (time while preempted counts in neither).
enum class TimeBase : std::uint8_t { wall, thread_cpu };
[[nodiscard]] inline TimeBase& stopwatch_time_base() {
    static TimeBase base = TimeBase::wall;
    return base;
}

// For passes that want to time a region themselves.
class Stopwatch {
  public:
    void start() { t0_ = now(); }
    // Seconds since start().
    [[nodiscard]] double stop() const { return now() - t0_; }

  private:
    [[nodiscard]] static double now() {
        if (stopwatch_time_base() == TimeBase::wall)
            return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    }
    double t0_ = 0;
};

}  // namespace l45::bench
