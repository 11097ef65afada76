// The per-lcore TCP stack. See stack.h.
#include "stack/tcp/stack.h"

#include <rte_mbuf.h>

#include <algorithm>

namespace l45::tcp {

namespace {
constexpr std::uint32_t kEmpty = 0xffffffffu;
constexpr std::uint16_t kEphemeralFirst = 49152;  // RFC 6335 §6
constexpr std::uint32_t kEphemeralCount = 65536 - kEphemeralFirst;
}  // namespace

const char* to_string(TcpError e) {
    switch (e) {
        case TcpError::kNoSuchConnection:
            return "no such connection";
        case TcpError::kTableFull:
            return "connection table full";
        case TcpError::kPortInUse:
            return "port in use";
        case TcpError::kNoPort:
            return "no free local port";
        case TcpError::kListenTableFull:
            return "listen table full";
    }
    return "?";
}

struct TcpStack::Slot {
    explicit Slot(const TcpEnv& env) : conn(env) {}
    Connection conn;
    std::uint32_t generation = 1;
    bool in_use = false;
    bool hashed = false;
    bool known_to_app = false;  // on_accept/on_connected delivered
    bool closed_notified = false;
    // TIME-WAIT reached with received bytes the application has not read
    // yet: on_closed and the hand-off to the TIME-WAIT table wait until it
    // has (those bytes came before the peer's FIN and are the application's;
    // RFC 9293 §3.10.7.4 delivers them before "connection closing").
    bool close_deferred = false;
    bool embryo = false;  // passive and not yet accepted: counts against the backlog
    bool dirty = false;
    std::uint16_t listen_port = 0;
};

EphemeralPortChooser::EphemeralPortChooser(std::uint32_t random_start)
    : next_(static_cast<std::uint16_t>(random_start % kEphemeralCount)) {}

bool EphemeralPortChooser::choose(const TcpStack& stack, const FourTuple& tuple,
                                  std::uint16_t& out_port) {
    for (std::uint32_t i = 0; i < kEphemeralCount; ++i) {
        const auto port =
            static_cast<std::uint16_t>(kEphemeralFirst + (next_ + i) % kEphemeralCount);
        FourTuple t = tuple;
        t.local.port = port;
        if (!stack.in_use(t)) {
            next_ = static_cast<std::uint16_t>((next_ + i + 1) % kEphemeralCount);
            out_port = port;
            return true;
        }
    }
    return false;
}

TcpStack::TcpStack(const TcpStackConfig& config, SegmentSink& sink, rte_mempool* pool,
                   Random& random, TcpHandler& handler)
    : config_(config),
      isn_(random),
      tw_(config.max_time_wait, isn_, counters_),
      handler_(handler),
      default_chooser_(random.next_u32()),
      timers_(config.max_connections),
      dirty_(std::make_unique<std::uint32_t[]>(config.max_connections)) {
    env_.config = &config_.tcp;
    env_.sink = &sink;
    env_.pool = pool;
    env_.isn = &isn_;
    env_.counters = &counters_;
    env_.challenge_limiter = &limiter_;
    const std::uint32_t n = config_.max_connections;
    slots_ = std::make_unique<std::unique_ptr<Slot>[]>(n);
    free_ = std::make_unique<std::uint32_t[]>(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        slots_[i] = std::make_unique<Slot>(env_);
        free_[num_free_++] = n - 1 - i;
    }
    std::uint32_t table_size = 16;
    while (table_size < 2 * n)
        table_size *= 2;
    table_ = std::make_unique<std::uint32_t[]>(table_size);
    std::fill_n(table_.get(), table_size, kEmpty);
    table_mask_ = table_size - 1;
    listeners_ = std::make_unique<Listener[]>(config_.max_listeners);
}

TcpStack::~TcpStack() = default;

// --- the 4-tuple table: linear probing, backward-shift deletion ---

std::uint64_t TcpStack::hash(const FourTuple& t) const {
    // Keyed, so a peer cannot aim collisions at one bucket.
    return isn_.keyed(2, t.local.addr, t.local.port, t.remote.addr, t.remote.port, 0);
}

std::uint32_t TcpStack::lookup(const FourTuple& tuple) const {
    for (std::uint32_t i = static_cast<std::uint32_t>(hash(tuple)) & table_mask_;;
         i = (i + 1) & table_mask_) {
        const std::uint32_t s = table_[i];
        if (s == kEmpty) return kEmpty;
        if (slots_[s]->conn.tuple() == tuple) return s;
    }
}

void TcpStack::hash_insert(std::uint32_t slot) {
    std::uint32_t i = static_cast<std::uint32_t>(hash(slots_[slot]->conn.tuple())) & table_mask_;
    while (table_[i] != kEmpty)
        i = (i + 1) & table_mask_;
    table_[i] = slot;
    slots_[slot]->hashed = true;
}

void TcpStack::hash_remove(std::uint32_t slot) {
    Slot& s = *slots_[slot];
    if (!s.hashed) return;
    s.hashed = false;
    std::uint32_t i = static_cast<std::uint32_t>(hash(s.conn.tuple())) & table_mask_;
    while (table_[i] != slot) {
        if (table_[i] == kEmpty) return;  // not found (cannot happen)
        i = (i + 1) & table_mask_;
    }
    // Backward shift: move later entries of the run into the hole when their
    // home bucket does not lie cyclically in (hole, j].
    std::uint32_t hole = i;
    for (std::uint32_t j = (i + 1) & table_mask_; table_[j] != kEmpty; j = (j + 1) & table_mask_) {
        const std::uint32_t home =
            static_cast<std::uint32_t>(hash(slots_[table_[j]]->conn.tuple())) & table_mask_;
        const bool home_in_range =
            hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!home_in_range) {
            table_[hole] = table_[j];
            hole = j;
        }
    }
    table_[hole] = kEmpty;
}

