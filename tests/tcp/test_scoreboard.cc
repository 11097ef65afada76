// The RFC 6675 scoreboard on its own: Update(), IsLost(), SetPipe(),
// NextSeg() and the §5 / §5.1 recovery state, with sequence numbers that
// cross 2^32. SMSS is 1000 bytes so that the numbers read easily.
#include <gtest/gtest.h>

#include <vector>

#include "stack/tcp/scoreboard.h"

namespace l45::tcp {
namespace {

constexpr std::uint32_t kMss = 1000;
const SeqNum kBase(0xfffff000u);  // segment 5 crosses the wrap

// Segment i is [kBase + i*kMss, kBase + (i+1)*kMss).
SeqNum sg(std::uint32_t i) {
    return kBase + i * kMss;
}
SackBlock blk(std::uint32_t from_seg, std::uint32_t to_seg) {
    return {sg(from_seg), sg(to_seg)};
}

using Rule = Scoreboard::Rule;

// HighACK at segment `una`, HighData at segment `high`, these blocks.
std::uint32_t feed(Scoreboard& sb, std::uint32_t una, std::uint32_t high,
                   std::vector<SackBlock> blocks) {
    return sb.update(sg(una), sg(high), blocks, kMss);
}

TEST(Scoreboard, UpdateAccumulatesMergesAndIgnoresStaleBlocks) {
    Scoreboard sb;
    EXPECT_EQ(feed(sb, 0, 20, {blk(3, 4)}), kMss);
    EXPECT_EQ(feed(sb, 0, 20, {blk(6, 7)}), kMss);  // the earlier block is kept
    ASSERT_EQ(sb.num_blocks(), 2u);
    // A block that overlaps both merges them; only the new bytes count.
    EXPECT_EQ(feed(sb, 0, 20, {blk(3, 7)}), 2 * kMss);
    ASSERT_EQ(sb.num_blocks(), 1u);
    EXPECT_EQ(sb.block(0), blk(3, 7));
    // Adjacent blocks coalesce too.
    EXPECT_EQ(feed(sb, 0, 20, {blk(7, 8)}), kMss);
    EXPECT_EQ(sb.block(0), blk(3, 8));
    // Repeats, D-SACKs below HighACK, blocks beyond HighData and empty
    // blocks add nothing.
    EXPECT_EQ(
        feed(sb, 0, 20,
             {blk(3, 8), SackBlock{sg(0) - 500, sg(0)}, blk(19, 25), SackBlock{sg(10), sg(10)}}),
        0u);
    EXPECT_EQ(sb.sacked_bytes(), 5 * kMss);
    // A cumulative ACK past the block: the scoreboard forgets it.
    EXPECT_EQ(feed(sb, 8, 20, {}), 0u);
    EXPECT_EQ(sb.num_blocks(), 0u);
    EXPECT_EQ(sb.high_ack(), sg(8));
}

TEST(Scoreboard, ForgetsEverythingWhenTheReceiverReneges) {
    Scoreboard sb;
    feed(sb, 0, 20, {blk(4, 6), blk(8, 9)});
    // The ACK stops at segment 4, which the receiver had SACKed: it dropped
    // it (RFC 2018 §8). Nothing SACKed may be trusted any more.
    feed(sb, 4, 20, {});
    EXPECT_EQ(sb.num_blocks(), 0u);
    EXPECT_FALSE(sb.is_sacked(sg(8)));
}

TEST(Scoreboard, IsLostNeedsDupThreshSegmentsOrBlocksAbove) {
    Scoreboard sb;
    feed(sb, 0, 20, {blk(2, 4)});  // 2 SMSS above segment 0-1: not enough
    EXPECT_FALSE(sb.is_lost(sg(0)));
    EXPECT_FALSE(sb.is_lost(sg(1)));
    feed(sb, 0, 20, {blk(4, 5)});  // merges: 3 SMSS above, one block
    EXPECT_TRUE(sb.is_lost(sg(0)));
    EXPECT_TRUE(sb.is_lost(sg(1) + 999));
    EXPECT_FALSE(sb.is_lost(sg(2)));  // SACKed, not lost
    EXPECT_FALSE(sb.is_lost(sg(6)));  // nothing SACKed above

    // Three discontiguous blocks of small segments count as DupThresh
    // even though they hold less than 2 SMSS (§4 IsLost, first clause).
    Scoreboard small;
    small.update(sg(0), sg(20), std::vector<SackBlock>{{sg(1), sg(1) + 100}}, kMss);
    small.update(sg(0), sg(20), std::vector<SackBlock>{{sg(2), sg(2) + 100}}, kMss);
    EXPECT_FALSE(small.is_lost(sg(0)));
    small.update(sg(0), sg(20), std::vector<SackBlock>{{sg(3), sg(3) + 100}}, kMss);
    EXPECT_TRUE(small.is_lost(sg(0)));
    EXPECT_FALSE(small.is_lost(sg(1) + 100));  // only two blocks above it
}

TEST(Scoreboard, PipeCountsUnlostAndRetransmittedOctets) {
    Scoreboard sb;
    // 10 segments out; 0 and 4 lost; 1-3 and 5-9 SACKed.
    feed(sb, 0, 10, {blk(1, 4), blk(5, 10)});
    // Everything unSACKed is lost: nothing is in the network.
    EXPECT_TRUE(sb.is_lost(sg(0)));
    EXPECT_TRUE(sb.is_lost(sg(4)));
    EXPECT_EQ(sb.pipe(), 0u);
    sb.enter_recovery();
    sb.on_retransmit(Rule::kNone, sg(0), kMss);
    EXPECT_EQ(sb.pipe(), kMss);  // the retransmission is in the network
    EXPECT_EQ(sb.high_rxt(), sg(1));
    // New data beyond HighData is not lost: counted once.
    sb.sent_new_data(sg(12));
    EXPECT_EQ(sb.pipe(), 3 * kMss);
    // A hole that is not (yet) lost counts once; retransmitted, twice.
    Scoreboard sb2;
    feed(sb2, 0, 10, {blk(8, 10)});  // 2 SMSS above 0-7: nothing lost
    EXPECT_EQ(sb2.pipe(), 8 * kMss);
    sb2.enter_recovery();
    sb2.on_retransmit(Rule::kUnsacked, sg(0), kMss);
    EXPECT_EQ(sb2.pipe(), 9 * kMss);
}

TEST(Scoreboard, NextSegFollowsRules1To4) {
    Scoreboard sb;
    // Holes at 0, 4 and 7; 7 has only 2 SMSS SACKed above it (not lost).
    feed(sb, 0, 10, {blk(1, 4), blk(5, 7), blk(8, 10)});
    ASSERT_TRUE(sb.is_lost(sg(4)));
    ASSERT_FALSE(sb.is_lost(sg(7)));
    sb.enter_recovery();
    EXPECT_EQ(sb.recovery_point(), sg(10));
    // Rule 1: the lost holes in order, each once. The first is the §5
    // step 4.3 retransmission (HighRxt and RescueRxt both cover it).
    auto n = sb.next_seg(true, kMss);
    EXPECT_EQ(n.rule, Rule::kLost);
    EXPECT_EQ(n.seq, sg(0));
    EXPECT_EQ(n.len, kMss);
    sb.on_retransmit(Rule::kNone, n.seq, n.len);
    n = sb.next_seg(true, kMss);
    EXPECT_EQ(n.rule, Rule::kLost);
    EXPECT_EQ(n.seq, sg(4));
    sb.on_retransmit(n.rule, n.seq, n.len);
    // Rule 2: no lost hole left, new data may go.
    n = sb.next_seg(true, kMss);
    EXPECT_EQ(n.rule, Rule::kNewData);
    // Rule 3: no new data: the hole not known to be lost.
    n = sb.next_seg(false, kMss);
    EXPECT_EQ(n.rule, Rule::kUnsacked);
    EXPECT_EQ(n.seq, sg(7));
    sb.on_retransmit(n.rule, n.seq, n.len);
    // Rule 4: one rescue retransmission of the highest unSACKed data,
    // allowed once HighACK passed the first retransmission.
    sb.sent_new_data(sg(12));
    EXPECT_EQ(sb.next_seg(false, kMss).rule, Rule::kNone);
    feed(sb, 1, 12, {});  // HighACK = RescueRxt: not yet
    EXPECT_EQ(sb.next_seg(false, kMss).rule, Rule::kNone);
    feed(sb, 4, 12, {});
    n = sb.next_seg(false, kMss);
    EXPECT_EQ(n.rule, Rule::kRescue);
    EXPECT_EQ(n.seq, sg(11));
    EXPECT_EQ(n.len, kMss);
    const SeqNum high_rxt = sb.high_rxt();
    sb.on_retransmit(n.rule, n.seq, n.len);
    EXPECT_EQ(sb.high_rxt(), high_rxt);  // HighRxt MUST NOT move
    EXPECT_EQ(sb.next_seg(false, kMss).rule, Rule::kNone);
    // §5 (A): the ACK of RecoveryPoint ends recovery.
    feed(sb, 10, 12, {});
    EXPECT_TRUE(sb.maybe_exit_recovery());
    EXPECT_FALSE(sb.in_recovery());
}

TEST(Scoreboard, RetransmissionStopsAtTheNextSackedBlock) {
    Scoreboard sb;
    feed(sb, 0, 10, {SackBlock{sg(0) + 400, sg(10)}});
    sb.enter_recovery();
    auto n = sb.next_seg(false, kMss);
    EXPECT_EQ(n.rule, Rule::kLost);
    EXPECT_EQ(n.seq, sg(0));
    EXPECT_EQ(n.len, 400u);
    EXPECT_EQ(sb.retransmit_len(sg(0), kMss), 400u);
}

TEST(Scoreboard, RtoKeepsSackedDataAndResendsEveryHole) {
    Scoreboard sb;
    feed(sb, 0, 10, {blk(2, 3), blk(6, 8)});
    sb.enter_recovery();
    sb.on_retransmit(Rule::kNone, sg(0), kMss);
    sb.on_rto();
    EXPECT_TRUE(sb.after_rto());
    // §5.1: nothing counts as retransmitted, everything unSACKed is lost,
    // SACKed data stays SACKed.
    EXPECT_EQ(sb.high_rxt(), sg(0));
    EXPECT_EQ(sb.pipe(), 0u);
    std::vector<std::uint32_t> sent;
    for (;;) {
        const auto n = sb.next_seg(false, kMss);
        if (n.rule == Rule::kNone) break;
        ASSERT_EQ(n.rule, Rule::kLost);
        sent.push_back(static_cast<std::uint32_t>(n.seq - kBase) / kMss);
        sb.on_retransmit(n.rule, n.seq, n.len);
    }
    EXPECT_EQ(sent, (std::vector<std::uint32_t>{0, 1, 3, 4, 5, 8, 9}));
    // Recovery after the RTO lasts until the old HighData is acknowledged.
    feed(sb, 9, 10, {});
    EXPECT_FALSE(sb.maybe_exit_recovery());
    feed(sb, 10, 10, {});
    EXPECT_TRUE(sb.maybe_exit_recovery());
}

TEST(Scoreboard, DetectsALostRetransmission) {
    Scoreboard sb;
    feed(sb, 0, 10, {blk(1, 10)});
    sb.enter_recovery();
    sb.on_retransmit(Rule::kNone, sg(0), kMss);
    EXPECT_EQ(sb.next_seg(false, kMss).rule, Rule::kNone);
    // New data sent after the retransmission arrives, the retransmission
    // does not: after more than 2 SMSS of it, segment 0 is lost again.
    sb.sent_new_data(sg(14));
    feed(sb, 0, 14, {blk(10, 12)});
    EXPECT_EQ(sb.lost_retransmissions(), 0u);
    EXPECT_EQ(sb.pipe(), 3 * kMss);  // retransmission + 12..13
    feed(sb, 0, 14, {blk(10, 13)});
    EXPECT_EQ(sb.lost_retransmissions(), 1u);
    EXPECT_EQ(sb.pipe(), 1 * kMss);  // only segment 13
    auto n = sb.next_seg(true, kMss);
    EXPECT_EQ(n.rule, Rule::kLostAgain);
    EXPECT_EQ(n.seq, sg(0));
    sb.on_retransmit(n.rule, n.seq, n.len);
    EXPECT_EQ(sb.pipe(), 2 * kMss);
    EXPECT_EQ(sb.next_seg(true, kMss).rule, Rule::kNewData);
}

TEST(Scoreboard, StalledRecoveryMarksHolesBelowTheHighestSackLost) {
    Scoreboard sb;
    feed(sb, 0, 4, {blk(1, 3)});  // two segments SACKed: 0 is not "lost"
    EXPECT_FALSE(sb.is_lost(sg(0)));
    sb.enter_recovery();
    EXPECT_EQ(sb.next_seg(false, kMss).rule, Rule::kUnsacked);
    sb.mark_stalled_lost();
    EXPECT_TRUE(sb.is_lost(sg(0)));
    EXPECT_FALSE(sb.is_lost(sg(3)));  // above every SACK: may be in flight
    const auto n = sb.next_seg(false, kMss);
    EXPECT_EQ(n.rule, Rule::kLost);
    EXPECT_EQ(n.seq, sg(0));
}

TEST(Scoreboard, BoundedBlockArrayKeepsTheLowestBlocks) {
    Scoreboard sb;
    const std::uint32_t n = Scoreboard::kMaxBlocks + 10;
    for (std::uint32_t i = 0; i < n; ++i)
        feed(sb, 0, 2 * n + 2, {blk(2 * i + 1, 2 * i + 2)});
    EXPECT_EQ(sb.num_blocks(), Scoreboard::kMaxBlocks);
    EXPECT_EQ(sb.block(0), blk(1, 2));
    // A block below all others still gets in (the highest one goes).
    Scoreboard sb2;
    for (std::uint32_t i = 1; i <= Scoreboard::kMaxBlocks; ++i)
        feed(sb2, 0, 4 * n, {blk(2 * i + 1, 2 * i + 2)});
    feed(sb2, 0, 4 * n, {blk(1, 2)});
    EXPECT_EQ(sb2.num_blocks(), Scoreboard::kMaxBlocks);
    EXPECT_EQ(sb2.block(0), blk(1, 2));
    EXPECT_EQ(sb2.high_sacked(), sg(2 * Scoreboard::kMaxBlocks));
}

}  // namespace
}  // namespace l45::tcp
