// The ARP cache under ManualClock: merge, aging, the bound, hold queues,
// retries and give-up, and that no mbuf leaks on any path.
#include <gtest/gtest.h>
#include <rte_mempool.h>

#include <vector>

#include "stack/net/arp_cache.h"
#include "tests/support/eal_env.h"

namespace l45::net {
namespace {

using namespace std::chrono_literals;

rte_ether_addr mac(std::uint8_t last) {
    return rte_ether_addr{{0x02, 0, 0, 0, 0, last}};
}
Ipv4Addr ip(std::uint8_t last) {
    return Ipv4Addr::from_octets(198, 18, 0, last);
}

class ArpCacheTest : public ::testing::Test {
  protected:
    void SetUp() override { baseline_ = rte_mempool_in_use_count(pool()); }
    void TearDown() override {
        EXPECT_EQ(rte_mempool_in_use_count(pool()), baseline_) << "mbuf leak";
    }
    static rte_mempool* pool() { return test::pktmbuf_pool(); }
    // A held packet: a frame whose first byte tags it.
    static MbufPtr packet(std::uint8_t tag) {
        MbufPtr m(rte_pktmbuf_alloc(pool()));
        auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m.get(), 60));
        std::fill(p, p + 60, std::uint8_t{0});
        p[59] = tag;
        return m;
    }
    static std::uint8_t tag_of(const MbufPtr& m) {
        return rte_pktmbuf_mtod(m.get(), const std::uint8_t*)[59];
    }

    ArpConfig config_;
    Counters counters_;
    Instant t0_{std::chrono::seconds(100)};
    unsigned baseline_ = 0;
};

auto no_release = [](MbufPtr, const rte_ether_addr&) { FAIL() << "nothing should be released"; };

TEST_F(ArpCacheTest, MergeCreatesOnlyWhenAsked) {
    ArpCache cache(config_, counters_);
    EXPECT_FALSE(cache.update(t0_, ip(2), mac(2), false, no_release));
    EXPECT_EQ(cache.lookup(t0_, ip(2)), nullptr);
    EXPECT_FALSE(cache.update(t0_, ip(2), mac(2), true, no_release));  // created: no merge
    ASSERT_NE(cache.lookup(t0_, ip(2)), nullptr);
    EXPECT_TRUE(mac_equal(*cache.lookup(t0_, ip(2)), mac(2)));
    // RFC 826: an existing entry is updated even when not creating.
    EXPECT_TRUE(cache.update(t0_ + 1s, ip(2), mac(9), false, no_release));
    EXPECT_TRUE(mac_equal(*cache.lookup(t0_ + 1s, ip(2)), mac(9)));
    EXPECT_EQ(cache.size(), 1u);
}

TEST_F(ArpCacheTest, StaticEntriesNeverAgeAreNotOverriddenOrEvicted) {
    config_.cache_capacity = 3;
    config_.reachable_lifetime = 30s;
    ArpCache cache(config_, counters_);
    // A resolving entry with a held packet becomes static: the packet goes out.
    ASSERT_EQ(cache.hold(t0_, ip(2), packet(7)), ArpCache::HoldResult::held_new);
    std::vector<std::uint8_t> released;
    ASSERT_TRUE(cache.set_static(ip(2), mac(2), [&](MbufPtr m, const rte_ether_addr& a) {
        EXPECT_TRUE(mac_equal(a, mac(2)));
        released.push_back(tag_of(m));
    }));
    EXPECT_EQ(released, std::vector<std::uint8_t>{7});
    ASSERT_TRUE(cache.set_static(ip(3), mac(3), no_release));
    // At most capacity - 1 static entries: one slot stays for learning.
    EXPECT_FALSE(cache.set_static(ip(4), mac(4), no_release));
    EXPECT_TRUE(cache.find(ip(2))->is_static);
    // ARP from the wire does not change a static binding.
    EXPECT_TRUE(cache.update(t0_ + 1s, ip(2), mac(9), false, no_release));
    EXPECT_TRUE(mac_equal(*cache.lookup(t0_ + 1s, ip(2)), mac(2)));
    // Learning churns through the one free slot, never a static one.
    for (std::uint8_t i = 10; i < 20; ++i)
        (void)cache.update(t0_ + 2s, ip(i), mac(i), true, no_release);
    EXPECT_EQ(cache.size(), 3u);
    // Hours later, after every poll: still there.
    cache.poll(t0_ + 10h, [](Ipv4Addr) { FAIL(); });
    EXPECT_NE(cache.lookup(t0_ + 10h, ip(2)), nullptr);
    EXPECT_NE(cache.lookup(t0_ + 10h, ip(3)), nullptr);
    EXPECT_EQ(cache.find(ip(19)), nullptr);  // the learnt one aged out
    EXPECT_EQ(cache.size(), 2u);
}