bool TcpStack::in_use(const FourTuple& tuple) const {
    return lookup(tuple) != kEmpty || tw_.contains(tuple);
}

std::uint32_t TcpStack::alloc_slot() {
    // No slot is ever in TIME-WAIT (it moves to tw_), so a full table is full.
    if (num_free_ == 0) return kEmpty;
    const std::uint32_t slot = free_[--num_free_];
    Slot& s = *slots_[slot];
    s.in_use = true;
    // `dirty` stays: a slot freed while listed in dirty_ is still listed
    // there, and clearing the flag would list it twice.
    s.known_to_app = s.closed_notified = s.close_deferred = s.embryo = false;
    s.listen_port = 0;
    ++num_in_use_;
    return slot;
}

void TcpStack::free_slot(std::uint32_t slot) {
    Slot& s = *slots_[slot];
    if (!s.in_use) return;
    if (s.embryo) {
        if (Listener* l = find_listener(s.listen_port)) --l->pending;
        s.embryo = false;
    }
    hash_remove(slot);
    timers_.remove(slot);
    s.conn.reset_to_closed();
    s.in_use = false;
    ++s.generation;
    free_[num_free_++] = slot;
    --num_in_use_;
}

TcpStack::Listener* TcpStack::find_listener(std::uint16_t port) {
    for (std::uint32_t i = 0; i < config_.max_listeners; ++i)
        if (listeners_[i].active && listeners_[i].port == port) return &listeners_[i];
    return nullptr;
}

Connection* TcpStack::get(ConnId id) const {
    if (id.index >= config_.max_connections) return nullptr;
    Slot& s = *slots_[id.index];
    if (!s.in_use || s.generation != id.generation) return nullptr;
    return &s.conn;
}

const Connection* TcpStack::find(ConnId id) const {
    return get(id);
}

// --- input ---

