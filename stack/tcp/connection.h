// l45 TCP — notes (the README of stack/tcp/)
// ==========================================
// A sans-IO, per-lcore TCP core. Nothing here reads a clock, draws
// randomness on its own, or touches a NIC: `now` is an argument, ISNs come
// from an injected keyed generator, and segments leave through SegmentSink.
//
// Files and the RFC sections they implement:
//   seq.h          RFC 9293 §3.4, RFC 1982: sequence numbers modulo 2^32.
//   header.{h,cc}  RFC 9293 §3.1-3.2 header and options (malformed option
//                  lengths drop the segment), RFC 7323 §2-3 window scale and
//                  timestamps, RFC 2018 SACK options, RFC 1071 checksum with
//                  the IPv4 pseudo-header.
//   buffer.{h,cc}  mbuf-backed send/receive queues (zero copy on receive) and
//                  the bounded out-of-order queue (256 segments by default:
//                  a 256 KiB window) with RFC 2018 §4 block order.
//   scoreboard.{h,cc} RFC 6675 SACK scoreboard: Update, IsLost, SetPipe,
//                  NextSeg rules 1-4, HighRxt/RescueRxt/RecoveryPoint, §5.1;
//                  plus lost-retransmission detection.
//   congestion.{h,cc} RFC 5681 + RFC 3465 NewReno and RFC 9438 CUBIC (the
//                  default) behind CongestionControl.
//   isn.{h,cc}     RFC 6528 ISN with SipHash-2-4 keyed from l45::Random.
//   connection.{h,cc} the TCB and the RFC 9293 §3.10 event processing:
//                  OPEN/SEND/RECEIVE/CLOSE/ABORT (§3.10.1-3.10.5), SEGMENT
//                  ARRIVES in the RFC's order (§3.10.7), timeouts (§3.10.8);
//                  RFC 5961 (challenge ACKs, ACK range check, rate limit),
//                  RFC 7323 §5 PAWS, RFC 6298 RTO, RFC 6675 SACK loss
//                  recovery (RFC 5681 §3.2 + RFC 6582 NewReno for peers
//                  without SACK), RFC 8985 §7 tail loss probe, RFC 3042
//                  limited transmit, RFC 6928 IW10, RFC 9293
//                  §3.8.6.1 zero-window probing, §3.8.6.2 SWS avoidance and
//                  Nagle, §3.8.6.3 delayed ACK, §3.8.4 keep-alive.
//   timer_heap.h   an indexed min-heap of per-connection deadlines.
//   time_wait.{h,cc} the compact, bounded TIME-WAIT table (RFC 9293 §3.4.2,
//                  §3.10.7.4; RFC 6191 reopening; RFC 5961 challenge ACKs):
//                  48-byte entries, FIFO expiry, oldest evicted when full.
//   stack.{h,cc}   per-lcore TcpStack: connection table keyed by 4-tuple,
//                  listen table, timers, event-driven application API,
//                  RFC 9293 §3.10.7.1 resets for segments to no connection,
//                  RFC 4987 §3.6 SYN cookies once a listener's backlog is full
//                  (with timestamps, window scale and SACK ride in the
//                  TSval as Linux does), the hand-off to TIME-WAIT.
//   interface_adapter.h  glue to l45::net::Interface (L4Handler/send_ipv4).
//
// Not done yet (next sessions):
// - RFC 8985 RACK's time-based loss detection (per-segment send times):
//   today a PTO without an ACK during recovery marks the holes below the
//   highest SACK lost (a coarse RACK), and TLP's congestion response
//   (§7.4) is not applied; D-SACK (RFC 2883) is neither sent nor used, so
//   spurious retransmissions are never undone; PRR (RFC 6937): recovery
//   sends per RFC 6675's cwnd - pipe;
// - HyStart++ (RFC 9406), ECN;
// - SYN cookies without timestamps keep only the MSS (no room for window
//   scale or SACK; Linux does the same); the first RTT sample of a cookie
//   connection may read up to 63 ms long (the TSval was rounded down);
// - the TIME-WAIT table is bounded (TcpStackConfig::max_time_wait): beyond
//   it the oldest entries are cut short (counted in time_wait_evicted);
//   Connection still implements TIME-WAIT itself for callers without a
//   TcpStack (tests/tcp/test_connection.cc);
// - zero-copy transmit (segments copy payload out of the send queue; the
//   copy resumes where the previous segment's ended), TSO; TX checksum offload is a config
//   flag not yet exercised on a NIC;
// - urgent data (ignored, §3.8.5), TFO (RFC 7413), IPv6, PMTU discovery;
// - InterfaceAdapter has run only between two Interfaces in memory (tests).
// Tests: tests/tcp/ (fake-clock connection tests, test_scoreboard.cc and
// test_recovery.cc for loss recovery, test_time_wait.cc and
// test_syn_cookie.cc against a scripted peer, two stacks back to back over a
// faulty in-memory wire, fuzz_segment.cc for libFuzzer); tests/tcp_wire/
// (two stacks over the net_ring wire with loss, reordering, duplication).
//
// Read first for this file: RFC 9293 §3.3.1-3.3.2 (TCB variables, the
// state diagram), §3.10 (event processing, the order followed here), RFC
// 5961 §3-5, RFC 6298 §2-5, RFC 7323 §4-5, RFC 5681 §3-4, RFC 6675 §5,
// RFC 8985 §7.
#pragma once

