// The sender's SACK scoreboard and the decisions of RFC 6675 loss recovery.
//
// Read first: RFC 6675 §2 (definitions: HighACK, HighData, HighRxt,
// RescueRxt, Pipe, DupThresh), §4 (Update, IsLost, SetPipe, NextSeg), §5
// (entering recovery, steps A-C), §5.1 (retransmission timeouts); RFC 2018
// §3-§5 (what a SACK block says and that a receiver may renege on it).
//
// Sans-IO and allocation-free: fixed arrays sized at compile time; every
// call takes the sequence numbers it needs. The connection (connection.cc)
// owns the congestion window and the sending; this class only answers "what
// is SACKed, what is lost, how much is in the network, what goes next".
//
// Sequence ranges are half-open [left, right). The RFC's inclusive
// "highest octet" variables are kept as exclusive ends: high_rxt() is the
// sequence number after the highest octet retransmitted.
//
// Beyond RFC 6675 (which leaves a lost retransmission to the RTO): every
// retransmission is remembered with HighData at the time it was sent. Once
// more than (DupThresh - 1) * SMSS bytes, or DupThresh separate blocks, sent
// after it are SACKed while it is still a hole, it is lost again (the test
// Linux's tcp_mark_lost_retrans and RFC 8985 RACK apply in their own
// terms) and NextSeg offers it once more. Without this, every lost
// retransmission costs a retransmission timeout.
#pragma once

#include <cstdint>
#include <span>

#include "stack/tcp/header.h"
#include "stack/tcp/seq.h"

namespace l45::tcp {

class Scoreboard {
  public:
    // SACKed ranges remembered above HighACK. A window of 256 KiB in 1460-byte
    // segments with independent losses has a few dozen holes at 10% loss;
    // when the array is full the block furthest above HighACK is forgotten
    // (it is reported again, or acknowledged cumulatively, later).
    static constexpr std::uint32_t kMaxBlocks = 64;
    // Retransmissions tracked for lost-retransmission detection; when full,
    // a retransmission goes untracked and only the RTO repairs its loss.
    static constexpr std::uint32_t kMaxRetransmissions = 64;
    static constexpr std::uint32_t kDupThresh = 3;  // RFC 6675 §2, RFC 5681 §3.2

    enum class Rule : std::uint8_t {
        kNone,
        kLostAgain,  // a retransmission detected lost (the extension above)
        kLost,       // §4 NextSeg (1): the first lost hole above HighRxt
        kNewData,    // (2): previously unsent data, HighData onwards
        kUnsacked,   // (3): an unSACKed hole not yet known to be lost
        kRescue,     // (4): one rescue retransmission per recovery
    };
    struct Next {
        Rule rule = Rule::kNone;
        SeqNum seq;
        std::uint32_t len = 0;  // at most SMSS; 0 for kNewData (the caller sizes it)
    };

    // A new connection (or reuse of the slot).
    void clear();

    // §4 Update(): merges the blocks of one ACK into the scoreboard after
    // moving HighACK to `high_ack` (everything below is forgotten) and
    // HighData to `high_data`. Blocks outside (high_ack, high_data] are
    // ignored (D-SACKs, RFC 2883, and stale reports). Returns the number of
    // bytes SACKed for the first time by this ACK.
    std::uint32_t update(SeqNum high_ack, SeqNum high_data, std::span<const SackBlock> blocks,
                         std::uint32_t smss);
    // HighData moved: new data went out.
    void sent_new_data(SeqNum high_data) { high_data_ = high_data; }

    // §4 IsLost(seq): DupThresh discontiguous SACKed ranges, or more than
    // (DupThresh - 1) * SMSS SACKed bytes, lie above seq. After an RTO
    // every unSACKed byte below the recovery point counts as lost (§5.1).
    [[nodiscard]] bool is_lost(SeqNum seq) const;
    // §4 SetPipe(): the octets estimated to be in the network.
    [[nodiscard]] std::uint32_t pipe() const;
    // §4 NextSeg() rules 1-4 (plus lost retransmissions first).
    // `new_data_ok`: unsent data exists and the peer's window admits it.
    [[nodiscard]] Next next_seg(bool new_data_ok, std::uint32_t smss) const;
    // The caller sent `len` bytes at `seq` as NextSeg proposed (rule kNone
    // for a retransmission chosen by the caller, as in §5 step 4.3).
    void on_retransmit(Rule rule, SeqNum seq, std::uint32_t len);