void TcpStack::on_segment(Instant now, net::Ipv4Addr src, net::Ipv4Addr dst, MbufPtr m,
                          bool checksum_verified) {
    last_now_ = now;
    ++counters_.segments_in;
    if (!m) return;
    const std::uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
        ++counters_.bad_checksum;
        return;
    }
    // The header must lie in the first segment (NICs put it there).
    auto parsed = TcpRepr::parse_header(first_segment(m.get()), m->pkt_len);
    if (!parsed) {
        if (parsed.error() == TcpParseError::kBadOption)
            ++counters_.bad_option;
        else
            ++counters_.bad_header;
        return;
    }
    if (!checksum_verified && l4 != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
        !tcp_checksum_ok(src, dst, m.get())) {
        ++counters_.bad_checksum;
        return;
    }
    const TcpRepr& seg = *parsed;
    const auto payload_offset = static_cast<std::uint32_t>(seg.header_len());
    const FourTuple tuple{{dst, seg.dst_port}, {src, seg.src_port}};
    std::uint32_t slot = lookup(tuple);
    if (slot == kEmpty && tw_.size() > 0) {
        tw_.expire(now);
        // TIME-WAIT answers for its tuple, except for a SYN that may reopen
        // it (RFC 6191 §2), which goes on to the listener below.
        const bool listening =
            seg.syn() && find_listener(seg.dst_port) != nullptr && dst == config_.local_addr;
        if (tw_.on_segment(now, tuple, seg, env_, listening) == TimeWaitTable::Verdict::kConsumed)
            return;
    }
    if (slot == kEmpty) {
        Listener* l = find_listener(seg.dst_port);
        const bool is_syn = seg.syn() && !seg.ack_flag() && !seg.rst();
        if (l != nullptr && is_syn && dst == config_.local_addr) {
            if (l->pending >= l->backlog) {
                // RFC 4987 §3.6: answer statelessly with a SYN cookie.
                if (config_.syn_cookies)
                    send_cookie_syn_ack(now, tuple, seg);
                else
                    ++counters_.syn_backlog_drops;
                return;
            }
            slot = alloc_slot();
            if (slot == kEmpty) {
                ++counters_.table_full;
                return;
            }
            Slot& s = *slots_[slot];
            s.conn.listen(Endpoint{dst, seg.dst_port});
            s.embryo = true;
            s.listen_port = l->port;
            ++l->pending;
            s.conn.on_segment(now, src, dst, seg, std::move(m), payload_offset);
            if (s.conn.state() == State::kSynReceived) hash_insert(slot);
            after_activity(now, slot);
            flush_dirty(now);
            return;
        }
        if (l != nullptr && !seg.rst() && !seg.ack_flag()) return;  // LISTEN drops the rest
        if (l != nullptr && config_.syn_cookies && seg.ack_flag() && !seg.rst() && !seg.syn() &&
            dst == config_.local_addr) {
            if (accept_cookie(now, tuple, seg, m, *l)) return;
        }
        // §3.10.7.1 (CLOSED) and §3.10.7.2 (an ACK to a listener): reset.
        ++counters_.no_connection;
        TcpRepr rst;
        if (reset_for(seg, rst)) (void)send_bare_segment(env_, now, dst, src, rst);
        return;
    }
    slots_[slot]->conn.on_segment(now, src, dst, seg, std::move(m), payload_offset);
    after_activity(now, slot);
    flush_dirty(now);
}

// --- SYN cookies (RFC 4987 §3.6) ---
//
// The cookie is our ISN: 5 bits of time slot, 3 bits of MSS index, 24 bits
// of keyed hash. RFC 4987 §3.6 notes that a cookie has no room for the
// other SYN options. When the SYN carries timestamps we do as Linux does
// (net/ipv4/syncookies.c, cookie_init_timestamp): the low 6 bits of our
// SYN-ACK's TSval carry the peer's window scale (4 bits, 15 = none) and
// SACK-permitted (1 bit; the 6th, ECN in Linux, stays 0), and the peer
// echoes them back in the TSecr of its ACK. The TSval is the connection's
// own clock (ms + ts_offset, as Connection::ts_now) rounded *down* to put
// the bits in, so it is never ahead of the TSvals the connection sends
// later and the peer's PAWS (RFC 7323 §5) accepts those. The price: the
// first RTT sample, taken from that TSecr, may read up to 63 ms long.
//
// Unlike Linux, the option bits (and whether timestamps were on at all)
// are inside the cookie's hash: a TSecr whose option bits differ from what
// we sent fails the cookie, so a connection can only get the options its
// SYN asked for. (The peer could always have asked for others in its SYN;
// what this rules out is a TSecr mangled on the way or by a third party
// that completes someone else's cookie.) An ACK without timestamps after a
// SYN with them fails too: RFC 7323 §3.2 makes a peer that saw TSopt in our
// SYN-ACK send it on every segment. Without timestamps only the MSS
// survives, as before.