#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <limits>

#include "stack/base/clock.h"
#include "stack/base/mbuf.h"
#include "stack/tcp/buffer.h"
#include "stack/tcp/congestion.h"
#include "stack/tcp/header.h"
#include "stack/tcp/isn.h"
#include "stack/tcp/scoreboard.h"
#include "stack/tcp/seq.h"

namespace l45::tcp {

using namespace std::chrono_literals;

// RFC 9293 §3.3.2: the eleven states.
enum class State : std::uint8_t {
    kClosed,
    kListen,
    kSynSent,
    kSynReceived,
    kEstablished,
    kFinWait1,
    kFinWait2,
    kCloseWait,
    kClosing,
    kLastAck,
    kTimeWait,
};
[[nodiscard]] const char* to_string(State s);

enum class CloseReason : std::uint8_t {
    kNormal,   // both FINs exchanged (or TIME_WAIT/FIN_WAIT_2 ran out)
    kReset,    // the peer reset the connection
    kRefused,  // RST in SYN-SENT
    kTimeout,  // retransmissions or keep-alive probes unanswered
    kAborted,  // the application aborted
};
[[nodiscard]] const char* to_string(CloseReason r);

struct Endpoint {
    net::Ipv4Addr addr;
    std::uint16_t port = 0;
    friend constexpr bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct FourTuple {
    Endpoint local;
    Endpoint remote;
    friend constexpr bool operator==(const FourTuple&, const FourTuple&) = default;
};

// Where segments go: the L3 adapter in production, a capture in tests.
// m's data starts at the TCP header, checksum filled (or left to the NIC),
// with headroom for the IP and Ethernet headers.
class SegmentSink {
  public:
    virtual ~SegmentSink() = default;
    virtual void send_segment(Instant now, net::Ipv4Addr src, net::Ipv4Addr dst, MbufPtr m) = 0;
};

enum class CongestionAlgo : std::uint8_t { kNewReno, kCubic };

struct TcpConfig {
    CongestionAlgo congestion = CongestionAlgo::kCubic;
    std::uint16_t mss = 1460;                // announced; MTU 1500 minus 40
    std::uint32_t rcv_buf_len = 256 * 1024;  // receive window at most this
    std::uint32_t snd_buf_len = 256 * 1024;
    std::uint32_t rx_queue_slots = 512;  // mbufs held in the receive queue
    std::uint32_t tx_queue_slots = 512;
    // Segments held above a hole (at most OooQueue::kMaxSlots, 24 bytes of
    // slot each): enough for a 256 KiB window of 1460-byte segments.
    std::uint32_t ooo_slots = 256;
    bool window_scaling = true;
    bool sack = true;
    bool timestamps = true;
    bool nagle = true;
    bool delayed_ack = true;
    Duration delayed_ack_timeout = 40ms;         // RFC 9293 §3.8.6.3: < 0.5 s
    std::uint32_t initial_window_segments = 10;  // RFC 6928
    Duration rto_initial = 1s;                   // RFC 6298 §2.1
    Duration rto_min = 200ms;                    // RFC 6298 §2.4 says 1 s; Linux uses 200 ms
    Duration rto_max = 60s;                      // RFC 6298 §2.5
    std::uint32_t max_retransmissions = 15;      // RFC 9293 §3.8.3 R2
    std::uint32_t max_syn_retransmissions = 6;
    bool tail_loss_probe = true;       // RFC 8985 §7 TLP (with SACK only)
    Duration tlp_min = 10ms;           // PTO floor (Linux uses the same)
    Duration msl = 30s;                // TIME_WAIT lasts 2*MSL (RFC 9293 §3.4.2)
    Duration fin_wait2_timeout = 60s;  // only once the application closed
    bool keepalive = false;            // RFC 9293 §3.8.4: off by default
    Duration keepalive_idle = 7200s;   // MUST default to no less than 2 h
    Duration keepalive_interval = 75s;
    std::uint32_t keepalive_probes = 9;
    Duration persist_max = 60s;
    std::uint32_t challenge_acks_per_second = 1000;  // RFC 5961 §7
    bool tx_checksum_offload = false;                // leave the checksum to the NIC
};

struct TcpCounters {
    std::uint64_t segments_in = 0;
    std::uint64_t segments_out = 0;
    std::uint64_t bad_header = 0;
    std::uint64_t bad_option = 0;
    std::uint64_t bad_checksum = 0;
    std::uint64_t no_connection = 0;  // answered with RST (or dropped if RST)
    std::uint64_t resets_sent = 0;
    std::uint64_t resets_received = 0;
    std::uint64_t challenge_acks = 0;
    std::uint64_t challenge_acks_suppressed = 0;
    std::uint64_t paws_rejected = 0;
    std::uint64_t missing_timestamp = 0;
    std::uint64_t out_of_window = 0;
    std::uint64_t ack_out_of_range = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t rto_timeouts = 0;
    std::uint64_t fast_retransmits = 0;
    std::uint64_t sack_retransmits = 0;  // RFC 6675 NextSeg retransmissions
    std::uint64_t lost_retransmits = 0;  // retransmissions detected lost by SACK
    std::uint64_t tlp_probes = 0;        // RFC 8985 tail loss probes sent
    std::uint64_t recovery_stalls = 0;   // SACK recovery without an ACK for a PTO
    std::uint64_t ooo_queued = 0;
    std::uint64_t ooo_dropped = 0;
    std::uint64_t rx_queue_full = 0;
    std::uint64_t mbuf_alloc_failed = 0;
    std::uint64_t syn_backlog_drops = 0;
    std::uint64_t syn_cookies_sent = 0;
    std::uint64_t syn_cookies_accepted = 0;
    std::uint64_t syn_cookies_rejected = 0;
    std::uint64_t table_full = 0;
    std::uint64_t window_probes = 0;
    std::uint64_t keepalive_probes = 0;
    // The TIME-WAIT table (time_wait.h).
    std::uint64_t time_wait_entries = 0;   // current number, not a running count
    std::uint64_t time_wait_expired = 0;   // served their 2*MSL
    std::uint64_t time_wait_evicted = 0;   // cut short because the table was full
    std::uint64_t time_wait_reopened = 0;  // taken over by a new SYN (RFC 6191)
    std::uint64_t time_wait_resets = 0;    // removed by a RST
    std::uint64_t time_wait_fin_acks = 0;  // retransmitted FINs ACKed (timer restarted)
    std::uint64_t time_wait_acks = 0;      // other segments answered with an ACK
    std::uint64_t time_wait_dropped = 0;   // segments dropped without an answer
};

// RFC 5961 §7: a stack-wide limit on challenge ACKs per second.
class ChallengeAckLimiter {
  public:
    [[nodiscard]] bool allow(Instant now, std::uint32_t per_second) {
        if (now - window_start_ >= 1s || now < window_start_) {
            window_start_ = now;
            count_ = 0;
        }
        if (count_ >= per_second) return false;
        ++count_;
        return true;
    }