TEST_F(ArpCacheTest, EntriesAgeOut) {
    config_.reachable_lifetime = 30s;
    ArpCache cache(config_, counters_);
    (void)cache.update(t0_, ip(2), mac(2), true, no_release);
    EXPECT_EQ(cache.next_deadline(), t0_ + 30s);
    EXPECT_NE(cache.lookup(t0_ + 29s, ip(2)), nullptr);
    EXPECT_EQ(cache.lookup(t0_ + 30s, ip(2)), nullptr);  // expired even before poll()
    cache.poll(t0_ + 29s, [](Ipv4Addr) { FAIL(); });
    EXPECT_EQ(cache.size(), 1u);
    cache.poll(t0_ + 30s, [](Ipv4Addr) { FAIL(); });
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.find(ip(2)), nullptr);
    EXPECT_EQ(cache.next_deadline(), Instant::max());
    // A refresh restarts the lifetime.
    (void)cache.update(t0_, ip(3), mac(3), true, no_release);
    (void)cache.update(t0_ + 20s, ip(3), mac(3), false, no_release);
    EXPECT_NE(cache.lookup(t0_ + 45s, ip(3)), nullptr);
}

TEST_F(ArpCacheTest, BoundedEvictsOldest) {
    config_.cache_capacity = 4;
    ArpCache cache(config_, counters_);
    for (std::uint8_t i = 1; i <= 4; ++i)
        (void)cache.update(t0_ + std::chrono::seconds(i), ip(i), mac(i), true, no_release);
    EXPECT_EQ(cache.size(), 4u);
    EXPECT_EQ(counters_.arp_cache_evictions, 0u);
    (void)cache.update(t0_ + 10s, ip(5), mac(5), true, no_release);
    EXPECT_EQ(cache.size(), 4u);
    EXPECT_EQ(cache.capacity(), 4u);
    EXPECT_EQ(counters_.arp_cache_evictions, 1u);
    EXPECT_EQ(cache.find(ip(1)), nullptr);  // the oldest went
    for (std::uint8_t i = 2; i <= 5; ++i)
        EXPECT_NE(cache.lookup(t0_ + 10s, ip(i)), nullptr) << int(i);
    for (std::uint8_t i = 10; i < 200; ++i)
        (void)cache.update(t0_ + 20s, ip(i), mac(i), true, no_release);
    EXPECT_EQ(cache.size(), 4u);
}

TEST_F(ArpCacheTest, HoldQueueIsBoundedAndReleasedInOrder) {
    config_.max_held_packets = 2;
    ArpCache cache(config_, counters_);
    EXPECT_EQ(cache.hold(t0_, ip(2), packet(1)), ArpCache::HoldResult::held_new);
    EXPECT_EQ(cache.hold(t0_, ip(2), packet(2)), ArpCache::HoldResult::held);
    EXPECT_EQ(cache.hold(t0_, ip(2), packet(3)), ArpCache::HoldResult::overflow);
    EXPECT_EQ(counters_.arp_hold_overflow, 1u);
    EXPECT_EQ(cache.find(ip(2))->state, ArpCache::State::incomplete);
    EXPECT_EQ(cache.find(ip(2))->num_held, 2u);
    EXPECT_EQ(cache.lookup(t0_, ip(2)), nullptr);

    std::vector<std::uint8_t> released;
    const bool merged =
        cache.update(t0_ + 10ms, ip(2), mac(2), false, [&](MbufPtr m, const rte_ether_addr& to) {
            EXPECT_TRUE(mac_equal(to, mac(2)));
            released.push_back(tag_of(m));
        });
    EXPECT_TRUE(merged);
    EXPECT_EQ(released, (std::vector<std::uint8_t>{1, 2}));
    EXPECT_EQ(cache.find(ip(2))->state, ArpCache::State::reachable);
    EXPECT_EQ(cache.find(ip(2))->num_held, 0u);
}