namespace {
// MSS values a cookie can carry (3 bits); the largest not above the peer's.
constexpr std::uint16_t kCookieMss[8] = {216, 536, 1024, 1200, 1360, 1400, 1440, 1460};
constexpr Duration kCookiePeriod = std::chrono::seconds(64);
// The option bits in the TSval (Linux's TS_OPT_* layout).
constexpr std::uint32_t kTsOptBits = 6;
constexpr std::uint32_t kTsOptMask = (1u << kTsOptBits) - 1;
constexpr std::uint32_t kTsOptWscaleMask = 0x0f;
constexpr std::uint32_t kTsOptNoWscale = 0x0f;
constexpr std::uint32_t kTsOptSack = 0x10;
// ts_options of a cookie whose SYN had no timestamps (outside kTsOptMask).
constexpr std::uint32_t kCookieNoTs = 0x80;

std::uint32_t cookie_slot(Instant now) {
    return static_cast<std::uint32_t>(now.time_since_epoch() / kCookiePeriod) & 31u;
}
// The connection's TSval clock (Connection::ts_now) for this tuple.
std::uint32_t ts_clock(Instant now, std::uint32_t ts_offset) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    return static_cast<std::uint32_t>(ms.count()) + ts_offset;
}
}  // namespace

std::uint32_t TcpStack::make_cookie(Instant now, const FourTuple& t, SeqNum irs, std::uint16_t mss,
                                    std::uint32_t ts_options) const {
    std::uint32_t idx = 0;
    for (std::uint32_t i = 0; i < 8; ++i)
        if (kCookieMss[i] <= mss) idx = i;
    const std::uint32_t slot = cookie_slot(now);
    const auto h = static_cast<std::uint32_t>(
        isn_.keyed(static_cast<std::uint8_t>(0x40 | slot), t.local.addr, t.local.port,
                   t.remote.addr, t.remote.port, irs.value(), (ts_options << 3) | idx));
    return (slot << 27) | (idx << 24) | (h & 0xffffffu);
}

std::uint16_t TcpStack::check_cookie(Instant now, const FourTuple& t, SeqNum irs,
                                     std::uint32_t cookie, std::uint32_t ts_options) const {
    const std::uint32_t slot = cookie >> 27;
    const std::uint32_t idx = (cookie >> 24) & 7u;
    // Valid for the current and the previous period (64..128 s).
    const std::uint32_t age = (cookie_slot(now) - slot) & 31u;
    if (age > 1) return 0;
    const auto h = static_cast<std::uint32_t>(
        isn_.keyed(static_cast<std::uint8_t>(0x40 | slot), t.local.addr, t.local.port,
                   t.remote.addr, t.remote.port, irs.value(), (ts_options << 3) | idx));
    if ((h & 0xffffffu) != (cookie & 0xffffffu)) return 0;
    return kCookieMss[idx];
}