  private:
    Instant window_start_{};
    std::uint32_t count_ = 0;
};

// What connections of one stack share (owned by the stack or the test).
struct TcpEnv {
    const TcpConfig* config = nullptr;
    SegmentSink* sink = nullptr;
    rte_mempool* pool = nullptr;
    const IsnGenerator* isn = nullptr;
    TcpCounters* counters = nullptr;
    ChallengeAckLimiter* challenge_limiter = nullptr;
};

// Event bits the stack turns into application callbacks.
namespace event {
inline constexpr std::uint8_t kConnected = 0x01;  // reached ESTABLISHED
inline constexpr std::uint8_t kReadable = 0x02;   // new data or the peer's FIN
inline constexpr std::uint8_t kWritable = 0x04;   // send space freed after a short send
inline constexpr std::uint8_t kClosed = 0x08;     // reached CLOSED; see close_reason()
}  // namespace event

inline constexpr Instant kNever = Instant::max();

// Builds and sends one segment described by `repr` (payload copied from
// `payload` if non-empty). Used for RSTs to segments without a connection.
bool send_bare_segment(const TcpEnv& env, Instant now, net::Ipv4Addr src, net::Ipv4Addr dst,
                       const TcpRepr& repr);
// RFC 7323 §2.3: the shift that lets a window of buf_len bytes fit 16 bits.
[[nodiscard]] std::uint8_t wscale_for(std::uint32_t buf_len);
// RFC 9293 §3.10.7.1: the reset answering `seg` when no connection exists.
// False (nothing to send) when seg is itself a RST.
[[nodiscard]] bool reset_for(const TcpRepr& seg, TcpRepr& out_rst);

class Connection {
  public:
    explicit Connection(const TcpEnv& env);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // --- OPEN (RFC 9293 §3.10.1) ---
    // Passive: LISTEN on `local`; the first SYN binds the remote end.
    void listen(const Endpoint& local);
    // Active: sends a SYN (SYN-SENT). The ISN comes from the env's generator.
    void connect(Instant now, const FourTuple& tuple);

