// Time as a value. Protocol cores never read a clock: the caller passes `now`
// in, so a test can replay "nothing at t=50 ms, a retransmit at t=1 s".
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

namespace l45 {

struct MonotonicClock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<MonotonicClock>;
    static constexpr bool is_steady = true;

    // The only place in l45 that reads the wall of the machine; drivers and
    // apps call it once per poll iteration and hand the value down.
    static time_point now() {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
    }
};

using Instant = MonotonicClock::time_point;
using Duration = std::chrono::nanoseconds;

// For tests and simulations: a clock that moves only when told to.
class ManualClock {
  public:
    [[nodiscard]] Instant now() const { return now_; }
    void advance(Duration d) { now_ += d; }
    void set(Instant t) { now_ = t; }

  private:
    Instant now_{};
};

}  // namespace l45
