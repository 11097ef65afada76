// The TCP connection: RFC 9293 §3.10 event processing. See connection.h for
// the list of RFCs; each step below names the section it follows.
#include "stack/tcp/connection.h"

#include <algorithm>

namespace l45::tcp {

const char* to_string(State s) {
    switch (s) {
        case State::kClosed:
            return "CLOSED";
        case State::kListen:
            return "LISTEN";
        case State::kSynSent:
            return "SYN-SENT";
        case State::kSynReceived:
            return "SYN-RECEIVED";
        case State::kEstablished:
            return "ESTABLISHED";
        case State::kFinWait1:
            return "FIN-WAIT-1";
        case State::kFinWait2:
            return "FIN-WAIT-2";
        case State::kCloseWait:
            return "CLOSE-WAIT";
        case State::kClosing:
            return "CLOSING";
        case State::kLastAck:
            return "LAST-ACK";
        case State::kTimeWait:
            return "TIME-WAIT";
    }
    return "?";
}

const char* to_string(CloseReason r) {
    switch (r) {
        case CloseReason::kNormal:
            return "normal";
        case CloseReason::kReset:
            return "reset";
        case CloseReason::kRefused:
            return "refused";
        case CloseReason::kTimeout:
            return "timeout";
        case CloseReason::kAborted:
            return "aborted";
    }
    return "?";
}

namespace {

// RFC 7323 §5.5: TS.Recent older than 24 days is no longer trusted.
constexpr Duration kPawsIdle = std::chrono::hours(24 * 24);
// RFC 6298 §2: G, the clock granularity (TSval ticks are 1 ms).
constexpr Duration kClockGranularity = 1ms;
// RFC 8985 §7.2 WCDelAckT: the peer's worst-case delayed ACK.
constexpr Duration kWorstCaseDelAck = 200ms;

[[nodiscard]] bool synchronized(State s) {
    return s != State::kClosed && s != State::kListen && s != State::kSynSent;
}
[[nodiscard]] bool can_send_data(State s) {
    return s == State::kEstablished || s == State::kCloseWait || s == State::kFinWait1 ||
           s == State::kClosing || s == State::kLastAck;
}

// Writes repr (+ payload copied from q at q_offset) into a fresh mbuf and
// hands it to the sink.
bool emit_segment(const TcpEnv& env, Instant now, net::Ipv4Addr src, net::Ipv4Addr dst,
                  const TcpRepr& repr, const MbufQueue* q, std::uint32_t q_offset,
                  std::uint32_t payload_len) {
    MbufPtr m(rte_pktmbuf_alloc(env.pool));
    if (!m) {
        ++env.counters->mbuf_alloc_failed;
        return false;
    }
    const std::size_t hlen = repr.header_len();
    char* p = rte_pktmbuf_append(m.get(), static_cast<std::uint16_t>(hlen + payload_len));
    if (p == nullptr) {
        ++env.counters->mbuf_alloc_failed;
        return false;
    }
    auto* bytes = reinterpret_cast<std::uint8_t*>(p);
    Writer w(MutableByteSpan(bytes, hlen));
    if (!repr.emit(w) || w.written() != hlen) return false;
    if (payload_len > 0 &&
        (q == nullptr || !q->copy_out(q_offset, MutableByteSpan(bytes + hlen, payload_len))))
        return false;
    if (env.config->tx_checksum_offload) {
        // The NIC completes the sum; it wants the pseudo-header sum in place.
        m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
        m->l4_len = static_cast<std::uint16_t>(hlen);
        store_be16(bytes + kTcpChecksumOffset,
                   ones_fold(pseudo_header_sum(src, dst, static_cast<std::uint32_t>(m->pkt_len))));
    } else {
        store_be16(bytes + kTcpChecksumOffset, tcp_checksum(src, dst, m.get()));
    }
    ++env.counters->segments_out;
    if (repr.rst()) ++env.counters->resets_sent;
    env.sink->send_segment(now, src, dst, std::move(m));
    return true;
}

}  // namespace

std::uint8_t wscale_for(std::uint32_t buf_len) {
    std::uint8_t shift = 0;
    while (shift < kMaxWindowScale && (buf_len >> shift) > 0xffffu)
        ++shift;
    return shift;
}

bool send_bare_segment(const TcpEnv& env, Instant now, net::Ipv4Addr src, net::Ipv4Addr dst,
                       const TcpRepr& repr) {
    return emit_segment(env, now, src, dst, repr, nullptr, 0, 0);
}

bool reset_for(const TcpRepr& seg, TcpRepr& out) {
    // RFC 9293 §3.10.7.1: "An incoming segment containing a RST is discarded."
    if (seg.rst()) return false;
    out = TcpRepr{};
    out.src_port = seg.dst_port;
    out.dst_port = seg.src_port;
    if (seg.ack_flag()) {
        // <SEQ=SEG.ACK><CTL=RST>
        out.seq = seg.ack;
        out.flags = flags::kRst;
    } else {
        // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        out.seq = SeqNum(0);
        out.ack = seg.seq + seg.seg_len();
        out.flags = flags::kRst | flags::kAck;
    }
    return true;
}

Connection::Connection(const TcpEnv& env)
    : env_(env),
      cfg_(*env.config),
      tx_(env.config->tx_queue_slots),
      rx_(env.config->rx_queue_slots),
      ooo_(env.config->ooo_slots) {
    reset_to_closed();
}

void Connection::reset_to_closed() {
    tx_.clear();
    rx_.clear();
    ooo_.clear();
    tcb_ = Tcb{};
    sb_.clear();
    tcb_.rto = cfg_.rto_initial;
    newreno_ = NewReno{};
    cubic_ = Cubic{};
    cc_algo_ = cfg_.congestion == CongestionAlgo::kCubic ? static_cast<CongestionControl*>(&cubic_)
                                                         : &newreno_;
}

std::uint32_t Connection::rcv_wnd() const {
    const std::int32_t w = tcb_.rcv_adv - tcb_.rcv_nxt;
    return w > 0 ? static_cast<std::uint32_t>(w) : 0;
}

std::uint32_t Connection::unsent_len() const {
    const SeqNum end = data_end();
    return tcb_.snd_nxt <= end ? seq_dist(tcb_.snd_nxt, end) : 0;
}

std::uint32_t Connection::send_space() const {
    return cfg_.snd_buf_len > tx_.bytes() ? cfg_.snd_buf_len - tx_.bytes() : 0;
}

std::uint32_t Connection::ts_now(Instant now) const {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    return static_cast<std::uint32_t>(ms.count()) + tcb_.ts_offset;
}

std::uint16_t Connection::effective_mss() const {
    // RFC 9293 §3.7.1: Eff.snd.MSS = min(SendMSS+20, MMS_S) - TCPhdrsize;
    // the option bytes are taken off per segment in send_at.
    return std::min<std::uint16_t>(tcb_.snd_mss, cfg_.mss);
}

// ---------------------------------------------------------------------------
// OPEN (RFC 9293 §3.10.1)

void Connection::listen(const Endpoint& local) {
    const bool forced = tcb_.has_forced_iss;
    const std::uint32_t forced_iss = tcb_.forced_iss;
    reset_to_closed();
    tcb_.has_forced_iss = forced;
    tcb_.forced_iss = forced_iss;
    tcb_.state = State::kListen;
    tcb_.tuple.local = local;
    tcb_.passive = true;
}

void Connection::connect(Instant now, const FourTuple& tuple) {
    const bool forced = tcb_.has_forced_iss;
    const std::uint32_t forced_iss = tcb_.forced_iss;
    reset_to_closed();
    auto& t = tcb_;
    t.tuple = tuple;
    t.passive = false;
    t.iss = SeqNum(forced ? forced_iss
                          : env_.isn->isn(now, tuple.local.addr, tuple.local.port,
                                          tuple.remote.addr, tuple.remote.port));
    t.ts_offset = env_.isn->ts_offset(tuple.local.addr, tuple.local.port, tuple.remote.addr,
                                      tuple.remote.port);
    t.snd_una = t.snd_nxt = t.snd_max = t.iss;
    t.tx_seq = t.iss + 1;
    t.rcv_wscale = cfg_.window_scaling ? wscale_for(cfg_.rcv_buf_len) : 0;
    t.cc.mss = effective_mss();
    t.state = State::kSynSent;
    transmit(now);  // <SEQ=ISS><CTL=SYN>
}

void Connection::open_from_cookie(const FourTuple& tuple, SeqNum iss, SeqNum irs,
                                  const TcpOptions& syn_options, std::uint16_t advertised_window) {
    reset_to_closed();
    auto& t = tcb_;
    t.tuple = tuple;
    t.passive = true;
    t.iss = iss;
    t.irs = irs;
    t.rcv_nxt = irs + 1;
    t.rcv_adv = t.rcv_nxt + advertised_window;
    t.snd_una = iss;
    t.snd_nxt = t.snd_max = iss + 1;  // the SYN-ACK went out (statelessly)
    t.tx_seq = iss + 1;
    t.ts_offset = env_.isn->ts_offset(tuple.local.addr, tuple.local.port, tuple.remote.addr,
                                      tuple.remote.port);
    TcpRepr syn;
    syn.options = syn_options;
    take_syn_options(syn);
    t.last_ack_sent = t.rcv_nxt;  // the SYN-ACK acknowledged the SYN (RFC 7323 §4.3)
    t.state = State::kSynReceived;
}

// The options of a received SYN decide what this connection uses
// (RFC 9293 §3.7.1, RFC 7323 §2.2 and §3.2, RFC 2018 §2).
void Connection::take_syn_options(const TcpRepr& seg) {
    auto& t = tcb_;
    const TcpOptions& o = seg.options;
    // RFC 9293 §3.7.1: 536 when absent (RFC 9293 MUST-15); never absurdly small.
    t.snd_mss = o.mss ? std::max<std::uint16_t>(*o.mss, 64) : 536;
    if (cfg_.window_scaling && o.window_scale) {
        t.wscale_ok = true;
        // RFC 7323 §2.3: a shift above 14 is used as 14.
        t.snd_wscale = std::min<std::uint8_t>(*o.window_scale, kMaxWindowScale);
        if (t.passive) t.rcv_wscale = wscale_for(cfg_.rcv_buf_len);
    } else {
        t.wscale_ok = false;
        t.snd_wscale = 0;
        t.rcv_wscale = 0;
    }
    t.sack_enabled = cfg_.sack && o.sack_permitted;
    t.ts_enabled = cfg_.timestamps && o.timestamps.has_value();
    if (t.ts_enabled) t.ts_recent = o.timestamps->tsval;
    t.cc.mss = effective_mss();
    // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)), with 10 configurable.
    const std::uint32_t mss = t.cc.mss;
    const std::uint32_t iw = cfg_.initial_window_segments;
    t.cc.cwnd = std::min(iw * mss, std::max(2 * mss, iw * 1460u));
}

// ---------------------------------------------------------------------------
// SEGMENT ARRIVES (RFC 9293 §3.10.7)

void Connection::on_segment(Instant now, net::Ipv4Addr src, net::Ipv4Addr dst, const TcpRepr& seg,
                            MbufPtr m, std::uint32_t payload_offset) {
    switch (tcb_.state) {
        case State::kClosed: {
            // §3.10.7.1: a reset answers anything but a reset.
            TcpRepr rst;
            if (reset_for(seg, rst)) (void)send_bare_segment(env_, now, dst, src, rst);
            return;
        }
        case State::kListen:
            on_segment_listen(now, src, dst, seg);
            break;
        case State::kSynSent:
            on_segment_syn_sent(now, seg);
            break;
        default:
            on_segment_synchronized(now, seg, std::move(m), payload_offset);
            break;
    }
    transmit(now);
}

// §3.10.7.2 LISTEN.
void Connection::on_segment_listen(Instant now, net::Ipv4Addr src, net::Ipv4Addr dst,
                                   const TcpRepr& seg) {
    auto& t = tcb_;
    // First, check for a RST: "An incoming RST segment could not be valid ... ignore it."
    if (seg.rst()) return;
    // Second, check for an ACK: <SEQ=SEG.ACK><CTL=RST>.
    if (seg.ack_flag()) {
        TcpRepr rst;
        if (reset_for(seg, rst)) (void)send_bare_segment(env_, now, dst, src, rst);
        return;
    }
    // Third, check for a SYN. Data and FIN on the SYN are not kept (the
    // peer retransmits what is not acknowledged).
    if (!seg.syn()) return;
    t.tuple.local = Endpoint{dst, seg.dst_port};
    t.tuple.remote = Endpoint{src, seg.src_port};
    t.irs = seg.seq;
    t.rcv_nxt = seg.seq + 1;
    t.rcv_adv = t.rcv_nxt;
    take_syn_options(seg);
    t.iss = SeqNum(t.has_forced_iss ? t.forced_iss
                                    : env_.isn->isn(now, dst, seg.dst_port, src, seg.src_port));
    t.ts_offset = env_.isn->ts_offset(dst, seg.dst_port, src, seg.src_port);
    t.snd_una = t.snd_nxt = t.snd_max = t.iss;  // transmit() sends <SEQ=ISS><ACK=RCV.NXT><SYN,ACK>
    t.tx_seq = t.iss + 1;
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    t.snd_wnd = seg.window;
    t.max_snd_wnd = t.snd_wnd;
    t.state = State::kSynReceived;
}

// §3.10.7.3 SYN-SENT.
void Connection::on_segment_syn_sent(Instant now, const TcpRepr& seg) {
    auto& t = tcb_;
    bool ack_ok = false;
    // First, check the ACK bit: SEG.ACK =< ISS or SEG.ACK > SND.NXT is unacceptable.
    if (seg.ack_flag()) {
        if (seg.ack <= t.iss || seg.ack > t.snd_max) {
            if (!seg.rst()) send_rst(now, seg.ack);  // <SEQ=SEG.ACK><CTL=RST>
            return;
        }
        ack_ok = true;
    }
    // Second, check the RST bit: only with an acceptable ACK ("error:
    // connection reset"; RFC 5961 §3.2 needs nothing more in SYN-SENT).
    if (seg.rst()) {
        if (ack_ok) {
            ++env_.counters->resets_received;
            enter_closed(CloseReason::kRefused);
        }
        return;
    }
    // Fourth, check the SYN bit.
    if (!seg.syn()) return;
    t.irs = seg.seq;
    t.rcv_nxt = seg.seq + 1;
    t.rcv_adv = t.rcv_nxt;
    take_syn_options(seg);
    if (ack_ok) {
        // Our SYN is acknowledged: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
        if (t.rtt_timing && seg.ack > t.rtt_seq) update_rtt(now, now - t.rtt_start);
        if (t.ts_enabled && seg.options.timestamps->tsecr != 0 && !t.have_rtt)
            update_rtt(now, std::chrono::milliseconds(ts_now(now) - seg.options.timestamps->tsecr));
        t.rtt_timing = false;
        t.snd_una = seg.ack;
        if (t.snd_nxt < t.snd_una) t.snd_nxt = t.snd_una;
        t.snd_wnd = seg.window;  // RFC 7323 §2.2: not scaled in a SYN
        t.max_snd_wnd = t.snd_wnd;
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
        t.retries = 0;
        t.rtx_deadline = kNever;
        t.state = State::kEstablished;
        t.events |= event::kConnected | event::kWritable;
        t.ack_now = true;
        restart_keepalive(now);
        if (t.fin_queued) t.state = State::kFinWait1;
        return;
    }
    // Simultaneous open (§3.10.7.3, Figure 7): SYN-RECEIVED and
    // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, sent by transmit().
    t.snd_wnd = seg.window;
    t.max_snd_wnd = t.snd_wnd;
    t.snd_nxt = t.iss;
    t.state = State::kSynReceived;
}

// §3.10.7.4 "first, check sequence number": the four acceptability cases.
bool Connection::segment_acceptable(const TcpRepr& seg) const {
    const auto& t = tcb_;
    const std::uint32_t wnd = rcv_wnd();
    const std::uint32_t len = seg.seg_len();
    if (len == 0) {
        if (wnd == 0) return seg.seq == t.rcv_nxt;
        return seq_in_range(t.rcv_nxt, seg.seq, t.rcv_nxt + wnd);
    }
    if (wnd == 0) {
        // "special allowance should be made to accept valid ACKs, URGs and
        // RSTs": the text is trimmed away below.
        return seg.seq == t.rcv_nxt;
    }
    return seq_in_range(t.rcv_nxt, seg.seq, t.rcv_nxt + wnd) ||
           seq_in_range(t.rcv_nxt, seg.seq + (len - 1), t.rcv_nxt + wnd);
}

void Connection::on_segment_synchronized(Instant now, const TcpRepr& seg_in, MbufPtr m,
                                         std::uint32_t payload_offset) {
    auto& t = tcb_;
    // Simultaneous open (§3.10.7.3 figure 8, line 6): the peer's SYN,ACK
    // repeats its SYN (seq = IRS). Its SYN is already counted in RCV.NXT, so
    // take it as the ACK that completes our SYN-RECEIVED (Linux does the
    // same) rather than failing the sequence check.
    TcpRepr seg = seg_in;
    if (t.state == State::kSynReceived && !t.passive && seg.syn() && seg.ack_flag() &&
        seg.seq == t.irs && seg.payload_len == 0) {
        seg.flags = static_cast<std::uint8_t>(seg.flags & ~flags::kSyn);
        seg.seq = t.irs + 1;
    }
    const auto& ts = seg.options.timestamps;
    // RFC 7323 §3.2: once negotiated, a non-RST segment without TSopt
    // SHOULD be dropped silently.
    if (t.ts_enabled && !seg.rst() && !ts) {
        ++env_.counters->missing_timestamp;
        return;
    }
    // RFC 7323 §5.3 R1 (PAWS), before the sequence number check: an older
    // TSval than TS.Recent means an old duplicate; ACK it and drop it.
    if (t.ts_enabled && ts && !seg.rst() && ts_before(ts->tsval, t.ts_recent) &&
        now - t.ts_recent_age < kPawsIdle) {
        ++env_.counters->paws_rejected;
        t.ack_now = true;
        return;
    }

    // First, check sequence number (§3.10.7.4).
    if (!segment_acceptable(seg)) {
        ++env_.counters->out_of_window;
        if (seg.rst()) return;
        // A retransmitted SYN in SYN-RECEIVED means our SYN-ACK was lost:
        // send it again (as Linux does) instead of a bare ACK.
        if (t.state == State::kSynReceived && seg.syn() && !seg.ack_flag() && seg.seq == t.irs) {
            t.snd_nxt = t.iss;
            return;
        }
        t.ack_now = true;  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        return;
    }
    // RFC 7323 §5.3 R3 / §4.3: remember TSval when the segment covers
    // Last.ACK.sent.
    if (t.ts_enabled && ts && !ts_before(ts->tsval, t.ts_recent) && seg.seq <= t.last_ack_sent) {
        t.ts_recent = ts->tsval;
        t.ts_recent_age = now;
    }
    restart_keepalive(now);

    // Trim the text to the window (§3.10.7.4: "segments with higher
    // beginning sequence numbers ... held"; the part before RCV.NXT is old).
    SeqNum data_seq = seg.seq + (seg.syn() ? 1u : 0u);
    std::uint32_t data_off = payload_offset;
    std::uint32_t data_len = seg.payload_len;
    bool fin = seg.fin();
    if (data_seq < t.rcv_nxt) {
        const std::uint32_t skip = std::min(seq_dist(data_seq, t.rcv_nxt), data_len);
        data_seq += skip;
        data_off += skip;
        data_len -= skip;
        if (fin && data_len == 0 && data_seq < t.rcv_nxt) fin = false;  // an old FIN
    }
    const SeqNum wnd_right = t.rcv_nxt + rcv_wnd();
    if (data_seq + data_len > wnd_right) {
        data_len = data_seq < wnd_right ? seq_dist(data_seq, wnd_right) : 0;
        fin = false;       // the FIN lies beyond the window
        t.ack_now = true;  // tell the sender where the window ends
    }

    // Second, check the RST bit (RFC 5961 §3.2 replaces RFC 793's rule).
    if (seg.rst()) {
        ++env_.counters->resets_received;
        if (seg.seq != t.rcv_nxt) {
            // In the window but not exact: challenge ACK (RFC 5961 §3.2).
            send_challenge_ack(now);
            return;
        }
        switch (t.state) {
            case State::kSynReceived:
                // Passive: back to LISTEN (the stack drops this embryo, the
                // listener stays). Active: "connection refused".
                enter_closed(t.passive ? CloseReason::kReset : CloseReason::kRefused);
                return;
            case State::kEstablished:
            case State::kFinWait1:
            case State::kFinWait2:
            case State::kCloseWait:
                enter_closed(CloseReason::kReset);
                return;
            case State::kClosing:
            case State::kLastAck:
                enter_closed(CloseReason::kNormal);
                return;
            case State::kTimeWait:
                // RFC 1337 §3 (TIME-WAIT assassination, fix F1): ignore.
                return;
            default:
                return;
        }
    }

    // Third, security: not implemented (no IP security compartments).

    // Fourth, check the SYN bit (RFC 5961 §4.2, RFC 9293 §3.10.7.4).
    if (seg.syn()) {
        if (t.state == State::kSynReceived && t.passive) {
            // "return this connection to the LISTEN state": the stack
            // drops the embryo; the listener is untouched.
            enter_closed(CloseReason::kReset);
            return;
        }
        send_challenge_ack(now);
        return;
    }

    // Fifth, check the ACK field.
    if (!seg.ack_flag()) return;  // "if the ACK bit is off, drop the segment"
    if (t.state == State::kSynReceived) {
        // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state".
        if (!(t.snd_una < seg.ack && seg.ack <= t.snd_max)) {
            send_rst(now, seg.ack);  // <SEQ=SEG.ACK><CTL=RST>
            return;
        }
        t.snd_una = seg.ack;
        if (t.snd_nxt < t.snd_una) t.snd_nxt = t.snd_una;
        t.snd_wnd = static_cast<std::uint32_t>(seg.window) << t.snd_wscale;
        t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
        if (t.ts_enabled && ts->tsecr != 0)
            update_rtt(now, std::chrono::milliseconds(ts_now(now) - ts->tsecr));
        else if (t.rtt_timing)
            update_rtt(now, now - t.rtt_start);
        t.rtt_timing = false;
        t.retries = 0;
        t.rtx_deadline = kNever;
        t.state = t.fin_queued ? State::kFinWait1 : State::kEstablished;
        t.events |= event::kConnected | event::kWritable;
    } else if (!process_ack(now, seg)) {
        return;
    }

    // Sixth, check the URG bit: urgent data is not supported (RFC 9293
    // §3.8.5 keeps it only for legacy use); the bytes are ordinary data.

    // Seventh, process the segment text.
    if (data_len > 0) process_text(now, seg, data_seq, std::move(m), data_off, data_len);
    if (t.state == State::kClosed) return;

    // Eighth, check the FIN bit (only once every byte before it is in).
    if (fin) {
        const SeqNum fin_seq = data_seq + data_len;
        if (fin_seq == t.rcv_nxt) {
            process_fin(now);
        } else if (fin_seq > t.rcv_nxt) {
            t.ooo_fin = true;
            t.ooo_fin_seq = fin_seq;
        }
    }
    if (t.ooo_fin && t.ooo_fin_seq == t.rcv_nxt && !t.fin_received) process_fin(now);
}

// §3.10.7.4 "fifth, check the ACK field" for ESTABLISHED and later states.
bool Connection::process_ack(Instant now, const TcpRepr& seg) {
    auto& t = tcb_;
    // RFC 5961 §5.2: acceptable only if
    // (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT; otherwise ACK and drop.
    if (seg.ack > t.snd_max) {
        ++env_.counters->ack_out_of_range;
        send_challenge_ack(now);
        return false;
    }
    if (seg.ack < t.snd_una - t.max_snd_wnd) {
        ++env_.counters->ack_out_of_range;
        send_challenge_ack(now);
        return false;
    }
    const std::uint32_t new_wnd = static_cast<std::uint32_t>(seg.window) << t.snd_wscale;
    if (t.sack_enabled) {
        process_ack_sack(now, seg, new_wnd);
    } else if (t.snd_una < seg.ack) {
        on_new_ack(now, seg, seq_dist(t.snd_una, seg.ack));
    } else if (seg.ack == t.snd_una && seg.payload_len == 0 && !seg.syn() && !seg.fin() &&
               new_wnd == t.snd_wnd && t.snd_max > t.snd_una) {
        // RFC 5681 §2 "DUPLICATE ACKNOWLEDGMENT" (a)-(e).
        on_dup_ack(now);
    }
    // Send window update: (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)).
    if (t.snd_wl1 < seg.seq || (t.snd_wl1 == seg.seq && t.snd_wl2 <= seg.ack)) {
        t.snd_wnd = new_wnd;
        t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
        if (t.snd_wnd > 0) {
            t.persist_deadline = kNever;
            t.persist_backoff = 0;
        }
    }
    switch (t.state) {
        case State::kFinWait1:
            // "if the FIN segment is now acknowledged, then enter FIN-WAIT-2".
            if (fin_acked()) {
                t.state = State::kFinWait2;
                if (t.app_closed) t.state_deadline = now + cfg_.fin_wait2_timeout;
            }
            return true;
        case State::kClosing:
            // "if the ACK acknowledges our FIN, then enter TIME-WAIT; otherwise, ignore".
            if (fin_acked()) enter_time_wait(now);
            return false;
        case State::kLastAck:
            // "If our FIN is now acknowledged, delete the TCB ... return."
            if (fin_acked()) enter_closed(CloseReason::kNormal);
            return false;
        case State::kTimeWait:
            // Only a retransmitted FIN can arrive; the FIN step ACKs it.
            return true;
        default:
            return true;
    }
}

void Connection::on_new_ack(Instant now, const TcpRepr& seg, std::uint32_t acked_len) {
    auto& t = tcb_;
    const SeqNum ack = seg.ack;
    // RTT sample: timestamps (RFC 7323 §4.1) or the one timed segment
    // (RFC 6298 §3, Karn's rule: never a retransmitted one).
    if (t.ts_enabled && seg.options.timestamps && seg.options.timestamps->tsecr != 0) {
        const std::uint32_t ms = ts_now(now) - seg.options.timestamps->tsecr;
        if (ms < 60'000) update_rtt(now, std::chrono::milliseconds(ms));
    } else if (t.rtt_timing && ack > t.rtt_seq) {
        update_rtt(now, now - t.rtt_start);
        t.rtt_timing = false;
    }
    t.retries = 0;
    // Release acknowledged data.
    std::uint32_t data_acked = 0;
    if (ack > t.tx_seq) {
        data_acked = std::min(seq_dist(t.tx_seq, ack), tx_.bytes());
        tx_.consume(data_acked);
        t.tx_seq += data_acked;
    }
    t.snd_una = ack;
    if (t.snd_nxt < t.snd_una) t.snd_nxt = t.snd_una;
    const std::uint32_t mss = t.cc.mss;
    if (t.sack_enabled) {
        // RFC 6675: the scoreboard already moved HighACK (process_ack_sack).
        if (sb_.in_recovery()) {
            const bool after_rto = sb_.after_rto();
            if (sb_.maybe_exit_recovery()) {
                // §5 (A): RecoveryPoint acknowledged. cwnd is ssthresh since
                // the entry (§5 step 4.2), or grew by slow start after an RTO.
                t.dup_acks = 0;
                cc_algo_->on_recovery_exit(t.cc, now);
            } else if (after_rto) {
                // §5.1: after an RTO the window grows by slow start while the
                // holes are repaired; in fast recovery it stays at ssthresh
                // and pipe paces the sending (§5 step C).
                cc_algo_->on_ack(t.cc, now, acked_len, t.srtt);
            }
        } else {
            t.dup_acks = 0;
            cc_algo_->on_ack(t.cc, now, acked_len, t.srtt);
        }
    } else if (t.in_recovery) {
        if (ack >= t.recover) {
            // RFC 6582 §3.2 step 3, full acknowledgment: deflate.
            t.cc.cwnd = std::min(t.cc.ssthresh, std::max(flight_len(), mss) + mss);
            t.in_recovery = false;
            t.dup_acks = 0;
            cc_algo_->on_recovery_exit(t.cc, now);
        } else {
            // Step 4, partial acknowledgment: retransmit the first
            // unacknowledged segment, deflate by the amount acknowledged.
            if (t.rtx_next <= t.snd_una) {
                ++env_.counters->retransmits;
                const std::int64_t used = send_at(now, t.snd_una, mss, true);
                t.rtx_next = t.snd_una + static_cast<std::uint32_t>(used > 0 ? used : 0);
            }
            t.cc.cwnd = t.cc.cwnd > acked_len ? t.cc.cwnd - acked_len : mss;
            if (acked_len >= mss) t.cc.cwnd += mss;
            t.rtt_timing = false;
        }
    } else {
        t.dup_acks = 0;
        cc_algo_->on_ack(t.cc, now, acked_len, t.srtt);
    }
    // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart.
    t.rtx_deadline = t.snd_max > t.snd_una ? now + t.rto : kNever;
    // RFC 8985 §7.2: re-arm the probe timer from this ACK; the episode of
    // a probe ends once the ACK covers it.
    t.tlp_deadline = kNever;
    if (t.tlp_outstanding && ack >= t.tlp_end_seq) t.tlp_outstanding = false;
    if (t.want_writable && data_acked > 0 && send_space() > 0) {
        t.want_writable = false;
        t.events |= event::kWritable;
    }
}

void Connection::on_dup_ack(Instant now) {
    auto& t = tcb_;
    ++t.dup_acks;
    const std::uint32_t mss = t.cc.mss;
    if (t.in_recovery) {
        t.cc.cwnd += mss;  // RFC 5681 §3.2 step 4: inflate
        return;
    }
    // RFC 6582 §3.2 step 2: enter recovery only if the ACK covers more than
    // `recover` (no second fast retransmit for the same loss).
    if (t.dup_acks == 3 && (t.recover == SeqNum{} || t.snd_una - 1 >= t.recover)) {
        ++env_.counters->fast_retransmits;
        ++env_.counters->retransmits;
        cc_algo_->on_loss(t.cc, now, flight_len());
        t.recover = t.snd_max;
        t.in_recovery = true;
        t.rtt_timing = false;
        const std::int64_t used = send_at(now, t.snd_una, mss, true);
        t.rtx_next = t.snd_una + static_cast<std::uint32_t>(used > 0 ? used : 0);
        t.cc.cwnd = t.cc.ssthresh + 3 * mss;
    }
}

void Connection::process_ack_sack(Instant now, const TcpRepr& seg, std::uint32_t new_wnd) {
    auto& t = tcb_;
    const SeqNum old_una = t.snd_una;
    const bool advanced = old_una < seg.ack;
    // §5: "Upon the receipt of any ACK containing SACK information, the
    // scoreboard MUST be updated via the Update() routine" (and HighACK
    // moves with every cumulative ACK).
    const std::uint64_t lost_before = sb_.lost_retransmissions();
    const std::uint32_t newly_sacked = sb_.update(
        advanced ? seg.ack : old_una, t.snd_max,
        std::span<const SackBlock>(seg.options.sack_blocks.data(), seg.options.num_sack_blocks),
        t.cc.mss);
    env_.counters->lost_retransmits += sb_.lost_retransmissions() - lost_before;
    if (newly_sacked > 0 || advanced) {
        t.tlp_deadline = kNever;  // re-armed in transmit()
        t.stall_probes = 0;
    }
    if (advanced) on_new_ack(now, seg, seq_dist(old_una, seg.ack));  // DupAcks = 0
    if (sb_.in_recovery() || !(t.snd_max > t.snd_una)) return;
    // §2 duplicate acknowledgment: no data, no SYN/FIN, and new SACK
    // information (regardless of a cumulative advance, §5). An ACK without
    // any SACK block still counts the RFC 5681 way, so that a peer which
    // negotiated SACK but never sends blocks still gets fast retransmit.
    const bool pure = seg.payload_len == 0 && !seg.syn() && !seg.fin();
    const bool classic = !advanced && seg.options.num_sack_blocks == 0 && new_wnd == t.snd_wnd;
    if (pure && (newly_sacked > 0 || classic)) ++t.dup_acks;
    // §5 steps 1-2: DupThresh duplicates, or IsLost(HighACK + 1).
    if (t.dup_acks >= Scoreboard::kDupThresh || sb_.is_lost(t.snd_una)) {
        enter_sack_recovery(now);
    } else if (t.tlp_outstanding && sb_.is_sacked(t.tlp_end_seq - 1)) {
        // The tail loss probe arrived but what was sent a PTO or more
        // before it did not: RFC 8985 (RACK, §6.2) deems that lost, as the
        // reordering window is far shorter than a PTO. Without this a
        // window of two or three segments with two losses waits for the
        // RTO even though the probe did its job.
        enter_sack_recovery(now, /*probe_arrived=*/true);
    }
}

void Connection::enter_sack_recovery(Instant now, bool probe_arrived) {
    auto& t = tcb_;
    ++env_.counters->fast_retransmits;
    t.tlp_deadline = kNever;
    t.tlp_outstanding = false;
    sb_.sent_new_data(t.snd_max);
    // (4.1) RecoveryPoint = HighData.
    sb_.enter_recovery();
    if (probe_arrived) sb_.mark_stalled_lost();
    // (4.2) ssthresh from the algorithm (FlightSize / 2 for NewReno, beta
    // * cwnd for CUBIC), then cwnd = ssthresh.
    cc_algo_->on_loss(t.cc, now, flight_len());
    t.cc.cwnd = t.cc.ssthresh;
    t.rtt_timing = false;  // Karn
    // (4.3) Retransmit the segment at HighACK + 1 (up to the first SACKed
    // block); HighRxt and RescueRxt cover it.
    const std::uint32_t len = sb_.retransmit_len(t.snd_una, effective_mss());
    const std::int64_t used = send_at(now, t.snd_una, len, t.snd_max > data_end());
    if (used > 0) {
        ++env_.counters->retransmits;
        sb_.on_retransmit(Scoreboard::Rule::kNone, t.snd_una,
                          std::min(len, static_cast<std::uint32_t>(used)));
    }
    // (4.4)-(4.5): SetPipe and step C run in transmit().
}

bool Connection::transmit_sack_recovery(Instant now) {
    auto& t = tcb_;
    bool sent = false;
    const std::uint32_t mss = effective_mss();
    sb_.sent_new_data(t.snd_max);
    for (int guard = 0; guard < 4096; ++guard) {
        // (C) cwnd - pipe >= 1 SMSS.
        if (t.cc.cwnd < sb_.pipe() + mss) break;
        // NextSeg rule 2 needs to know whether new data may go: a full
        // segment (or the tail of the queue, or the FIN) inside the peer's
        // window. Nagle and SWS avoidance do not hold back recovery.
        const std::uint32_t unsent = unsent_len();
        const bool fin_pending = t.fin_queued && t.snd_nxt <= data_end();
        const SeqNum wnd_right = t.snd_una + t.snd_wnd;
        const std::uint32_t room = wnd_right > t.snd_nxt ? seq_dist(t.snd_nxt, wnd_right) : 0;
        const std::uint32_t new_len = std::min({unsent, room, mss});
        const bool new_ok =
            (new_len > 0 && (new_len == mss || new_len == unsent)) || (unsent == 0 && fin_pending);
        const Scoreboard::Next next = sb_.next_seg(new_ok, mss);
        if (next.rule == Scoreboard::Rule::kNone) break;
        if (next.rule == Scoreboard::Rule::kNewData) {
            const std::int64_t used = send_at(now, t.snd_nxt, new_len, fin_pending);
            if (used <= 0) break;
            t.snd_nxt += static_cast<std::uint32_t>(used);
            t.snd_max = seq_max(t.snd_max, t.snd_nxt);
            sb_.sent_new_data(t.snd_max);  // (C.3)
        } else {
            // A FIN goes with a retransmission only if it was sent before.
            const std::int64_t used = send_at(now, next.seq, next.len, t.snd_max > data_end());
            if (used <= 0) break;
            ++env_.counters->retransmits;
            ++env_.counters->sack_retransmits;
            sb_.on_retransmit(next.rule, next.seq,
                              std::min(next.len, static_cast<std::uint32_t>(used)));  // (C.2)
        }
        arm_rtx(now);
        sent = true;
    }
    return sent;
}

// §3.10.7.4 "seventh, process the segment text".
void Connection::process_text(Instant now, const TcpRepr&, SeqNum seq, MbufPtr m,
                              std::uint32_t offset, std::uint32_t len) {
    auto& t = tcb_;
    if (t.state != State::kEstablished && t.state != State::kFinWait1 &&
        t.state != State::kFinWait2)
        return;  // CLOSE-WAIT and later: "ignore the segment text"
    if (t.app_closed) {
        // Nobody will read: RFC 9293 §3.10.4 / RFC 1122 §4.2.2.13 allow a
        // reset; it tells the peer the data was not delivered.
        send_rst(now, t.snd_max);
        enter_closed(CloseReason::kAborted);
        return;
    }
    if (seq == t.rcv_nxt) {
        if (!rx_.push(m, offset, len)) {
            ++env_.counters->rx_queue_full;
            t.ack_now = true;
            return;
        }
        t.rcv_nxt += len;
        if (!ooo_.empty()) {
            t.rcv_nxt = ooo_.drain_into(t.rcv_nxt, rx_);
            t.ack_now = true;  // RFC 5681 §4.2: ACK at once when a hole fills
        }
        t.events |= event::kReadable;
        // RFC 9293 §3.8.6.3: ACK at least every second full-sized segment,
        // and within the delayed-ACK timeout otherwise.
        ++t.unacked_segs;
        if (!cfg_.delayed_ack || t.unacked_segs >= 2)
            t.ack_now = true;
        else if (t.delack_deadline == kNever)
            t.delack_deadline = now + cfg_.delayed_ack_timeout;
        return;
    }
    // Out of order: keep it if a slot is free; ACK at once (RFC 5681 §4.2,
    // the duplicate ACK the sender's fast retransmit counts; with SACK
    // blocks, RFC 2018 §4).
    if (ooo_.insert(seq, m, offset, len))
        ++env_.counters->ooo_queued;
    else
        ++env_.counters->ooo_dropped;
    t.ack_now = true;
}

// §3.10.7.4 "eighth, check the FIN bit".
void Connection::process_fin(Instant now) {
    auto& t = tcb_;
    if (t.fin_received) {
        t.ack_now = true;
        return;
    }
    t.fin_received = true;
    t.ooo_fin = false;
    t.rcv_nxt += 1;
    t.ack_now = true;
    t.events |= event::kReadable;
    switch (t.state) {
        case State::kSynReceived:
        case State::kEstablished:
            t.state = State::kCloseWait;
            break;
        case State::kFinWait1:
            // Our FIN acknowledged: TIME-WAIT; otherwise simultaneous close, CLOSING.
            if (fin_acked())
                enter_time_wait(now);
            else
                t.state = State::kClosing;
            break;
        case State::kFinWait2:
            enter_time_wait(now);
            break;
        case State::kTimeWait:
            t.state_deadline = now + 2 * cfg_.msl;  // "restart the 2 MSL time-wait timeout"
            break;
        default:
            break;  // CLOSE-WAIT, CLOSING, LAST-ACK: remain
    }
}

void Connection::update_rtt(Instant, Duration r) {
    auto& t = tcb_;
    if (r < Duration{0}) return;
    // RFC 6298 §2.2 / §2.3.
    if (!t.have_rtt) {
        t.srtt = r;
        t.rttvar = r / 2;
        t.have_rtt = true;
    } else {
        const Duration diff = t.srtt > r ? t.srtt - r : r - t.srtt;
        t.rttvar = (3 * t.rttvar + diff) / 4;
        t.srtt = (7 * t.srtt + r) / 8;
    }
    Duration rto = t.srtt + std::max(kClockGranularity, 4 * t.rttvar);
    t.rto = std::clamp(rto, cfg_.rto_min, cfg_.rto_max);  // §2.4, §2.5
}

void Connection::enter_time_wait(Instant now) {
    auto& t = tcb_;
    t.state = State::kTimeWait;
    t.state_deadline = now + 2 * cfg_.msl;
    t.rtx_deadline = t.tlp_deadline = t.persist_deadline = t.keepalive_deadline =
        t.delack_deadline = kNever;
    t.events |= event::kClosed;  // the application is done with it
    tx_.clear();
}

void Connection::enter_closed(CloseReason reason) {
    auto& t = tcb_;
    t.state = State::kClosed;
    t.close_reason = reason;
    t.events |= event::kClosed;
    t.rtx_deadline = t.tlp_deadline = t.persist_deadline = t.keepalive_deadline =
        t.delack_deadline = t.state_deadline = kNever;
    t.ack_now = false;
    tx_.clear();
    ooo_.clear();
}

void Connection::restart_keepalive(Instant now) {
    auto& t = tcb_;
    t.keepalive_sent = 0;
    if (cfg_.keepalive && synchronized(t.state) && t.state != State::kTimeWait)
        t.keepalive_deadline = now + cfg_.keepalive_idle;
}

// ---------------------------------------------------------------------------
// Output

std::uint16_t Connection::window_to_advertise() {
    auto& t = tcb_;
    const std::uint32_t free_len =
        cfg_.rcv_buf_len > rx_.bytes() ? cfg_.rcv_buf_len - rx_.bytes() : 0;
    SeqNum right = t.rcv_nxt + free_len;
    const SeqNum cur_right = seq_max(t.rcv_adv, t.rcv_nxt);
    // RFC 9293 §3.8.6.2.2 receiver SWS avoidance: move the right edge only
    // by at least min(buffer/2, Eff.snd.MSS).
    const std::uint32_t step = std::min<std::uint32_t>(cfg_.rcv_buf_len / 2, effective_mss());
    if (right > cur_right && seq_dist(cur_right, right) < step) right = cur_right;
    if (right < cur_right) right = cur_right;  // never shrink (§3.8.6.2.2)
    std::uint32_t wnd = seq_dist(t.rcv_nxt, right);
    std::uint32_t field = wnd >> t.rcv_wscale;
    if (field > 0xffffu) field = 0xffffu;
    // Round up so the right edge never moves left because of the shift.
    if ((field << t.rcv_wscale) < wnd && field < 0xffffu) ++field;
    t.rcv_adv = seq_max(t.rcv_adv, t.rcv_nxt + (field << t.rcv_wscale));
    return static_cast<std::uint16_t>(field);
}

void Connection::fill_options(TcpRepr& repr) const {
    const auto& t = tcb_;
    if (t.ts_enabled) repr.options.timestamps = Timestamps{0, t.ts_recent};  // tsval set at send
    if (t.sack_enabled && !ooo_.empty()) {
        const std::uint8_t max = t.ts_enabled ? 3 : 4;  // 40 bytes of options
        repr.options.num_sack_blocks = ooo_.sack_blocks(repr.options.sack_blocks.data(), max);
    }
}

bool Connection::send_repr(Instant now, TcpRepr& repr, std::uint32_t payload_from,
                           std::uint32_t payload_len) {
    auto& t = tcb_;
    repr.src_port = t.tuple.local.port;
    repr.dst_port = t.tuple.remote.port;
    if (repr.options.timestamps) repr.options.timestamps->tsval = ts_now(now);
    if (repr.ack_flag()) {
        repr.ack = t.rcv_nxt;
        t.last_ack_sent = t.rcv_nxt;
        t.ack_now = false;
        t.unacked_segs = 0;
        t.delack_deadline = kNever;
    }
    return emit_segment(env_, now, t.tuple.local.addr, t.tuple.remote.addr, repr, &tx_,
                        payload_from, payload_len);
}

std::int64_t Connection::send_at(Instant now, SeqNum seq, std::uint32_t max_len, bool allow_fin) {
    auto& t = tcb_;
    TcpRepr r;
    r.seq = seq;
    r.flags = flags::kAck;
    fill_options(r);
    r.window = window_to_advertise();
    const std::uint32_t opt_len = static_cast<std::uint32_t>(r.options.wire_len());
    std::uint32_t cap = effective_mss() > opt_len ? effective_mss() - opt_len : 1;
    // One mbuf per segment: cap by its data room.
    const std::uint32_t room = rte_pktmbuf_data_room_size(env_.pool);
    const std::uint32_t hdr_room = RTE_PKTMBUF_HEADROOM + kTcpMinHeaderLen + opt_len;
    cap = std::min(cap, room > hdr_room ? room - hdr_room : 1u);
    const SeqNum end = data_end();
    std::uint32_t len = 0;
    if (seq < end) len = std::min({max_len, cap, seq_dist(seq, end)});
    // A retransmission covers only what was sent: the callers that resend
    // from SND.UNA (fast retransmit, partial ACK) do not advance SND.MAX, so
    // a segment reaching past it would carry new data the sender never
    // accounts for, and the peer's ACK of it would be out of range forever.
    if (seq < t.snd_max) len = std::min(len, seq_dist(seq, t.snd_max));
    const bool fin = allow_fin && t.fin_queued && seq + len == end;
    if (fin) r.flags |= flags::kFin;
    if (len > 0 && seq + len == end) r.flags |= flags::kPsh;
    r.payload_len = len;
    const std::uint32_t from = len > 0 ? seq_dist(t.tx_seq, seq) : 0;
    if (!send_repr(now, r, from, len)) return -1;
    return static_cast<std::int64_t>(len) + (fin ? 1 : 0);
}

bool Connection::send_control(Instant now, SeqNum seq, std::uint8_t fl) {
    TcpRepr r;
    r.seq = seq;
    r.flags = fl;
    if (!(fl & flags::kRst)) {
        fill_options(r);
        r.window = window_to_advertise();
    }
    return send_repr(now, r, 0, 0);
}

void Connection::send_challenge_ack(Instant now) {
    // RFC 5961 §3.2/§4.2/§5.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, limited (§7).
    if (!env_.challenge_limiter->allow(now, cfg_.challenge_acks_per_second)) {
        ++env_.counters->challenge_acks_suppressed;
        return;
    }
    ++env_.counters->challenge_acks;
    send_ack_now(now);
}

void Connection::send_rst(Instant now, SeqNum seq) {
    (void)send_control(now, seq, flags::kRst);
}

void Connection::arm_rtx(Instant now) {
    if (tcb_.rtx_deadline == kNever) tcb_.rtx_deadline = now + tcb_.rto;
}

void Connection::transmit(Instant now) {
    auto& t = tcb_;
    t.output_pending = false;
    switch (t.state) {
        case State::kClosed:
        case State::kListen:
            return;
        case State::kSynSent:
        case State::kSynReceived: {
            if (t.snd_nxt == t.iss) {
                // <SEQ=ISS><CTL=SYN> or <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
                TcpRepr r;
                r.seq = t.iss;
                const bool syn_ack = t.state == State::kSynReceived;
                r.flags = syn_ack ? (flags::kSyn | flags::kAck) : flags::kSyn;
                const std::uint32_t free_len = cfg_.rcv_buf_len - rx_.bytes();
                r.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(free_len, 0xffff));
                t.rcv_adv = t.rcv_nxt + r.window;
                r.options.mss = cfg_.mss;
                if (syn_ack ? t.wscale_ok : cfg_.window_scaling)
                    r.options.window_scale = t.rcv_wscale;
                r.options.sack_permitted = syn_ack ? t.sack_enabled : cfg_.sack;
                if (syn_ack ? t.ts_enabled : cfg_.timestamps)
                    r.options.timestamps = Timestamps{0, syn_ack ? t.ts_recent : 0};
                if (!send_repr(now, r, 0, 0)) return;
                if (t.snd_max == t.iss && !t.rtt_timing && t.retries == 0) {
                    t.rtt_timing = true;
                    t.rtt_seq = t.iss;
                    t.rtt_start = now;
                }
                t.snd_nxt = t.iss + 1;
                t.snd_max = seq_max(t.snd_max, t.snd_nxt);
                arm_rtx(now);
            } else if (t.ack_now && t.state == State::kSynReceived) {
                send_ack_now(now);
            }
            return;
        }
        default:
            break;
    }
    bool sent = false;
    if (can_send_data(t.state) && t.sack_enabled && sb_.in_recovery()) {
        sent = transmit_sack_recovery(now);
    } else if (can_send_data(t.state)) {
        for (int guard = 0; guard < 4096; ++guard) {
            const std::uint32_t mss = effective_mss();
            const std::uint32_t flight = flight_len();
            std::uint32_t cwnd_room;
            if (t.sack_enabled && t.dup_acks > 0) {
                // RFC 6675 §5 step 3: limited transmit governed by pipe
                // (SACKed segments have left the network).
                sb_.sent_new_data(t.snd_max);
                const std::uint32_t pipe = sb_.pipe();
                cwnd_room = t.cc.cwnd > pipe ? t.cc.cwnd - pipe : 0;
            } else {
                // RFC 3042 limited transmit: the first two duplicate ACKs
                // each let one new segment go beyond cwnd.
                const std::uint32_t limited =
                    !t.in_recovery && t.dup_acks > 0 && t.dup_acks < 3 ? t.dup_acks * mss : 0;
                cwnd_room = t.cc.cwnd + limited > flight ? t.cc.cwnd + limited - flight : 0;
            }
            const std::uint32_t rwnd_room = t.snd_wnd > flight ? t.snd_wnd - flight : 0;
            const std::uint32_t usable = std::min(cwnd_room, rwnd_room);
            const std::uint32_t unsent = unsent_len();
            const bool fin_pending = t.fin_queued && t.snd_nxt <= data_end();
            if (unsent == 0 && !fin_pending) break;
            const std::uint32_t len = std::min({unsent, usable, mss});
            if (unsent > 0 && len == 0) break;  // window closed
            if (len < unsent && len < mss && flight > 0) {
                // Sender SWS avoidance (§3.8.6.2.1): a partial segment only
                // when it is at least half the largest window seen. With
                // nothing in flight no ACK would come to open the window, so
                // the override (condition d) applies at once.
                if (!(t.max_snd_wnd > 0 && len >= t.max_snd_wnd / 2)) break;
            }
            // Nagle (§3.8.6.2.1, RFC 896): no small segment while data is
            // unacknowledged, unless the FIN goes with it.
            if (cfg_.nagle && len == unsent && len > 0 && len < mss && flight > 0 && !fin_pending)
                break;
            const bool retransmission = t.snd_nxt < t.snd_max;
            const std::int64_t used = send_at(now, t.snd_nxt, len, fin_pending);
            if (used <= 0) break;
            if (retransmission) {
                ++env_.counters->retransmits;
            } else if (!t.rtt_timing && !t.ts_enabled) {
                t.rtt_timing = true;  // RFC 6298 §3: time one segment per RTT
                t.rtt_seq = t.snd_nxt;
                t.rtt_start = now;
            }
            t.snd_nxt += static_cast<std::uint32_t>(used);
            t.snd_max = seq_max(t.snd_max, t.snd_nxt);
            arm_rtx(now);
            sent = true;
        }
        // Zero window with data waiting and nothing in flight: probe
        // (§3.8.6.1); the probe timer backs off like the RTO.
        // (After an RTO went back to SND.UNA, data beyond it may still be
        // unacknowledged; with the window shut nothing is resent and only
        // the probe keeps the connection moving.)
        if (unsent_len() > 0 && t.snd_wnd == 0 && t.snd_nxt == t.snd_una &&
            t.rtx_deadline == kNever && t.persist_deadline == kNever) {
            const Duration d = std::min<Duration>(t.rto * (1u << std::min(t.persist_backoff, 16u)),
                                                  cfg_.persist_max);
            t.persist_deadline = now + d;
        }
    }
    if (!sent && t.ack_now) send_ack_now(now);
    schedule_tlp(now);
}

Duration Connection::pto() const {
    const auto& t = tcb_;
    // RFC 8985 §7.2: PTO = 2 * SRTT, plus the peer's worst-case delayed ACK
    // when a single segment is in flight; 1 s without an RTT sample; never
    // beyond the RTO. The floor keeps reordering on sub-millisecond paths
    // (and the timer granularity of a busy loop) from firing probes.
    Duration pto = t.have_rtt ? 2 * t.srtt : Duration(1s);
    if (flight_len() <= effective_mss()) pto += kWorstCaseDelAck;
    pto = std::max(pto, cfg_.tlp_min);
    return std::min(pto, t.rto);
}

void Connection::schedule_tlp(Instant now) {
    auto& t = tcb_;
    // §7.2: only with SACK, one probe per episode, and with data
    // outstanding; re-armed after every ACK that moves SND.UNA or SACKs new
    // data. During SACK recovery the same timer watches for a stall.
    if (!cfg_.tail_loss_probe || !t.sack_enabled || !can_send_data(t.state) || t.in_recovery ||
        !(t.snd_max > t.snd_una) || t.tlp_deadline != kNever)
        return;
    // One TLP per episode, and none once an RTO fired unanswered.
    if (!sb_.in_recovery() && (t.tlp_outstanding || t.retries > 0)) return;
    // In recovery the stall probe backs off (PTO, 2 PTO, 4 PTO...) until an
    // ACK brings news, and stops where the RTO would fire anyway: a dead
    // peer sees a few probes per (exponentially backed-off) RTO period.
    const Instant at = now + pto() * (1u << std::min<std::uint32_t>(t.stall_probes, 16));
    if (at < t.rtx_deadline) t.tlp_deadline = at;
}

void Connection::on_tlp_timeout(Instant now) {
    auto& t = tcb_;
    t.tlp_deadline = kNever;
    if (!t.sack_enabled || !can_send_data(t.state) || t.in_recovery || !(t.snd_max > t.snd_una))
        return;
    if (sb_.in_recovery()) {
        // No ACK for a PTO during recovery. With a window of a few
        // segments, RFC 6675 alone deadlocks here: a hole needs DupThresh
        // segments SACKed above it to count as lost, a lost retransmission
        // needs as much new data SACKed after it, and cwnd - pipe stays
        // below one SMSS, so nothing is sent and only the RTO (200 ms or
        // more, hundreds of RTTs) ends it. RFC 8985 RACK declares such
        // segments lost once a reordering window has passed: do the same,
        // then send per NextSeg, and at least one segment (a probe).
        ++env_.counters->recovery_stalls;
        ++t.stall_probes;  // backs off until the next ACK brings news
        sb_.mark_stalled_lost();
        if (transmit_sack_recovery(now)) return;
        const Scoreboard::Next next = sb_.next_seg(false, effective_mss());
        if (next.rule != Scoreboard::Rule::kNone && next.rule != Scoreboard::Rule::kNewData) {
            const std::int64_t used = send_at(now, next.seq, next.len, t.snd_max > data_end());
            if (used > 0) {
                ++env_.counters->retransmits;
                ++env_.counters->sack_retransmits;
                sb_.on_retransmit(next.rule, next.seq,
                                  std::min(next.len, static_cast<std::uint32_t>(used)));
            }
            return;
        }
        // Nothing below the highest SACK is left to resend: the loss is at
        // the tail, as for a TLP.
        (void)send_probe(now);
        return;
    }
    if (t.tlp_outstanding) return;
    if (send_probe(now) <= 0) return;
    ++env_.counters->tlp_probes;
    t.tlp_outstanding = true;
    t.tlp_end_seq = t.snd_max;
    t.rtx_deadline = now + t.rto;  // §7.3: the RTO follows the probe
}

std::int64_t Connection::send_probe(Instant now) {
    auto& t = tcb_;
    // RFC 8985 §7.3: one new segment if the window allows; otherwise the
    // last segment sent (the highest one not SACKed). Either draws an ACK
    // whose SACK blocks start or advance recovery (RFC 6675).
    const std::uint32_t mss = effective_mss();
    const std::uint32_t unsent = unsent_len();
    const SeqNum wnd_right = t.snd_una + t.snd_wnd;
    const std::uint32_t room = wnd_right > t.snd_nxt ? seq_dist(t.snd_nxt, wnd_right) : 0;
    const std::uint32_t new_len = std::min({unsent, room, mss});
    const bool fin_pending = t.fin_queued && t.snd_nxt <= data_end();
    if (new_len > 0 || (unsent == 0 && fin_pending)) {
        const std::int64_t used = send_at(now, t.snd_nxt, new_len, fin_pending);
        if (used > 0) {
            t.snd_nxt += static_cast<std::uint32_t>(used);
            t.snd_max = seq_max(t.snd_max, t.snd_nxt);
            sb_.sent_new_data(t.snd_max);
        }
        return used;
    }
    sb_.sent_new_data(t.snd_max);
    const SeqNum end = seq_max(sb_.highest_unsacked_end(), t.snd_una + 1);
    const SeqNum seq = seq_dist(t.snd_una, end) > mss ? end - mss : t.snd_una;
    const std::int64_t used = send_at(now, seq, seq_dist(seq, end), t.snd_max > data_end());
    if (used > 0) ++env_.counters->retransmits;
    return used;
}

// ---------------------------------------------------------------------------
// Timers (RFC 9293 §3.10.8)

void Connection::poll(Instant now) {
    auto& t = tcb_;
    if (t.rtx_deadline <= now) on_rtx_timeout(now);
    if (t.tlp_deadline <= now) on_tlp_timeout(now);
    if (t.persist_deadline <= now) on_persist_timeout(now);
    if (t.delack_deadline <= now) {
        t.delack_deadline = kNever;
        t.ack_now = true;
    }
    if (t.keepalive_deadline <= now) on_keepalive_timeout(now);
    if (t.state_deadline <= now) {
        // TIME-WAIT timeout (§3.10.8) or the FIN-WAIT-2 timeout.
        t.state_deadline = kNever;
        if (t.state == State::kTimeWait || t.state == State::kFinWait2)
            enter_closed(t.state == State::kTimeWait ? CloseReason::kNormal
                                                     : CloseReason::kTimeout);
    }
    transmit(now);
}

Instant Connection::poll_at() const {
    const auto& t = tcb_;
    return std::min({t.rtx_deadline, t.tlp_deadline, t.persist_deadline, t.delack_deadline,
                     t.keepalive_deadline, t.state_deadline});
}

void Connection::on_rtx_timeout(Instant now) {
    auto& t = tcb_;
    t.rtx_deadline = kNever;
    t.tlp_deadline = kNever;
    t.tlp_outstanding = false;
    if (t.snd_max == t.snd_una) return;  // nothing outstanding
    ++t.retries;
    const bool handshake = t.state == State::kSynSent || t.state == State::kSynReceived;
    const std::uint32_t limit = handshake ? cfg_.max_syn_retransmissions : cfg_.max_retransmissions;
    if (t.retries > limit) {
        // §3.8.3 R2: give up.
        if (synchronized(t.state)) send_rst(now, t.snd_max);
        enter_closed(CloseReason::kTimeout);
        return;
    }
    ++env_.counters->rto_timeouts;
    if (!handshake) {
        // RFC 5681 §3.1 eq. 4 and the loss window; RFC 6582 §3.2 step 1.
        cc_algo_->on_rto(t.cc, now, seq_dist(t.snd_una, t.snd_max));
        t.in_recovery = false;
        t.dup_acks = 0;
        t.recover = t.snd_max;
    }
    // RFC 6298 §5.5: back off.
    t.rto = std::min(t.rto * 2, cfg_.rto_max);
    t.rtt_timing = false;  // Karn
    if (!handshake && t.sack_enabled && can_send_data(t.state)) {
        // RFC 6675 §5.1: keep the SACK information; every unSACKed byte up
        // to HighData is lost and none counts as retransmitted. transmit()
        // resends the holes from SND.UNA in slow start, skipping SACKed data.
        sb_.update(t.snd_una, t.snd_max, {}, t.cc.mss);
        sb_.on_rto();
        return;
    }
    // §5.4: retransmit the earliest segment (go back to SND.UNA and resend
    // from there as the window allows).
    t.snd_nxt = t.snd_una;
}

void Connection::on_persist_timeout(Instant now) {
    auto& t = tcb_;
    t.persist_deadline = kNever;
    if (t.snd_wnd > 0 || unsent_len() == 0 || !can_send_data(t.state)) return;
    // A zero-length segment with an old sequence number draws an ACK
    // carrying the current window (Linux's probe; RFC 9293 §3.8.6.1 allows
    // any segment that elicits one, and this consumes no sequence space).
    ++env_.counters->window_probes;
    (void)send_control(now, t.snd_una - 1, flags::kAck);
    ++t.persist_backoff;
    const Duration d =
        std::min<Duration>(t.rto * (1u << std::min(t.persist_backoff, 16u)), cfg_.persist_max);
    t.persist_deadline = now + d;
}

void Connection::on_keepalive_timeout(Instant now) {
    auto& t = tcb_;
    t.keepalive_deadline = kNever;
    if (!cfg_.keepalive || !synchronized(t.state) || t.state == State::kTimeWait) return;
    if (t.snd_max != t.snd_una) {
        // Data outstanding: the retransmission timer watches the peer.
        t.keepalive_deadline = now + cfg_.keepalive_interval;
        return;
    }
    if (t.keepalive_sent >= cfg_.keepalive_probes) {
        send_rst(now, t.snd_max);
        enter_closed(CloseReason::kTimeout);
        return;
    }
    // §3.8.4: SEG.SEQ = SND.NXT-1, no data, draws an ACK.
    ++env_.counters->keepalive_probes;
    ++t.keepalive_sent;
    (void)send_control(now, t.snd_max - 1, flags::kAck);
    t.keepalive_deadline = now + cfg_.keepalive_interval;
}

// ---------------------------------------------------------------------------
// Application calls (RFC 9293 §3.10.2-3.10.5)

std::uint32_t Connection::send(ByteSpan data) {
    auto& t = tcb_;
    const bool open = t.state == State::kSynSent || t.state == State::kSynReceived ||
                      t.state == State::kEstablished || t.state == State::kCloseWait;
    if (!open || t.fin_queued) return 0;  // "error: connection closing"
    const std::uint32_t want = std::min<std::uint32_t>(
        static_cast<std::uint32_t>(std::min<std::size_t>(data.size(), 0xffffffffu)), send_space());
    const std::uint32_t n = want ? tx_.append_copy(data.first(want), env_.pool) : 0;
    if (n < data.size()) t.want_writable = true;
    if (n > 0) t.output_pending = true;
    return n;
}

bool Connection::send_mbuf(MbufPtr& m, std::uint32_t offset, std::uint32_t len) {
    auto& t = tcb_;
    const bool open = t.state == State::kSynSent || t.state == State::kSynReceived ||
                      t.state == State::kEstablished || t.state == State::kCloseWait;
    if (!open || t.fin_queued || len > send_space() || !m ||
        std::uint64_t{offset} + len > m->pkt_len) {
        t.want_writable = true;
        return false;
    }
    if (!tx_.push(m, offset, len)) {
        t.want_writable = true;
        return false;
    }
    t.output_pending = true;
    return true;
}

std::uint32_t Connection::recv(MutableByteSpan out) {
    const std::uint32_t n = std::min<std::uint32_t>(
        static_cast<std::uint32_t>(std::min<std::size_t>(out.size(), 0xffffffffu)), rx_.bytes());
    if (n == 0) return 0;
    if (!rx_.copy_out(0, out.first(n))) return 0;
    consume(n);
    return n;
}

bool Connection::recv_mbuf(MbufPtr& out, std::uint32_t& out_offset, std::uint32_t& out_len) {
    if (rx_.empty()) return false;
    if (!rx_.pop_front(out, out_offset, out_len)) return false;
    after_consume();
    return true;
}

void Connection::consume(std::uint32_t n) {
    rx_.consume(n);
    after_consume();
}

void Connection::after_consume() {
    auto& t = tcb_;
    const std::uint32_t before = rcv_wnd();
    // Window update (§3.8.6.2.2): tell the peer once the window has grown
    // by at least min(buffer/2, MSS) over what it was last told. Not once
    // its FIN is in: it sends no more data, and a peer that has since
    // closed would answer the update with a RST (TIME-WAIT keeps the slot
    // while the application still reads, see TcpStack::after_read).
    const std::uint32_t free_len = cfg_.rcv_buf_len - rx_.bytes();
    const std::uint32_t step = std::min<std::uint32_t>(cfg_.rcv_buf_len / 2, effective_mss());
    if (synchronized(t.state) && !t.fin_received && free_len >= before + step) {
        t.ack_now = true;
        t.output_pending = true;
    }
}

void Connection::shutdown() {
    auto& t = tcb_;
    switch (t.state) {
        case State::kListen:
        case State::kSynSent:
            // "delete the TCB" (§3.10.4).
            enter_closed(CloseReason::kNormal);
            return;
        case State::kSynReceived:
            // The FIN follows once ESTABLISHED (§3.10.4 SYN-RECEIVED).
            t.fin_queued = true;
            return;
        case State::kEstablished:
            t.fin_queued = true;
            t.state = State::kFinWait1;
            t.output_pending = true;
            return;
        case State::kCloseWait:
            t.fin_queued = true;
            t.state = State::kLastAck;
            t.output_pending = true;
            return;
        default:
            return;  // already closing: "error: connection closing"
    }
}

void Connection::close(Instant now) {
    auto& t = tcb_;
    if (synchronized(t.state) && t.state != State::kTimeWait && rx_.bytes() > 0) {
        // RFC 2525 §2.17: closing with unread data resets the connection.
        abort(now);
        return;
    }
    t.app_closed = true;
    shutdown();
    if (t.state == State::kFinWait2 && t.state_deadline == kNever)
        t.state_deadline = now + cfg_.fin_wait2_timeout;
}

void Connection::abort(Instant now) {
    auto& t = tcb_;
    // §3.10.5: <SEQ=SND.NXT><CTL=RST> in SYN-RECEIVED, ESTABLISHED,
    // FIN-WAIT-1/2 and CLOSE-WAIT; nothing otherwise.
    switch (t.state) {
        case State::kSynReceived:
        case State::kEstablished:
        case State::kFinWait1:
        case State::kFinWait2:
        case State::kCloseWait:
            send_rst(now, t.snd_max);
            break;
        default:
            break;
    }
    rx_.clear();
    enter_closed(CloseReason::kAborted);
}

}  // namespace l45::tcp