    // A connection whose SYN-ACK was a SYN cookie (RFC 4987 §3.6): the TCB
    // is rebuilt in SYN-RECEIVED from the returning ACK, which is then fed
    // to on_segment. `syn_options` are the SYN's options as the cookie
    // recovered them (the stack: the MSS always; window scale, SACK and
    // timestamps only when the SYN had timestamps, with the ACK's TSval and
    // TSecr as the timestamps). `advertised_window` is the SYN-ACK's
    // (unscaled) window.
    void open_from_cookie(const FourTuple& tuple, SeqNum iss, SeqNum irs,
                          const TcpOptions& syn_options, std::uint16_t advertised_window);

    // --- SEGMENT ARRIVES (RFC 9293 §3.10.7) ---
    // `seg` was parsed from m; its payload is bytes [payload_offset,
    // payload_offset + seg.payload_len) of m. The checksum was verified.
    // src/dst are the IP addresses (used in LISTEN to bind the connection).
    void on_segment(Instant now, net::Ipv4Addr src, net::Ipv4Addr dst, const TcpRepr& seg,
                    MbufPtr m, std::uint32_t payload_offset);

    // Runs expired timers and sends what may be sent now.
    void poll(Instant now);
    // The earliest instant poll() has something to do (kNever if none).
    [[nodiscard]] Instant poll_at() const;
    // True when application calls queued output that poll() should send.
    [[nodiscard]] bool wants_output() const { return tcb_.output_pending; }