void TcpStack::send_cookie_syn_ack(Instant now, const FourTuple& tuple, const TcpRepr& syn) {
    const TcpConfig& cfg = config_.tcp;
    const std::uint16_t peer_mss = syn.options.mss ? *syn.options.mss : 536;
    const std::uint16_t mss = std::min(peer_mss, cfg.mss);
    TcpRepr r;
    r.src_port = tuple.local.port;
    r.dst_port = tuple.remote.port;
    r.ack = syn.seq + 1;
    r.flags = flags::kSyn | flags::kAck;
    r.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(cfg.rcv_buf_len, 0xffff));
    r.options.mss = cfg.mss;
    std::uint32_t ts_options = kCookieNoTs;
    if (cfg.timestamps && syn.options.timestamps) {
        // The options a normal SYN-ACK would agree to (Connection::take_syn_options).
        ts_options = kTsOptNoWscale;
        if (cfg.window_scaling && syn.options.window_scale) {
            ts_options = std::min<std::uint8_t>(*syn.options.window_scale, kMaxWindowScale);
            r.options.window_scale = wscale_for(cfg.rcv_buf_len);
        }
        if (cfg.sack && syn.options.sack_permitted) {
            ts_options |= kTsOptSack;
            r.options.sack_permitted = true;
        }
        const std::uint32_t clock =
            ts_clock(now, isn_.ts_offset(tuple.local.addr, tuple.local.port, tuple.remote.addr,
                                         tuple.remote.port));
        std::uint32_t tsval = (clock & ~kTsOptMask) | ts_options;
        if (ts_before(clock, tsval)) tsval -= 1u << kTsOptBits;  // never ahead of the clock
        r.options.timestamps = Timestamps{tsval, syn.options.timestamps->tsval};
    }
    r.seq = SeqNum(make_cookie(now, tuple, syn.seq, mss, ts_options));
    ++counters_.syn_cookies_sent;
    (void)send_bare_segment(env_, now, tuple.local.addr, tuple.remote.addr, r);
}

bool TcpStack::accept_cookie(Instant now, const FourTuple& tuple, const TcpRepr& seg, MbufPtr& m,
                             Listener& l) {
    const TcpConfig& cfg = config_.tcp;
    const SeqNum irs = seg.seq - 1;
    const SeqNum iss = seg.ack - 1;
    const auto& ts = seg.options.timestamps;
    const bool ts_on = cfg.timestamps && ts.has_value();
    const std::uint32_t ts_options = ts_on ? ts->tsecr & kTsOptMask : kCookieNoTs;
    std::uint16_t mss = check_cookie(now, tuple, irs, iss.value(), ts_options);
    if (mss != 0 && ts_on) {
        // The echoed TSval must be one we could have sent within the
        // cookie's lifetime (two periods): not from the future, not older.
        const std::uint32_t clock =
            ts_clock(now, isn_.ts_offset(tuple.local.addr, tuple.local.port, tuple.remote.addr,
                                         tuple.remote.port));
        const auto lifetime_ms = static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(2 * kCookiePeriod).count());
        if (ts_before(clock, ts->tsecr) || clock - ts->tsecr > lifetime_ms + (1u << kTsOptBits))
            mss = 0;
    }
    if (mss == 0) {
        ++counters_.syn_cookies_rejected;
        return false;  // answered with a reset like any stray ACK
    }
    TcpOptions syn_options;
    syn_options.mss = mss;
    if (ts_on) {
        if ((ts_options & kTsOptWscaleMask) != kTsOptNoWscale)
            syn_options.window_scale = static_cast<std::uint8_t>(ts_options & kTsOptWscaleMask);
        syn_options.sack_permitted = (ts_options & kTsOptSack) != 0;
        // TS.Recent starts at this ACK's TSval (the SYN's is not kept).
        syn_options.timestamps = Timestamps{ts->tsval, ts->tsecr};
    }
    const std::uint32_t slot = alloc_slot();
    if (slot == kEmpty) {
        ++counters_.table_full;
        return true;  // drop: the peer retransmits
    }
    ++counters_.syn_cookies_accepted;
    Slot& s = *slots_[slot];
    s.listen_port = l.port;
    s.embryo = false;  // accepted at once: it never counted against the backlog
    const auto window =
        static_cast<std::uint16_t>(std::min<std::uint32_t>(config_.tcp.rcv_buf_len, 0xffff));
    s.conn.open_from_cookie(tuple, iss, irs, syn_options, window);
    hash_insert(slot);
    const auto payload_offset = static_cast<std::uint32_t>(seg.header_len());
    s.conn.on_segment(now, tuple.remote.addr, tuple.local.addr, seg, std::move(m), payload_offset);
    if (s.conn.state() == State::kSynReceived) {
        free_slot(slot);  // cannot happen with a verified cookie; never leave it stuck
        return true;
    }
    // The accept callback comes from the kConnected event; mark it passive.
    s.embryo = true;
    ++l.pending;
    after_activity(now, slot);
    flush_dirty(now);
    return true;
}

