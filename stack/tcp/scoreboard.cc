// RFC 6675 scoreboard. See scoreboard.h.
#include "stack/tcp/scoreboard.h"

#include <algorithm>

namespace l45::tcp {

void Scoreboard::clear() {
    *this = Scoreboard{};
}

std::uint32_t Scoreboard::update(SeqNum high_ack, SeqNum high_data,
                                 std::span<const SackBlock> blocks, std::uint32_t smss) {
    bool changed = false;
    smss_ = smss;
    high_data_ = high_data;
    if (!started_) {
        // Sequence numbers compare modulo 2^32: start from the first HighACK.
        started_ = true;
        high_ack_ = high_rxt_ = lost_end_ = high_ack;
    }
    if (high_ack > high_ack_) {
        high_ack_ = high_ack;
        high_rxt_ = seq_max(high_rxt_, high_ack_);
        // Forget what the cumulative ACK covers.
        std::uint32_t w = 0;
        for (std::uint32_t i = 0; i < num_blocks_; ++i) {
            SackBlock b = blocks_[i];
            if (b.right <= high_ack_) continue;
            if (b.left < high_ack_) b.left = high_ack_;
            blocks_[w++] = b;
        }
        num_blocks_ = w;
        changed = true;
    }
    std::uint32_t newly = 0;
    for (const SackBlock& in : blocks) {
        SackBlock b = in;
        // RFC 2883 D-SACKs (below HighACK) and blocks beyond what was sent
        // say nothing about the outstanding data.
        if (!(b.left < b.right) || b.right <= high_ack_ || b.right > high_data_) continue;
        if (b.left < high_ack_) b.left = high_ack_;
        const std::uint32_t fresh = unsacked_len(b.left, b.right);
        if (fresh == 0) continue;
        newly += fresh;
        add_block(b);
    }
    // A receiver that holds the byte at HighACK acknowledges it; a block
    // starting there means it dropped SACKed data (RFC 2018 §8 allows
    // reneging). Forget all SACK information so that it is resent.
    if (num_blocks_ > 0 && blocks_[0].left == high_ack_) {
        num_blocks_ = 0;
        newly = 0;
        changed = true;
    }
    if (changed || newly > 0) {
        // Retransmissions acknowledged or SACKed whole need no tracking.
        std::uint32_t w = 0;
        for (std::uint32_t i = 0; i < num_rxt_; ++i) {
            Retransmission r = rxt_[i];
            if (r.right <= high_ack_) continue;
            if (r.left < high_ack_) r.left = high_ack_;
            if (unsacked_len(r.left, r.right) == 0) continue;
            rxt_[w++] = r;
        }
        num_rxt_ = w;
        recompute_lost_end();
    }
    if (newly > 0) detect_lost_retransmissions(smss);
    return newly;
}

void Scoreboard::add_block(SackBlock b) {
    // Blocks [i, j) overlap or touch b: they merge into one.
    std::uint32_t i = 0;
    while (i < num_blocks_ && blocks_[i].right < b.left)
        ++i;
    std::uint32_t j = i;
    while (j < num_blocks_ && blocks_[j].left <= b.right) {
        b.left = seq_min(b.left, blocks_[j].left);
        b.right = seq_max(b.right, blocks_[j].right);
        ++j;
    }
    if (j > i) {
        // Replace [i, j) by b and close the gap.
        blocks_[i] = b;
        const std::uint32_t removed = j - i - 1;
        for (std::uint32_t k = j; k < num_blocks_; ++k)
            blocks_[k - removed] = blocks_[k];
        num_blocks_ -= removed;
        return;
    }
    // A new block at position i.
    if (num_blocks_ == kMaxBlocks) {
        // Full: forget the block furthest from HighACK (the least useful
        // for the next retransmissions), which may be b itself.
        if (i == num_blocks_) return;
        --num_blocks_;
    }
    for (std::uint32_t k = num_blocks_; k > i; --k)
        blocks_[k] = blocks_[k - 1];
    blocks_[i] = b;
    ++num_blocks_;
}

void Scoreboard::sacked_above(SeqNum seq, std::uint32_t& out_bytes,
                              std::uint32_t& out_blocks) const {
    out_bytes = 0;
    out_blocks = 0;
    for (std::uint32_t i = 0; i < num_blocks_; ++i) {
        const SackBlock& b = blocks_[i];
        if (b.right <= seq + 1) continue;  // strictly above seq
        out_bytes += seq_dist(seq_max(b.left, seq + 1), b.right);
        ++out_blocks;
    }
}

void Scoreboard::recompute_lost_end() {
    const std::uint32_t smss = smss_;
    // IsLost(seq) only grows as seq goes down (everything SACKed above a
    // byte is also above every lower byte), so one boundary describes it:
    // walking down from the highest block, the first block at which
    // DupThresh blocks or more than (DupThresh - 1) * SMSS bytes are
    // SACKed makes every unSACKed byte below its left edge lost.
    lost_end_ = high_ack_;
    std::uint32_t bytes = 0;
    for (std::uint32_t i = num_blocks_; i-- > 0;) {
        bytes += seq_dist(blocks_[i].left, blocks_[i].right);
        if (num_blocks_ - i >= kDupThresh || bytes > (kDupThresh - 1) * smss) {
            lost_end_ = blocks_[i].left;
            break;
        }
    }
    if (in_recovery_ && after_rto_) lost_end_ = seq_max(lost_end_, recovery_point_);
    if (in_recovery_ && stalled_) lost_end_ = seq_max(lost_end_, stalled_lost_end_);
}

void Scoreboard::mark_stalled_lost() {
    if (!in_recovery_) return;
    stalled_ = true;
    stalled_lost_end_ = seq_max(high_sacked(), high_ack_);
    for (std::uint32_t i = 0; i < num_rxt_; ++i) {
        if (!rxt_[i].lost) {
            rxt_[i].lost = true;
            ++lost_retransmissions_;
        }
    }
    recompute_lost_end();
}

void Scoreboard::detect_lost_retransmissions(std::uint32_t smss) {
    for (std::uint32_t i = 0; i < num_rxt_; ++i) {
        Retransmission& r = rxt_[i];
        if (r.lost) continue;
        // Bytes first sent after this retransmission went out: all of them
        // lie above HighData as it was then.
        std::uint32_t bytes = 0;
        std::uint32_t num = 0;
        sacked_above(r.high_data_at_send - 1, bytes, num);
        if (num >= kDupThresh || bytes > (kDupThresh - 1) * smss) {
            r.lost = true;
            ++lost_retransmissions_;
        }
    }
}

bool Scoreboard::is_lost(SeqNum seq) const {
    return seq_in_range(high_ack_, seq, lost_end_) && !is_sacked(seq);
}

bool Scoreboard::is_sacked(SeqNum seq) const {
    for (std::uint32_t i = 0; i < num_blocks_; ++i)
        if (seq_in_range(blocks_[i].left, seq, blocks_[i].right)) return true;
    return false;
}

std::uint32_t Scoreboard::sacked_bytes() const {
    std::uint32_t total = 0;
    for (std::uint32_t i = 0; i < num_blocks_; ++i)
        total += seq_dist(blocks_[i].left, blocks_[i].right);
    return total;
}

std::uint32_t Scoreboard::unsacked_len(SeqNum left, SeqNum right) const {
    if (!(left < right)) return 0;
    std::uint32_t len = seq_dist(left, right);
    for (std::uint32_t i = 0; i < num_blocks_; ++i) {
        const SeqNum l = seq_max(left, blocks_[i].left);
        const SeqNum r = seq_min(right, blocks_[i].right);
        if (l < r) len -= seq_dist(l, r);
    }
    return len;
}

SeqNum Scoreboard::first_unsacked(SeqNum seq) const {
    for (std::uint32_t i = 0; i < num_blocks_; ++i) {
        const SackBlock& b = blocks_[i];
        if (b.right <= seq) continue;
        if (b.left <= seq) {
            seq = b.right;
            continue;
        }
        break;
    }
    return seq;
}

std::uint32_t Scoreboard::hole_len(SeqNum seq, SeqNum limit, std::uint32_t smss) const {
    SeqNum end = seq_min(limit, high_data_);
    for (std::uint32_t i = 0; i < num_blocks_; ++i) {
        if (blocks_[i].left > seq) {
            end = seq_min(end, blocks_[i].left);
            break;
        }
    }
    if (!(seq < end)) return 0;
    return std::min(smss, seq_dist(seq, end));
}

std::uint32_t Scoreboard::pipe() const {
    // §4 SetPipe(): for every unSACKed octet between HighACK and HighData,
    // one if it is not lost, and one more if it was retransmitted.
    std::uint32_t pipe = 0;
    SeqNum s = high_ack_;
    for (std::uint32_t i = 0; i <= num_blocks_; ++i) {
        const SeqNum e = i < num_blocks_ ? seq_min(blocks_[i].left, high_data_) : high_data_;
        if (s < e) {
            if (e > lost_end_) pipe += seq_dist(seq_max(s, lost_end_), e);
            if (high_rxt_ > s) pipe += seq_dist(s, seq_min(e, high_rxt_));
        }
        if (i < num_blocks_) s = seq_max(s, blocks_[i].right);
    }
    // A retransmission detected lost is no longer in the network.
    for (std::uint32_t i = 0; i < num_rxt_; ++i) {
        if (!rxt_[i].lost) continue;
        const std::uint32_t gone =
            unsacked_len(seq_max(rxt_[i].left, high_ack_), seq_min(rxt_[i].right, high_rxt_));
        pipe = pipe > gone ? pipe - gone : 0;
    }
    return pipe;
}

Scoreboard::Next Scoreboard::next_seg(bool new_data_ok, std::uint32_t smss) const {
    // Lost retransmissions first: they are the oldest holes.
    const Retransmission* lowest = nullptr;
    for (std::uint32_t i = 0; i < num_rxt_; ++i) {
        if (rxt_[i].lost && (lowest == nullptr || rxt_[i].left < lowest->left)) lowest = &rxt_[i];
    }
    if (lowest != nullptr) {
        const SeqNum s = first_unsacked(seq_max(lowest->left, high_ack_));
        if (s < lowest->right) return {Rule::kLostAgain, s, hole_len(s, lowest->right, smss)};
    }
    const SeqNum from = first_unsacked(seq_max(high_rxt_, high_ack_));
    // Rule 1: (1.a) above HighRxt, (1.b) below the highest SACKed octet,
    // (1.c) IsLost. After an RTO every byte below RecoveryPoint is lost,
    // SACKed above or not (§5.1).
    const SeqNum limit1 =
        after_rto() ? seq_min(lost_end_, high_data_) : seq_min(lost_end_, high_sacked());
    if (from < limit1) {
        const std::uint32_t len = hole_len(from, high_data_, smss);
        if (len > 0) return {Rule::kLost, from, len};
    }
    // Rule 2: new data.
    if (new_data_ok) return {Rule::kNewData, high_data_, 0};
    if (!in_recovery_ || after_rto_) return {};
    // Rule 3: (1.a) and (1.b) without (1.c).
    if (from < high_sacked()) {
        const std::uint32_t len = hole_len(from, high_data_, smss);
        if (len > 0) return {Rule::kUnsacked, from, len};
    }
    // Rule 4: once per recovery, the segment holding the highest
    // outstanding unSACKed byte (a tail loss that no SACK can reveal).
    if (!rescue_valid_ || high_ack_ > rescue_rxt_) {
        SeqNum end = high_data_;
        SeqNum hole_start = high_ack_;
        if (num_blocks_ > 0 && blocks_[num_blocks_ - 1].right == high_data_) {
            end = blocks_[num_blocks_ - 1].left;
            if (num_blocks_ > 1) hole_start = blocks_[num_blocks_ - 2].right;
        } else if (num_blocks_ > 0) {
            hole_start = blocks_[num_blocks_ - 1].right;
        }
        if (hole_start < end) {
            const SeqNum start = seq_dist(hole_start, end) > smss ? end - smss : hole_start;
            return {Rule::kRescue, start, seq_dist(start, end)};
        }
    }
    return {};
}

void Scoreboard::on_retransmit(Rule rule, SeqNum seq, std::uint32_t len) {
    const SeqNum end = seq + len;
    switch (rule) {
        case Rule::kLostAgain:
            for (std::uint32_t i = 0; i < num_rxt_; ++i) {
                if (rxt_[i].lost && rxt_[i].left <= seq && seq < rxt_[i].right) {
                    rxt_[i].high_data_at_send = high_data_;
                    rxt_[i].lost = false;
                    break;
                }
            }
            return;
        case Rule::kRescue:
            // (4): RescueRxt = RecoveryPoint; HighRxt MUST NOT move.
            rescue_rxt_ = recovery_point_;
            rescue_valid_ = true;
            return;
        case Rule::kNewData:
            return;
        case Rule::kNone:
            // §5 step 4.3: HighRxt and RescueRxt both cover the first
            // retransmission.
            rescue_rxt_ = end;
            rescue_valid_ = true;
            [[fallthrough]];
        case Rule::kLost:
        case Rule::kUnsacked:
            high_rxt_ = seq_max(high_rxt_, end);
            if (num_rxt_ < kMaxRetransmissions) rxt_[num_rxt_++] = {seq, end, high_data_, false};
            return;
    }
}

void Scoreboard::enter_recovery() {
    in_recovery_ = true;
    after_rto_ = false;
    stalled_ = false;
    recovery_point_ = high_data_;
    high_rxt_ = high_ack_;
    rescue_valid_ = false;
    num_rxt_ = 0;
}

void Scoreboard::on_rto() {
    in_recovery_ = true;
    after_rto_ = true;
    stalled_ = false;
    recovery_point_ = high_data_;
    // Everything outstanding is lost and nothing counts as retransmitted;
    // the SACKed ranges stay, so they are not sent again.
    high_rxt_ = high_ack_;
    rescue_valid_ = false;
    num_rxt_ = 0;
    lost_end_ = seq_max(lost_end_, recovery_point_);
}

bool Scoreboard::maybe_exit_recovery() {
    if (!in_recovery_ || high_ack_ < recovery_point_) return false;
    in_recovery_ = false;
    after_rto_ = false;
    stalled_ = false;
    rescue_valid_ = false;
    num_rxt_ = 0;
    recompute_lost_end();
    return true;
}

}  // namespace l45::tcp