    // --- SEND / RECEIVE / CLOSE / ABORT (RFC 9293 §3.10.2-3.10.5) ---
    // Copies up to data.size() bytes into the send buffer; returns how many.
    [[nodiscard]] std::uint32_t send(ByteSpan data);
    // Takes bytes [offset, offset+len) of m (zero copy); false when the
    // buffer has no room (m stays with the caller).
    [[nodiscard]] bool send_mbuf(MbufPtr& m, std::uint32_t offset, std::uint32_t len);
    [[nodiscard]] std::uint32_t send_space() const;
    // Copies up to out.size() received bytes; returns how many.
    [[nodiscard]] std::uint32_t recv(MutableByteSpan out);
    // Zero copy: the contiguous received bytes at the front, then consume().
    [[nodiscard]] ByteSpan peek() const { return rx_.front_span(); }
    void consume(std::uint32_t n);
    // Zero copy, whole segments: takes the front received mbuf; its data are
    // bytes [out_offset, out_offset + out_len) of the (possibly chained) packet.
    [[nodiscard]] bool recv_mbuf(MbufPtr& out, std::uint32_t& out_offset, std::uint32_t& out_len);
    [[nodiscard]] std::uint32_t recv_available() const { return rx_.bytes(); }
    // The peer sent FIN and every byte before it has been read.
    [[nodiscard]] bool recv_finished() const { return tcb_.fin_received && rx_.bytes() == 0; }
    // Half-close: FIN after the queued data (CLOSE of RFC 9293 §3.10.4).
    void shutdown();
    // Close for good: shutdown, and the application will not read again
    // (unread data makes it an abort, RFC 2525 §2.17).
    void close(Instant now);
    // ABORT (§3.10.5): RST if synchronized, straight to CLOSED.
    void abort(Instant now);

    // --- observation ---
    [[nodiscard]] State state() const { return tcb_.state; }
    [[nodiscard]] const FourTuple& tuple() const { return tcb_.tuple; }
    [[nodiscard]] bool passive() const { return tcb_.passive; }
    [[nodiscard]] CloseReason close_reason() const { return tcb_.close_reason; }
    [[nodiscard]] bool has_events() const { return tcb_.events != 0; }
    [[nodiscard]] std::uint8_t take_events() {
        const std::uint8_t e = tcb_.events;
        tcb_.events = 0;
        return e;
    }
    [[nodiscard]] SeqNum iss() const { return tcb_.iss; }
    [[nodiscard]] SeqNum snd_una() const { return tcb_.snd_una; }
    [[nodiscard]] SeqNum snd_nxt() const { return tcb_.snd_nxt; }
    [[nodiscard]] SeqNum snd_max() const { return tcb_.snd_max; }
    [[nodiscard]] SeqNum rcv_nxt() const { return tcb_.rcv_nxt; }
    [[nodiscard]] std::uint32_t snd_wnd() const { return tcb_.snd_wnd; }
    // The largest window the peer has offered (RFC 5961 §5.2 MAX.SND.WND).
    [[nodiscard]] std::uint32_t max_snd_wnd() const { return tcb_.max_snd_wnd; }
    [[nodiscard]] std::uint32_t rcv_wnd() const;
    [[nodiscard]] std::uint16_t snd_mss() const { return tcb_.snd_mss; }
    [[nodiscard]] std::uint8_t snd_wscale() const { return tcb_.snd_wscale; }
    [[nodiscard]] std::uint8_t rcv_wscale() const { return tcb_.rcv_wscale; }
    [[nodiscard]] bool timestamps_enabled() const { return tcb_.ts_enabled; }
    [[nodiscard]] std::uint32_t ts_recent() const { return tcb_.ts_recent; }
    // Our TSval is the millisecond clock plus this (RFC 7323 §5.4).
    [[nodiscard]] std::uint32_t ts_offset() const { return tcb_.ts_offset; }
    [[nodiscard]] bool sack_enabled() const { return tcb_.sack_enabled; }
    [[nodiscard]] const CcState& cc() const { return tcb_.cc; }
    [[nodiscard]] Duration rto() const { return tcb_.rto; }
    [[nodiscard]] Duration srtt() const { return tcb_.srtt; }
    // Fast recovery (RFC 6582 or RFC 6675) or, with SACK, the recovery
    // that follows a retransmission timeout (RFC 6675 §5.1).
    [[nodiscard]] bool in_recovery() const { return tcb_.in_recovery || sb_.in_recovery(); }
    [[nodiscard]] const Scoreboard& scoreboard() const { return sb_; }
    [[nodiscard]] std::uint32_t ooo_entries() const { return ooo_.num_entries(); }
    [[nodiscard]] std::uint32_t unsent_len() const;
    [[nodiscard]] std::uint32_t flight_len() const { return seq_dist(tcb_.snd_una, tcb_.snd_nxt); }
    // Test hook: the next connect() uses this ISS instead of the generator's.
    void set_iss_for_test(std::uint32_t iss) {
        tcb_.forced_iss = iss;
        tcb_.has_forced_iss = true;
    }
    // For the stack: reuse this object for a new connection.
    void reset_to_closed();