void TcpStack::poll(Instant now) {
    last_now_ = now;
    tw_.expire(now);
    while (!timers_.empty() && timers_.top_deadline() <= now) {
        const std::uint32_t slot = timers_.top_slot();
        timers_.remove(slot);
        slots_[slot]->conn.poll(now);
        after_activity(now, slot);
    }
    flush_dirty(now);
}

Instant TcpStack::poll_at() const {
    if (num_dirty_ > 0) return Instant::min();
    return timers_.top_deadline();
}

void TcpStack::mark_dirty(std::uint32_t slot) {
    Slot& s = *slots_[slot];
    if (s.dirty) return;
    s.dirty = true;
    dirty_[num_dirty_++] = slot;
}

void TcpStack::flush_dirty(Instant now) {
    // Callbacks may dirty more slots while we flush; each slot is listed once.
    for (std::uint32_t i = 0; i < num_dirty_; ++i) {
        const std::uint32_t slot = dirty_[i];
        Slot& s = *slots_[slot];
        s.dirty = false;
        if (!s.in_use) continue;
        s.conn.poll(now);
        after_activity(now, slot);
    }
    num_dirty_ = 0;
}

void TcpStack::after_activity(Instant now, std::uint32_t slot) {
    Slot& s = *slots_[slot];
    // Bounded: each round delivers events, which may queue output that the
    // next round sends (and which may raise new events).
    for (int round = 0; round < 4 && s.in_use; ++round) {
        std::uint8_t ev = s.conn.take_events();
        if (s.close_deferred && s.conn.recv_available() == 0) {
            s.close_deferred = false;
            ev |= event::kClosed;
        }
        const ConnId id{slot, s.generation};
        if (ev & event::kConnected) {
            s.known_to_app = true;
            if (s.embryo) {
                s.embryo = false;
                if (Listener* l = find_listener(s.listen_port)) --l->pending;
                handler_.on_accept(id, s.listen_port);
            } else {
                handler_.on_connected(id);
            }
        }
        if (!s.in_use || s.generation != id.generation) return;
        if ((ev & event::kReadable) && s.known_to_app) handler_.on_readable(id);
        if ((ev & event::kWritable) && s.known_to_app) handler_.on_writable(id);
        if ((ev & event::kClosed) && !s.closed_notified) {
            if (s.known_to_app && s.conn.state() == State::kTimeWait &&
                s.conn.recv_available() > 0) {
                s.close_deferred = true;
            } else {
                s.closed_notified = true;
                if (s.known_to_app) handler_.on_closed(id, s.conn.close_reason());
            }
        }
        if (!s.in_use || s.generation != id.generation) return;
        // A callback may have aborted/closed (new events) or queued data.
        if (s.conn.has_events()) continue;
        if (!s.conn.wants_output() || s.conn.state() == State::kClosed) break;
        s.conn.poll(now);
    }
    // CLOSED, or an embryo that never left LISTEN: the slot is free again.
    if (s.conn.state() == State::kClosed || s.conn.state() == State::kListen) {
        free_slot(slot);
        return;
    }
    if (s.conn.state() == State::kTimeWait && !s.close_deferred) {
        enter_time_wait(now, slot);
        return;
    }
    if (!s.hashed) hash_insert(slot);
    timers_.update(slot, s.conn.poll_at());
}

void TcpStack::after_read(std::uint32_t slot) {
    const Slot& s = *slots_[slot];
    if (s.conn.wants_output() || (s.close_deferred && s.conn.recv_available() == 0))
        mark_dirty(slot);
}

