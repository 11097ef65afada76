// The per-lcore TCP stack: a fixed table of connections keyed by 4-tuple,
// a compact TIME-WAIT table (time_wait.h), a listen table, the timers, and
// an event-driven application API.
//
// Read first: RFC 9293 §3.10 (user calls and what they do per state),
// §3.10.7.1 (segments that match no connection get a reset), §3.4.2-3.4.3
// (TIME-WAIT and reuse), RFC 6056 (ephemeral port choice; the chooser is
// pluggable so an RSS-aware one can keep replies on this lcore), RFC 4987
// §3.6 (SYN cookies; how options ride in the timestamp is Linux's scheme,
// see make_cookie in stack.cc).
//
// Model: smoltcp's Interface::poll(now) / poll_at(). Input comes through
// on_segment (from the L3 adapter), time through poll(now); application
// calls buffer work that the next poll (or the end of the current callback
// dispatch) sends. Callbacks run inside on_segment/poll; they may call back
// into the stack. Nothing here allocates after construction except mbufs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/tcp/connection.h"
#include "stack/tcp/isn.h"
#include "stack/tcp/time_wait.h"
#include "stack/tcp/timer_heap.h"

namespace l45::tcp {

// A handle to a connection: the slot plus a generation, so a handle kept
// after the connection closed never reaches its successor.
struct ConnId {
    std::uint32_t index = 0xffffffffu;
    std::uint32_t generation = 0;
    [[nodiscard]] bool valid() const { return index != 0xffffffffu; }
    friend constexpr bool operator==(const ConnId&, const ConnId&) = default;
};

enum class TcpError : std::uint8_t {
    kNoSuchConnection,
    kTableFull,
    kPortInUse,
    kNoPort,
    kListenTableFull,
};
[[nodiscard]] const char* to_string(TcpError e);

class TcpHandler {
  public:
    virtual ~TcpHandler() = default;
    // A passive connection reached ESTABLISHED (no accept queue to drain).
    virtual void on_accept(ConnId, std::uint16_t /*listen_port*/) {}
    virtual void on_connected(ConnId) {}
    virtual void on_readable(ConnId) {}
    virtual void on_writable(ConnId) {}
    // Once per connection the application knew of; the handle is dead after.
    // An active close reports kNormal when the connection enters TIME-WAIT
    // (the stack keeps answering for the tuple without the slot).
    virtual void on_closed(ConnId, CloseReason) {}
};

class TcpStack;

// Picks the local port of an active open (RFC 6056). Returns false when no
// port is free for this destination.
class PortChooser {
  public:
    virtual ~PortChooser() = default;
    [[nodiscard]] virtual bool choose(const TcpStack& stack, const FourTuple& tuple_without_port,
                                      std::uint16_t& out_port) = 0;
};

// RFC 6056 §3.3.3-like: a random start in the ephemeral range (RFC 6335
// §6), then linear. The start is random so that a second process on the same
// address does not reuse the first one's tuples while a peer still holds
// state for them (TIME-WAIT, FIN-WAIT: challenge ACKs, a 1 s SYN retry).
class EphemeralPortChooser final : public PortChooser {
  public:
    explicit EphemeralPortChooser(std::uint32_t random_start = 0);
    [[nodiscard]] bool choose(const TcpStack& stack, const FourTuple& tuple,
                              std::uint16_t& out_port) override;

  private:
    std::uint16_t next_ = 0;
};

struct TcpStackConfig {
    TcpConfig tcp;
    net::Ipv4Addr local_addr;
    std::uint32_t max_connections = 1024;
    std::uint32_t max_listeners = 16;
    // TIME-WAIT entries (48 bytes each). A connection that enters TIME-WAIT
    // gives its slot back at once and leaves an entry here for 2*MSL; when
    // the table is full the oldest entry is evicted early (counted in
    // time_wait_evicted). Steady state needs (active closes per second) x
    // 2*MSL entries; the default is 4x the default max_connections.
    std::uint32_t max_time_wait = 4096;
    bool syn_cookies = true;  // RFC 4987 §3.6, only once a backlog is full
};

class TcpStack {
  public:
    TcpStack(const TcpStackConfig& config, SegmentSink& sink, rte_mempool* pool, Random& random,
             TcpHandler& handler);
    TcpStack(const TcpStack&) = delete;
    TcpStack& operator=(const TcpStack&) = delete;
    ~TcpStack();

    // --- input and time ---
    // m's data starts at the TCP header and pkt_len is the IP payload length.
    // With checksum_verified (or RX_L4_CKSUM_GOOD on m) no software check.
    void on_segment(Instant now, net::Ipv4Addr src, net::Ipv4Addr dst, MbufPtr m,
                    bool checksum_verified = false);
    void poll(Instant now);
    // The next instant poll() has work (Instant::min() when output waits).
    [[nodiscard]] Instant poll_at() const;