  private:
    // §3.10.7.2-3.10.7.4
    void on_segment_listen(Instant now, net::Ipv4Addr src, net::Ipv4Addr dst, const TcpRepr& seg);
    void on_segment_syn_sent(Instant now, const TcpRepr& seg);
    void on_segment_synchronized(Instant now, const TcpRepr& seg, MbufPtr m,
                                 std::uint32_t payload_offset);
    [[nodiscard]] bool segment_acceptable(const TcpRepr& seg) const;
    // RFC 9293 §3.10.7.4 "fifth": false when processing must stop.
    [[nodiscard]] bool process_ack(Instant now, const TcpRepr& seg);
    void process_text(Instant now, const TcpRepr& seg, SeqNum seq, MbufPtr m, std::uint32_t offset,
                      std::uint32_t len);
    void process_fin(Instant now);
    void take_syn_options(const TcpRepr& seg);
    void update_rtt(Instant now, Duration sample);
    void enter_time_wait(Instant now);
    void enter_closed(CloseReason reason);
    void on_new_ack(Instant now, const TcpRepr& seg, std::uint32_t acked_len);
    // RFC 5681 §3.2 + RFC 6582, for peers without SACK.
    void on_dup_ack(Instant now);
    // RFC 6675 §5: the scoreboard update and loss detection of one ACK.
    void process_ack_sack(Instant now, const TcpRepr& seg, std::uint32_t new_wnd);
    // §5 step 4: enter loss recovery and retransmit SND.UNA's segment.
    // `probe_arrived`: a tail loss probe was SACKed, so everything unSACKed
    // below it is lost (see process_ack_sack).
    void enter_sack_recovery(Instant now, bool probe_arrived = false);
    // §5 step C: send while cwnd - pipe >= 1 SMSS, as NextSeg() says.
    bool transmit_sack_recovery(Instant now);
    // Window update after the application took data (§3.8.6.2.2).
    void after_consume();

    // Output.
    void transmit(Instant now);
    // Sends one segment starting at `seq` with up to `max_len` bytes of
    // data (FIN added when `allow_fin` and it fits). Returns the sequence
    // space used, or -1 when no mbuf was available.
    std::int64_t send_at(Instant now, SeqNum seq, std::uint32_t max_len, bool allow_fin);
    bool send_control(Instant now, SeqNum seq, std::uint8_t flags);
    bool send_repr(Instant now, TcpRepr& repr, std::uint32_t payload_from,
                   std::uint32_t payload_len);
    // A pure ACK carries the highest sequence number sent: after an RTO
    // SND.NXT goes back to SND.UNA (go-back-N), and an ACK numbered from
    // there would fail the peer's sequence check (RFC 9293 §3.10.7.4) and be
    // dropped with its acknowledgment.
    void send_ack_now(Instant now) { (void)send_control(now, tcb_.snd_max, flags::kAck); }
    void send_challenge_ack(Instant now);
    void send_rst(Instant now, SeqNum seq);
    void fill_options(TcpRepr& repr) const;
    [[nodiscard]] std::uint16_t window_to_advertise();
    [[nodiscard]] std::uint32_t ts_now(Instant now) const;
    [[nodiscard]] SeqNum data_end() const { return tcb_.tx_seq + tx_.bytes(); }
    [[nodiscard]] bool fin_acked() const { return tcb_.fin_queued && tcb_.snd_una > data_end(); }
    void arm_rtx(Instant now);
    void restart_keepalive(Instant now);
    [[nodiscard]] std::uint16_t effective_mss() const;