TEST_F(ArpCacheTest, RetriesThenGivesUpAndFreesHeld) {
    config_.retry_interval = 1s;
    config_.max_retries = 2;
    ArpCache cache(config_, counters_);
    std::vector<Ipv4Addr> requests;
    auto send = [&](Ipv4Addr a) { requests.push_back(a); };
    ASSERT_EQ(cache.hold(t0_, ip(7), packet(1)), ArpCache::HoldResult::held_new);
    ASSERT_EQ(cache.hold(t0_, ip(7), packet(2)), ArpCache::HoldResult::held);
    EXPECT_EQ(cache.next_deadline(), t0_ + 1s);
    cache.poll(t0_ + 999ms, send);
    EXPECT_TRUE(requests.empty());
    cache.poll(t0_ + 1s, send);  // retry 1
    EXPECT_EQ(requests.size(), 1u);
    EXPECT_EQ(cache.next_deadline(), t0_ + 2s);
    cache.poll(t0_ + 2s, send);  // retry 2
    EXPECT_EQ(requests.size(), 2u);
    EXPECT_EQ(cache.find(ip(7))->requests_sent, 3u);
    EXPECT_EQ(counters_.arp_resolve_failed, 0u);
    cache.poll(t0_ + 3s, send);  // give up
    EXPECT_EQ(requests.size(), 2u);
    EXPECT_EQ(counters_.arp_resolve_failed, 1u);
    EXPECT_EQ(counters_.arp_hold_dropped, 2u);
    EXPECT_EQ(cache.find(ip(7)), nullptr);
    EXPECT_EQ(cache.next_deadline(), Instant::max());
    for (Ipv4Addr a : requests)
        EXPECT_EQ(a, ip(7));
}

TEST_F(ArpCacheTest, ExpiredBindingRestartsResolution) {
    config_.reachable_lifetime = 5s;
    ArpCache cache(config_, counters_);
    (void)cache.update(t0_, ip(2), mac(2), true, no_release);
    EXPECT_EQ(cache.hold(t0_ + 6s, ip(2), packet(1)), ArpCache::HoldResult::held_new);
    EXPECT_EQ(cache.find(ip(2))->state, ArpCache::State::incomplete);
}

TEST_F(ArpCacheTest, EvictionPrefersReachableAndFreesHeld) {
    config_.cache_capacity = 2;
    ArpCache cache(config_, counters_);
    ASSERT_EQ(cache.hold(t0_, ip(1), packet(1)), ArpCache::HoldResult::held_new);
    (void)cache.update(t0_ + 1s, ip(2), mac(2), true, no_release);
    // Full: the reachable entry goes first, even though it is newer.
    ASSERT_EQ(cache.hold(t0_ + 2s, ip(3), packet(3)), ArpCache::HoldResult::held_new);
    EXPECT_EQ(cache.find(ip(2)), nullptr);
    EXPECT_NE(cache.find(ip(1)), nullptr);
    // Only incomplete entries left: the oldest goes, and its packet is freed.
    ASSERT_EQ(cache.hold(t0_ + 3s, ip(4), packet(4)), ArpCache::HoldResult::held_new);
    EXPECT_EQ(cache.find(ip(1)), nullptr);
    EXPECT_EQ(counters_.arp_cache_evictions, 2u);
    EXPECT_EQ(counters_.arp_hold_dropped, 1u);
}

TEST_F(ArpCacheTest, DestructorFreesHeldPackets) {
    {
        ArpCache cache(config_, counters_);
        for (std::uint8_t i = 1; i < 20; ++i)
            (void)cache.hold(t0_, ip(i), packet(i));
        EXPECT_GT(rte_mempool_in_use_count(pool()), baseline_);
    }
    // TearDown checks the pool.
}

}  // namespace
}  // namespace l45::net