    // --- application API ---
    [[nodiscard]] Result<void, TcpError> listen(std::uint16_t port, std::uint32_t backlog);
    void unlisten(std::uint16_t port);
    [[nodiscard]] Result<ConnId, TcpError> connect(Instant now, net::Ipv4Addr dst,
                                                   std::uint16_t dst_port);
    [[nodiscard]] std::uint32_t send(ConnId id, ByteSpan data);
    [[nodiscard]] bool send_mbuf(ConnId id, MbufPtr& m, std::uint32_t offset, std::uint32_t len);
    [[nodiscard]] std::uint32_t recv(ConnId id, MutableByteSpan out);
    [[nodiscard]] ByteSpan peek(ConnId id) const;
    void consume(ConnId id, std::uint32_t n);
    [[nodiscard]] bool recv_mbuf(ConnId id, MbufPtr& out, std::uint32_t& out_offset,
                                 std::uint32_t& out_len);
    void shutdown(ConnId id);
    void close(ConnId id);
    void abort(ConnId id);

    // --- observation ---
    [[nodiscard]] const Connection* find(ConnId id) const;
    // A connection or a TIME-WAIT entry holds the tuple (active opens avoid it).
    [[nodiscard]] bool in_use(const FourTuple& tuple) const;
    [[nodiscard]] std::uint32_t num_connections() const { return num_in_use_; }
    [[nodiscard]] const TcpCounters& counters() const { return counters_; }
    [[nodiscard]] const TcpStackConfig& config() const { return config_; }
    void set_port_chooser(PortChooser* chooser) {
        chooser_ = chooser ? chooser : &default_chooser_;
    }

  private:
    struct Slot;
    struct Listener {
        std::uint16_t port = 0;
        std::uint32_t backlog = 0;
        std::uint32_t pending = 0;  // embryos (SYN-RECEIVED) not yet accepted
        bool active = false;
    };

    [[nodiscard]] Connection* get(ConnId id) const;
    [[nodiscard]] std::uint32_t lookup(const FourTuple& tuple) const;
    void hash_insert(std::uint32_t slot);
    void hash_remove(std::uint32_t slot);
    [[nodiscard]] std::uint64_t hash(const FourTuple& tuple) const;
    [[nodiscard]] std::uint32_t alloc_slot();
    void free_slot(std::uint32_t slot);
    [[nodiscard]] Listener* find_listener(std::uint16_t port);
    void mark_dirty(std::uint32_t slot);
    // Delivers events, sends queued output, refreshes the timer, frees the
    // slot when the connection has closed.
    void after_activity(Instant now, std::uint32_t slot);
    void flush_dirty(Instant now);
    // After the application read: a window update to send, or a deferred
    // close (TIME-WAIT with unread bytes) now due.
    void after_read(std::uint32_t slot);
    // SYN cookies (RFC 4987 §3.6): the ISN carries a time slot, an MSS index
    // and a keyed hash of the 4-tuple, the peer's ISN, the MSS index and
    // `ts_options` (kCookieNoTs, or the option bits our SYN-ACK's TSval
    // carried: see stack.cc).
    [[nodiscard]] std::uint32_t make_cookie(Instant now, const FourTuple& tuple, SeqNum irs,
                                            std::uint16_t mss, std::uint32_t ts_options) const;
    // The MSS the cookie encodes, or 0 when it does not verify.
    [[nodiscard]] std::uint16_t check_cookie(Instant now, const FourTuple& tuple, SeqNum irs,
                                             std::uint32_t cookie, std::uint32_t ts_options) const;
    // Hands a connection that just entered TIME-WAIT to tw_ and frees its slot.
    void enter_time_wait(Instant now, std::uint32_t slot);
    void send_cookie_syn_ack(Instant now, const FourTuple& tuple, const TcpRepr& syn);
    [[nodiscard]] bool accept_cookie(Instant now, const FourTuple& tuple, const TcpRepr& seg,
                                     MbufPtr& m, Listener& l);

    TcpStackConfig config_;
    TcpCounters counters_;
    ChallengeAckLimiter limiter_;
    IsnGenerator isn_;
    TimeWaitTable tw_;
    TcpEnv env_;
    TcpHandler& handler_;
    EphemeralPortChooser default_chooser_;
    PortChooser* chooser_ = &default_chooser_;
    Instant last_now_{};

    std::unique_ptr<std::unique_ptr<Slot>[]> slots_;
    std::unique_ptr<std::uint32_t[]> free_;  // stack of free slot indices
    std::uint32_t num_free_ = 0;
    std::uint32_t num_in_use_ = 0;
    std::unique_ptr<std::uint32_t[]> table_;  // open addressing, slot index or kEmpty
    std::uint32_t table_mask_ = 0;
    std::unique_ptr<Listener[]> listeners_;
    TimerHeap timers_;
    std::unique_ptr<std::uint32_t[]> dirty_;
    std::uint32_t num_dirty_ = 0;
};

}  // namespace l45::tcp
