// TIME-WAIT without a connection slot: a compact, bounded table of the
// 4-tuples the stack must keep answering for 2*MSL after an active close.
//
// Read first: RFC 9293 §3.4.2 (why 2*MSL: old duplicates of this
// incarnation must die before the tuple is reused), §3.6.1 and §3.10.7.4
// (what arrives in TIME-WAIT: a retransmitted FIN, ACKed and the timer
// restarted), RFC 6191 §2 (a new SYN may reopen the tuple early, decided by
// timestamps or, without them, by the sequence number), RFC 1337 (the
// TIME-WAIT assassination hazards of honouring a RST), RFC 5961 §4 and §7
// (challenge ACKs to SYNs, and their rate limit), RFC 7323 §5.3 (PAWS).
//
// A Connection slot carries queues and congestion state of a few hundred
// bytes plus its buffers; a TIME-WAIT entry needs only what answers the
// peer: the tuple, SND.NXT/RCV.NXT, the window field, TS.Recent and the
// timestamp clock offset, and the expiry: 48 bytes. The table is fixed at
// construction (no allocation afterwards) and bounded: when full, the
// oldest entry is evicted early and counted (RFC 9293 §3.4.2 lets a host
// cut TIME-WAIT short when it has to; the risk is an old duplicate reaching
// a new incarnation of that tuple, which PAWS and the ISN clock make
// unlikely).
#pragma once

#include <cstdint>
#include <memory>

#include "stack/tcp/connection.h"

namespace l45::tcp {

// What a connection hands over when it enters TIME-WAIT.
struct TimeWaitState {
    FourTuple tuple;
    SeqNum snd_nxt;            // the sequence number of our ACKs (after our FIN)
    SeqNum rcv_nxt;            // after the peer's FIN
    std::uint16_t window = 0;  // the window field of our ACKs (already shifted)
    bool ts_enabled = false;
    std::uint32_t ts_recent = 0;
    std::uint32_t ts_offset = 0;  // our TSval clock: ms + ts_offset (RFC 7323 §5.4)
};

// The TIME-WAIT view of a connection that just entered TIME-WAIT.
[[nodiscard]] TimeWaitState time_wait_state_of(const Connection& c);

class TimeWaitTable {
  public:
    // Allocates everything here. capacity 0 means no TIME-WAIT at all
    // (every insert is an immediate eviction).
    TimeWaitTable(std::uint32_t capacity, const IsnGenerator& keys, TcpCounters& counters);
    TimeWaitTable(const TimeWaitTable&) = delete;
    TimeWaitTable& operator=(const TimeWaitTable&) = delete;

    // A new entry living `lifetime` (2*MSL) from now. When the table is
    // full the oldest entry is evicted first (time_wait_evicted).
    void insert(Instant now, Duration lifetime, const TimeWaitState& s);
    // Removes every entry whose 2*MSL has run out (expiry <= now). The
    // stack calls it at each entry point, so lookups after it are exact and
    // no timer is needed (nothing is sent when TIME-WAIT ends).
    void expire(Instant now);
    [[nodiscard]] bool contains(const FourTuple& tuple) const { return find(tuple) != kNone; }
    [[nodiscard]] std::uint32_t size() const { return num_entries_; }
    [[nodiscard]] std::uint32_t capacity() const { return capacity_; }

    enum class Verdict : std::uint8_t {
        kNotFound,  // no entry: the segment goes on to the listeners
        kConsumed,  // answered (or dropped) here
        kReopen,    // a new SYN took the tuple over (RFC 6191): entry gone,
                    // the SYN goes to the listener
    };
    // RFC 9293 §3.10.7.4 for TIME-WAIT, on the compact entry. `listening`
    // says whether a listener would take a reopening SYN. Answers go out
    // through env.sink; env.challenge_limiter bounds them (RFC 5961 §7).
    [[nodiscard]] Verdict on_segment(Instant now, const FourTuple& tuple, const TcpRepr& seg,
                                     const TcpEnv& env, bool listening);

  private:
    static constexpr std::uint32_t kNone = 0xffffffffu;

    // 48 bytes. The tuple is flattened (FourTuple pads to 16 bytes).
    struct Entry {
        std::uint32_t local_addr = 0;
        std::uint32_t remote_addr = 0;
        std::uint16_t local_port = 0;
        std::uint16_t remote_port = 0;
        std::uint16_t window = 0;
        bool ts_enabled = false;
        bool live = false;
        std::uint32_t snd_nxt = 0;
        std::uint32_t rcv_nxt = 0;
        std::uint32_t ts_recent = 0;
        std::uint32_t ts_offset = 0;
        Instant expiry{};
        // The FIFO (oldest to newest) as entry indices; `newer` also links
        // the free list.
        std::uint32_t older = kNone;
        std::uint32_t newer = kNone;
    };
    static_assert(sizeof(Entry) == 48, "keep TIME-WAIT entries compact");

    [[nodiscard]] static FourTuple tuple_of(const Entry& e);
    [[nodiscard]] std::uint32_t home(const FourTuple& tuple) const;
    [[nodiscard]] std::uint32_t find(const FourTuple& tuple) const;
    void hash_insert(std::uint32_t idx);
    void hash_remove(std::uint32_t idx);
    void unlink(std::uint32_t idx);
    void link_newest(std::uint32_t idx);
    void remove(std::uint32_t idx);
    // RFC 6191 §2: may a SYN take this tuple over?
    [[nodiscard]] static bool may_reopen(const Entry& e, const TcpRepr& syn, const TcpConfig& cfg);
    // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with timestamps if they were on.
    void send_ack(Instant now, const Entry& e, const TcpEnv& env) const;

    const IsnGenerator& keys_;
    TcpCounters& counters_;
    std::uint32_t capacity_;
    std::unique_ptr<Entry[]> entries_;
    std::uint32_t free_head_ = kNone;
    std::uint32_t oldest_ = kNone;
    std::uint32_t newest_ = kNone;
    std::uint32_t num_entries_ = 0;
    std::unique_ptr<std::uint32_t[]> table_;  // open addressing: entry index or kNone
    std::uint32_t table_mask_ = 0;
};

}  // namespace l45::tcp