void TcpStack::enter_time_wait(Instant now, std::uint32_t slot) {
    // The connection already sent the ACK of the peer's FIN and raised
    // kClosed (the application got on_closed(kNormal) above); what is left
    // of TIME-WAIT needs no buffers and no handle.
    tw_.insert(now, 2 * config_.tcp.msl, time_wait_state_of(slots_[slot]->conn));
    free_slot(slot);
}

// --- application API ---

Result<void, TcpError> TcpStack::listen(std::uint16_t port, std::uint32_t backlog) {
    if (find_listener(port) != nullptr) return unexpected(TcpError::kPortInUse);
    for (std::uint32_t i = 0; i < config_.max_listeners; ++i) {
        Listener& l = listeners_[i];
        if (!l.active) {
            l = Listener{port, backlog, 0, true};
            return {};
        }
    }
    return unexpected(TcpError::kListenTableFull);
}

void TcpStack::unlisten(std::uint16_t port) {
    if (Listener* l = find_listener(port)) l->active = false;
}

Result<ConnId, TcpError> TcpStack::connect(Instant now, net::Ipv4Addr dst, std::uint16_t dst_port) {
    last_now_ = now;
    tw_.expire(now);  // in_use() below sees only live TIME-WAIT entries
    FourTuple tuple{{config_.local_addr, 0}, {dst, dst_port}};
    if (!chooser_->choose(*this, tuple, tuple.local.port)) return unexpected(TcpError::kNoPort);
    if (in_use(tuple)) return unexpected(TcpError::kPortInUse);
    const std::uint32_t slot = alloc_slot();
    if (slot == kEmpty) {
        ++counters_.table_full;
        return unexpected(TcpError::kTableFull);
    }
    Slot& s = *slots_[slot];
    s.known_to_app = true;  // the caller holds the handle from here
    s.conn.connect(now, tuple);
    hash_insert(slot);
    const ConnId id{slot, s.generation};
    timers_.update(slot, s.conn.poll_at());
    return id;
}

std::uint32_t TcpStack::send(ConnId id, ByteSpan data) {
    Connection* c = get(id);
    if (c == nullptr) return 0;
    const std::uint32_t n = c->send(data);
    if (c->wants_output()) mark_dirty(id.index);
    return n;
}

bool TcpStack::send_mbuf(ConnId id, MbufPtr& m, std::uint32_t offset, std::uint32_t len) {
    Connection* c = get(id);
    if (c == nullptr) return false;
    const bool ok = c->send_mbuf(m, offset, len);
    if (c->wants_output()) mark_dirty(id.index);
    return ok;
}

std::uint32_t TcpStack::recv(ConnId id, MutableByteSpan out) {
    Connection* c = get(id);
    if (c == nullptr) return 0;
    const std::uint32_t n = c->recv(out);
    after_read(id.index);
    return n;
}

ByteSpan TcpStack::peek(ConnId id) const {
    const Connection* c = get(id);
    return c ? c->peek() : ByteSpan{};
}

void TcpStack::consume(ConnId id, std::uint32_t n) {
    Connection* c = get(id);
    if (c == nullptr) return;
    c->consume(n);
    after_read(id.index);
}

bool TcpStack::recv_mbuf(ConnId id, MbufPtr& out, std::uint32_t& out_offset,
                         std::uint32_t& out_len) {
    Connection* c = get(id);
    if (c == nullptr) return false;
    const bool ok = c->recv_mbuf(out, out_offset, out_len);
    after_read(id.index);
    return ok;
}

void TcpStack::shutdown(ConnId id) {
    Connection* c = get(id);
    if (c == nullptr) return;
    c->shutdown();
    mark_dirty(id.index);
}

void TcpStack::close(ConnId id) {
    Connection* c = get(id);
    if (c == nullptr) return;
    c->close(last_now_);
    mark_dirty(id.index);
}

void TcpStack::abort(ConnId id) {
    Connection* c = get(id);
    if (c == nullptr) return;
    c->abort(last_now_);
    mark_dirty(id.index);
}

}  // namespace l45::tcp