    // §5 step 4: enter loss recovery; RecoveryPoint = HighData.
    void enter_recovery();
    // §5.1: a retransmission timeout. The SACK information stays, but every
    // outstanding byte counts as lost and not yet retransmitted; recovery
    // lasts until HighACK reaches the new RecoveryPoint (= HighData).
    void on_rto();
    // Recovery stalled (no ACK for a PTO; see Connection::on_tlp_timeout):
    // as RFC 8985 RACK would once its reordering window expired, every
    // unSACKed byte below the highest SACKed one is lost (it was sent
    // before data that arrived), and so is every tracked retransmission.
    void mark_stalled_lost();
    // §5 step A: HighACK covers RecoveryPoint. Returns true when a recovery
    // (fast or after an RTO) ended by this call.
    bool maybe_exit_recovery();

    [[nodiscard]] bool in_recovery() const { return in_recovery_; }
    [[nodiscard]] bool after_rto() const { return in_recovery_ && after_rto_; }
    [[nodiscard]] SeqNum recovery_point() const { return recovery_point_; }
    [[nodiscard]] SeqNum high_ack() const { return high_ack_; }
    [[nodiscard]] SeqNum high_data() const { return high_data_; }
    [[nodiscard]] SeqNum high_rxt() const { return high_rxt_; }
    [[nodiscard]] SeqNum high_sacked() const {
        return num_blocks_ ? blocks_[num_blocks_ - 1].right : high_ack_;
    }
    // The end of the highest unSACKed range below HighData.
    [[nodiscard]] SeqNum highest_unsacked_end() const {
        return num_blocks_ && blocks_[num_blocks_ - 1].right == high_data_
                   ? blocks_[num_blocks_ - 1].left
                   : high_data_;
    }
    [[nodiscard]] std::uint32_t num_blocks() const { return num_blocks_; }
    [[nodiscard]] SackBlock block(std::uint32_t i) const { return blocks_[i]; }
    [[nodiscard]] std::uint32_t sacked_bytes() const;
    // The length of a retransmission at seq: up to smss, up to the next
    // SACKed block, up to HighData.
    [[nodiscard]] std::uint32_t retransmit_len(SeqNum seq, std::uint32_t smss) const {
        return hole_len(seq, high_data_, smss);
    }
    [[nodiscard]] bool is_sacked(SeqNum seq) const;
    [[nodiscard]] std::uint32_t num_tracked_retransmissions() const { return num_rxt_; }
    [[nodiscard]] std::uint64_t lost_retransmissions() const { return lost_retransmissions_; }

  private:
    struct Retransmission {
        SeqNum left, right;
        SeqNum high_data_at_send;  // data above this was sent after it
        bool lost = false;
    };

    void add_block(SackBlock b);
    void recompute_lost_end();
    void detect_lost_retransmissions(std::uint32_t smss);
    // SACKed bytes and separate blocks strictly above seq.
    void sacked_above(SeqNum seq, std::uint32_t& out_bytes, std::uint32_t& out_blocks) const;
    // Bytes of [left, right) not covered by any block.
    [[nodiscard]] std::uint32_t unsacked_len(SeqNum left, SeqNum right) const;
    // The first unSACKed sequence number at or after seq (high_data_ if none).
    [[nodiscard]] SeqNum first_unsacked(SeqNum seq) const;
    // From an unSACKed seq: the segment up to smss, up to the next block.
    [[nodiscard]] std::uint32_t hole_len(SeqNum seq, SeqNum limit, std::uint32_t smss) const;

    SackBlock blocks_[kMaxBlocks];  // sorted, disjoint, non-adjacent, above high_ack_
    std::uint32_t num_blocks_ = 0;
    Retransmission rxt_[kMaxRetransmissions];
    std::uint32_t num_rxt_ = 0;

    SeqNum high_ack_, high_data_;
    SeqNum high_rxt_;  // exclusive end of the highest retransmitted octet
    SeqNum rescue_rxt_;
    bool rescue_valid_ = false;
    SeqNum lost_end_;       // unSACKed bytes below this are lost (IsLost is monotone)
    bool started_ = false;  // high_ack_ set by a first update()
    bool in_recovery_ = false;
    bool after_rto_ = false;
    bool stalled_ = false;  // mark_stalled_lost() in this recovery
    SeqNum stalled_lost_end_;
    SeqNum recovery_point_;
    std::uint64_t lost_retransmissions_ = 0;
    std::uint32_t smss_ = 536;
};

}  // namespace l45::tcp