    // Timers (RFC 9293 §3.10.8).
    void on_rtx_timeout(Instant now);
    // RFC 8985 §7 tail loss probe.
    [[nodiscard]] Duration pto() const;
    void schedule_tlp(Instant now);
    void on_tlp_timeout(Instant now);
    // Sends a probe: new data, else the highest unSACKed segment. Returns
    // the sequence space sent (<= 0: nothing).
    std::int64_t send_probe(Instant now);
    void on_persist_timeout(Instant now);
    void on_keepalive_timeout(Instant now);

    const TcpEnv env_;
    const TcpConfig& cfg_;

    // Every per-connection scalar, so that reset_to_closed() is one
    // assignment (the slot and its buffers are reused, never reallocated).
    struct Tcb {
        State state = State::kClosed;
        FourTuple tuple{};
        bool passive = false;
        CloseReason close_reason = CloseReason::kNormal;
        std::uint8_t events = 0;
        bool output_pending = false;

        // Send sequence variables (RFC 9293 §3.3.1).
        SeqNum iss, snd_una, snd_nxt, snd_wl1, snd_wl2;
        SeqNum snd_max;  // highest sequence number sent (snd_nxt goes back on RTO)
        std::uint32_t snd_wnd = 0;
        std::uint32_t max_snd_wnd = 0;  // RFC 5961 §5.2 MAX.SND.WND
        SeqNum tx_seq;                  // sequence number of tx_'s first byte
        bool fin_queued = false;
        bool app_closed = false;
        bool want_writable = false;
        std::uint32_t forced_iss = 0;
        bool has_forced_iss = false;

        // Receive sequence variables.
        SeqNum irs, rcv_nxt;
        SeqNum rcv_adv;  // right edge of the window last advertised
        bool fin_received = false;
        bool ooo_fin = false;  // a FIN arrived beyond a hole
        SeqNum ooo_fin_seq;

        // Options (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
        std::uint16_t snd_mss = 536;  // RFC 9293 §3.7.1 default without an MSS option
        std::uint8_t snd_wscale = 0;
        std::uint8_t rcv_wscale = 0;
        bool wscale_ok = false;
        bool sack_enabled = false;
        bool ts_enabled = false;
        std::uint32_t ts_recent = 0;
        Instant ts_recent_age{};
        std::uint32_t ts_offset = 0;
        SeqNum last_ack_sent;

        // RTT and retransmission (RFC 6298).
        Duration srtt{0};
        Duration rttvar{0};
        Duration rto{1s};
        bool have_rtt = false;
        bool rtt_timing = false;  // Karn: timing rtt_seq sent at rtt_start
        SeqNum rtt_seq;
        Instant rtt_start{};
        std::uint32_t retries = 0;
        Instant rtx_deadline = kNever;
        Instant tlp_deadline = kNever;
        bool tlp_outstanding = false;  // RFC 8985 TLP.end_seq is valid
        SeqNum tlp_end_seq;
        std::uint32_t stall_probes = 0;  // recovery stall probes since the last ACK
        Instant persist_deadline = kNever;
        std::uint32_t persist_backoff = 0;
        Instant delack_deadline = kNever;
        Instant keepalive_deadline = kNever;
        std::uint32_t keepalive_sent = 0;
        Instant state_deadline = kNever;  // TIME_WAIT or FIN_WAIT_2

        // ACK policy (RFC 9293 §3.8.6.3, RFC 5681 §4.2).
        bool ack_now = false;
        std::uint32_t unacked_segs = 0;

        // Loss recovery: DupAcks and the congestion state for both kinds;
        // in_recovery/recover/rtx_next for RFC 6582 NewReno (no SACK). With
        // SACK the scoreboard (sb_) holds the recovery state (RFC 6675).
        CcState cc;
        std::uint32_t dup_acks = 0;
        bool in_recovery = false;
        SeqNum recover;
        SeqNum rtx_next;  // NewReno: SND.UNA's segment was resent up to here
    };
    Tcb tcb_;
    Scoreboard sb_;
    NewReno newreno_;
    Cubic cubic_;
    CongestionControl* cc_algo_ = &newreno_;

    MbufQueue tx_;
    MbufQueue rx_;
    OooQueue ooo_;
};

}  // namespace l45::tcp
