// FaultInjector logic on its own: decisions, determinism, bounds, and the
// in-place mbuf surgery (corrupt/truncate) on chained mbufs.
#include <gtest/gtest.h>

#include <vector>

#include "drivers/fault.h"
#include "tests/drivers/frames.h"
#include "tests/support/eal_env.h"

namespace l45 {
namespace {

using drivers::FaultConfig;
using drivers::FaultDecision;
using drivers::FaultInjector;

class CollectSink final : public drivers::FrameSink {
  public:
    ~CollectSink() { test::free_all(frames); }
    void deliver(rte_mbuf* m) override { frames.push_back(m); }
    std::vector<rte_mbuf*> frames;
};

FaultConfig everything(double rate) {
    FaultConfig c;
    c.drop_rate = c.duplicate_rate = c.reorder_rate = c.delay_rate = c.corrupt_rate =
        c.truncate_rate = rate;
    c.delay = std::chrono::microseconds(100);
    c.jitter = std::chrono::microseconds(50);
    return c;
}

std::vector<FaultDecision> decisions(std::uint64_t seed, int n) {
    FaultInjector inj(everything(0.3), seed, nullptr);
    std::vector<FaultDecision> out;
    for (int i = 0; i < n; ++i)
        out.push_back(inj.decide(static_cast<std::uint32_t>(60 + i % 1400)));
    return out;
}

TEST(FaultDecide, SameSeedSameSequenceOtherSeedOther) {
    const auto a = decisions(42, 2000);
    EXPECT_EQ(a, decisions(42, 2000));
    const auto b = decisions(43, 2000);
    int differing = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        differing += a[i] == b[i] ? 0 : 1;
    // With 6 independent 30% coins per frame, almost every frame differs somewhere.
    EXPECT_GT(differing, 1500);
}

TEST(FaultDecide, ValuesStayInsideTheFrame) {
    FaultInjector inj(everything(0.5), 9, nullptr);
    int corrupted = 0, truncated = 0;
    for (std::uint32_t i = 0; i < 5000; ++i) {
        const std::uint32_t len = i % 70;  // includes 0 and 1
        const FaultDecision d = inj.decide(len);
        if (d.drop) {
            EXPECT_FALSE(d.duplicate || d.corrupt || d.truncate || d.delay || d.reorder);
        }
        if (d.truncate) {
            ++truncated;
            EXPECT_GE(d.truncate_to, 1u);
            EXPECT_LT(d.truncate_to, len);
        }
        if (d.corrupt) {
            ++corrupted;
            EXPECT_NE(d.corrupt_xor, 0);
            EXPECT_LT(d.corrupt_offset, d.truncate ? d.truncate_to : len);
        }
        if (d.delay) {
            EXPECT_FALSE(d.reorder);
            EXPECT_GE(d.delay_for, std::chrono::microseconds(100));
            EXPECT_LE(d.delay_for, std::chrono::microseconds(150));
        }
    }
    EXPECT_GT(corrupted, 500);
    EXPECT_GT(truncated, 500);
}

TEST(FaultDecide, ZeroRatesNeverAct) {
    FaultInjector inj(FaultConfig{}, 1, nullptr);
    for (int i = 0; i < 1000; ++i)
        EXPECT_EQ(inj.decide(100), FaultDecision{});
}

// A chain of three segments holding bytes 0..len-1.
rte_mbuf* make_chain(rte_mempool* pool, std::uint16_t seg_len) {
    rte_mbuf* head = nullptr;
    std::uint8_t next = 0;
    for (int s = 0; s < 3; ++s) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, seg_len));
        for (std::uint16_t i = 0; i < seg_len; ++i)
            p[i] = next++;
        if (head == nullptr) {
            head = m;
        } else {
            EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
        }
    }
    return head;
}

TEST(FaultMbuf, TruncateAChainFreesTheTail) {
    rte_mempool* pool = test::pktmbuf_pool();
    const unsigned before = rte_mempool_avail_count(pool);
    rte_mbuf* m = make_chain(pool, 50);
    ASSERT_EQ(m->nb_segs, 3);
    drivers::truncate_frame(m, 70);  // inside the second segment
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 70u);
    EXPECT_EQ(m->nb_segs, 2);
    const auto bytes = test::frame_bytes(m);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        EXPECT_EQ(bytes[i], i);
    EXPECT_EQ(rte_mempool_avail_count(pool), before - 2);  // the third segment is back
    drivers::truncate_frame(m, 50);                        // exactly the first segment
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 50u);
    EXPECT_EQ(rte_pktmbuf_data_len(m), 50u);
    EXPECT_EQ(m->nb_segs, 1);
    drivers::truncate_frame(m, 80);  // longer: no-op
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 50u);
    rte_pktmbuf_free(m);
    EXPECT_EQ(rte_mempool_avail_count(pool), before);
}

TEST(FaultMbuf, CorruptAChainChangesExactlyOneByte) {
    rte_mbuf* m = make_chain(test::pktmbuf_pool(), 40);
    const auto before = test::frame_bytes(m);
    drivers::corrupt_byte(m, 95, 0x5a);   // third segment
    drivers::corrupt_byte(m, 120, 0xff);  // out of range: no-op
    const auto after = test::frame_bytes(m);
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        if (i == 95) {
            EXPECT_EQ(after[i], before[i] ^ 0x5a);
        } else {
            EXPECT_EQ(after[i], before[i]) << i;
        }
    }
    rte_pktmbuf_free(m);
}

TEST(FaultHold, BoundedAndFreedOnDestruction) {
    rte_mempool* pool = test::pktmbuf_pool();
    const unsigned before = rte_mempool_avail_count(pool);
    {
        FaultConfig c;
        c.delay_rate = 1;
        c.delay = std::chrono::seconds(1);
        c.max_held = 4;
        FaultInjector inj(c, 1, pool);
        CollectSink sink;
        for (std::uint32_t i = 0; i < 10; ++i)
            inj.push(Instant{}, test::make_frame(pool, i), sink);
        EXPECT_EQ(inj.held(), 4u);
        EXPECT_EQ(inj.counters().hold_full, 6u);
        EXPECT_EQ(sink.frames.size(), 6u);
        EXPECT_EQ(inj.counters().delivered, 6u);
    }  // the injector frees its 4, the sink its 6
    EXPECT_EQ(rte_mempool_avail_count(pool), before);
}

TEST(FaultHold, ReorderedFrameLeavesAtTheTimeoutWhenNothingFollows) {
    rte_mempool* pool = test::pktmbuf_pool();
    FaultConfig c;
    c.reorder_distance = 2;
    c.reorder_timeout = std::chrono::milliseconds(1);
    c.reorder_rate = 1;
    CollectSink sink;
    FaultInjector inj(c, 1, pool);
    inj.push(Instant{}, test::make_frame(pool, 0), sink);
    EXPECT_TRUE(sink.frames.empty());
    EXPECT_EQ(inj.held(), 1u);
    inj.poll(Instant{} + std::chrono::microseconds(999), sink);
    EXPECT_TRUE(sink.frames.empty());
    inj.poll(Instant{} + std::chrono::milliseconds(1), sink);
    ASSERT_EQ(sink.frames.size(), 1u);
    EXPECT_EQ(test::frame_seq(test::frame_bytes(sink.frames[0])), 0u);
    EXPECT_EQ(inj.counters().reordered, 1u);
}

}  // namespace
}  // namespace l45
