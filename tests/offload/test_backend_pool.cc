// BackendPool: round-robin over the backends that are up; one marked down
// is skipped for the interval, then tried again.
#include <gtest/gtest.h>

#include "apps/l45-offload/backend_pool.h"

namespace l45::offload {
namespace {

using namespace std::chrono_literals;

std::vector<BackendAddress> three() {
    return {{net::Ipv4Addr::from_octets(10, 0, 0, 1), 80},
            {net::Ipv4Addr::from_octets(10, 0, 0, 2), 80},
            {net::Ipv4Addr::from_octets(10, 0, 0, 3), 8080}};
}

TEST(BackendPool, RoundRobin) {
    BackendPool pool(three(), 10s);
    const Instant t0{};
    EXPECT_EQ(pool.pick(t0), 0u);
    EXPECT_EQ(pool.pick(t0), 1u);
    EXPECT_EQ(pool.pick(t0), 2u);
    EXPECT_EQ(pool.pick(t0), 0u);
    EXPECT_EQ(pool.address(2).port, 8080);
}

TEST(BackendPool, DownIsSkippedForTheIntervalOnly) {
    BackendPool pool(three(), 10s);
    const Instant t0 = Instant{} + 100s;
    EXPECT_TRUE(pool.mark_down(1, t0));
    EXPECT_FALSE(pool.mark_down(1, t0 + 1s));  // already down: not counted twice
    EXPECT_FALSE(pool.up(1, t0 + 5s));
    EXPECT_EQ(pool.pick(t0 + 1s), 0u);
    EXPECT_EQ(pool.pick(t0 + 1s), 2u);
    EXPECT_EQ(pool.pick(t0 + 1s), 0u);
    // The second mark_down restarted the interval at t0 + 1 s.
    EXPECT_FALSE(pool.up(1, t0 + 10s));
    EXPECT_TRUE(pool.up(1, t0 + 11s));
    EXPECT_EQ(pool.pick(t0 + 11s), 1u);
}

TEST(BackendPool, AllDownGivesNothingUntilOneIsUp) {
    BackendPool pool(three(), 10s);
    const Instant t0 = Instant{} + 1s;
    for (std::size_t i = 0; i < 3; ++i)
        pool.mark_down(i, t0);
    EXPECT_FALSE(pool.pick(t0 + 1s).has_value());
    pool.mark_up(2);  // a connection to it succeeded
    EXPECT_EQ(pool.pick(t0 + 1s), 2u);
    EXPECT_EQ(pool.pick(t0 + 1s), 2u);
    EXPECT_EQ(pool.pick(t0 + 20s), 0u);
}

}  // namespace
}  // namespace l45::offload
