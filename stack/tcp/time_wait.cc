// The compact TIME-WAIT table. See time_wait.h.
#include "stack/tcp/time_wait.h"

#include <algorithm>

namespace l45::tcp {

TimeWaitState time_wait_state_of(const Connection& c) {
    TimeWaitState s;
    s.tuple = c.tuple();
    s.snd_nxt = c.snd_max();
    s.rcv_nxt = c.rcv_nxt();
    // The window last advertised, as the field our ACKs carried: a
    // TIME-WAIT ACK must not shrink it (RFC 9293 §3.8.6.2.2).
    s.window =
        static_cast<std::uint16_t>(std::min<std::uint32_t>(c.rcv_wnd() >> c.rcv_wscale(), 0xffffu));
    s.ts_enabled = c.timestamps_enabled();
    s.ts_recent = c.ts_recent();
    s.ts_offset = c.ts_offset();
    return s;
}

TimeWaitTable::TimeWaitTable(std::uint32_t capacity, const IsnGenerator& keys,
                             TcpCounters& counters)
    : keys_(keys),
      counters_(counters),
      capacity_(capacity),
      entries_(std::make_unique<Entry[]>(std::max<std::uint32_t>(capacity, 1))) {
    for (std::uint32_t i = capacity_; i-- > 0;) {
        entries_[i].newer = free_head_;
        free_head_ = i;
    }
    std::uint32_t table_size = 16;
    while (table_size < 2 * capacity_)
        table_size *= 2;
    table_ = std::make_unique<std::uint32_t[]>(table_size);
    std::fill_n(table_.get(), table_size, kNone);
    table_mask_ = table_size - 1;
}

FourTuple TimeWaitTable::tuple_of(const Entry& e) {
    return FourTuple{{net::Ipv4Addr{e.local_addr}, e.local_port},
                     {net::Ipv4Addr{e.remote_addr}, e.remote_port}};
}

// --- the 4-tuple index: linear probing, backward-shift deletion (as the
// connection table in stack.cc), keyed so a peer cannot aim at one bucket ---

std::uint32_t TimeWaitTable::home(const FourTuple& t) const {
    return static_cast<std::uint32_t>(
               keys_.keyed(3, t.local.addr, t.local.port, t.remote.addr, t.remote.port, 0)) &
           table_mask_;
}

std::uint32_t TimeWaitTable::find(const FourTuple& tuple) const {
    if (num_entries_ == 0) return kNone;
    for (std::uint32_t i = home(tuple);; i = (i + 1) & table_mask_) {
        const std::uint32_t idx = table_[i];
        if (idx == kNone) return kNone;
        if (tuple_of(entries_[idx]) == tuple) return idx;
    }
}

void TimeWaitTable::hash_insert(std::uint32_t idx) {
    std::uint32_t i = home(tuple_of(entries_[idx]));
    while (table_[i] != kNone)
        i = (i + 1) & table_mask_;
    table_[i] = idx;
}

void TimeWaitTable::hash_remove(std::uint32_t idx) {
    std::uint32_t i = home(tuple_of(entries_[idx]));
    while (table_[i] != idx) {
        if (table_[i] == kNone) return;  // not found (cannot happen)
        i = (i + 1) & table_mask_;
    }
    std::uint32_t hole = i;
    for (std::uint32_t j = (i + 1) & table_mask_; table_[j] != kNone; j = (j + 1) & table_mask_) {
        const std::uint32_t h = home(tuple_of(entries_[table_[j]]));
        const bool home_in_range = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
        if (!home_in_range) {
            table_[hole] = table_[j];
            hole = j;
        }
    }
    table_[hole] = kNone;
}

// --- the FIFO ---
//
// Every entry lives exactly 2*MSL from its insertion (or from its last
// restart, which moves it to the newest end), and `now` only grows, so the
// order of insertion is the order of expiry: the oldest entry is always the
// next to expire, expiry is "pop while oldest.expiry <= now", and eviction
// when full takes the same end. A doubly linked list over the fixed array
// (rather than a ring) lets a RST or a reopening SYN remove an entry from
// the middle, and a restart move it, in O(1) without leaving holes.

void TimeWaitTable::unlink(std::uint32_t idx) {
    Entry& e = entries_[idx];
    if (e.older != kNone)
        entries_[e.older].newer = e.newer;
    else
        oldest_ = e.newer;
    if (e.newer != kNone)
        entries_[e.newer].older = e.older;
    else
        newest_ = e.older;
    e.older = e.newer = kNone;
}

void TimeWaitTable::link_newest(std::uint32_t idx) {
    Entry& e = entries_[idx];
    e.older = newest_;
    e.newer = kNone;
    if (newest_ != kNone)
        entries_[newest_].newer = idx;
    else
        oldest_ = idx;
    newest_ = idx;
}

void TimeWaitTable::remove(std::uint32_t idx) {
    hash_remove(idx);
    unlink(idx);
    Entry& e = entries_[idx];
    e.live = false;
    e.newer = free_head_;
    free_head_ = idx;
    --num_entries_;
    counters_.time_wait_entries = num_entries_;
}

void TimeWaitTable::insert(Instant now, Duration lifetime, const TimeWaitState& s) {
    if (capacity_ == 0) {
        ++counters_.time_wait_evicted;
        return;
    }
    if (const std::uint32_t old = find(s.tuple); old != kNone) remove(old);  // cannot happen
    if (free_head_ == kNone) {
        // Full: the oldest entry gives up the rest of its 2*MSL.
        remove(oldest_);
        ++counters_.time_wait_evicted;
    }
    const std::uint32_t idx = free_head_;
    Entry& e = entries_[idx];
    free_head_ = e.newer;
    e.local_addr = s.tuple.local.addr.value;
    e.remote_addr = s.tuple.remote.addr.value;
    e.local_port = s.tuple.local.port;
    e.remote_port = s.tuple.remote.port;
    e.window = s.window;
    e.ts_enabled = s.ts_enabled;
    e.live = true;
    e.snd_nxt = s.snd_nxt.value();
    e.rcv_nxt = s.rcv_nxt.value();
    e.ts_recent = s.ts_recent;
    e.ts_offset = s.ts_offset;
    // Never before the newest entry's expiry, so the FIFO stays sorted
    // even if a caller's clock stepped back.
    e.expiry = now + lifetime;
    if (newest_ != kNone) e.expiry = std::max(e.expiry, entries_[newest_].expiry);
    link_newest(idx);
    hash_insert(idx);
    ++num_entries_;
    counters_.time_wait_entries = num_entries_;
}

void TimeWaitTable::expire(Instant now) {
    while (oldest_ != kNone && entries_[oldest_].expiry <= now) {
        remove(oldest_);
        ++counters_.time_wait_expired;
    }
}

// --- segments for a tuple in TIME-WAIT ---

bool TimeWaitTable::may_reopen(const Entry& e, const TcpRepr& syn, const TcpConfig& cfg) {
    // RFC 6191 §2. "Timestamps would be enabled for the new incarnation"
    // when we do timestamps and the SYN offers them.
    const auto& ts = syn.options.timestamps;
    const bool new_ts = cfg.timestamps && ts.has_value();
    const bool seq_above = syn.seq > SeqNum(e.rcv_nxt);
    if (e.ts_enabled) {
        if (!new_ts) return seq_above;
        // A later TSval proves the SYN is newer than anything of the old
        // incarnation (whatever its ISN); an equal one falls back on the ISN.
        if (ts_before(e.ts_recent, ts->tsval)) return true;
        return ts->tsval == e.ts_recent && seq_above;
    }
    // The old incarnation had no timestamps: a new one with them is safe
    // (its segments are told apart by PAWS), otherwise the ISN decides.
    return new_ts || seq_above;
}

void TimeWaitTable::send_ack(Instant now, const Entry& e, const TcpEnv& env) const {
    TcpRepr r;
    r.src_port = e.local_port;
    r.dst_port = e.remote_port;
    r.seq = SeqNum(e.snd_nxt);
    r.ack = SeqNum(e.rcv_nxt);
    r.flags = flags::kAck;
    r.window = e.window;
    if (e.ts_enabled) {
        // The connection's TSval clock (Connection::ts_now), so the peer's
        // PAWS sees it continue.
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
        r.options.timestamps =
            Timestamps{static_cast<std::uint32_t>(ms.count()) + e.ts_offset, e.ts_recent};
    }
    (void)send_bare_segment(env, now, net::Ipv4Addr{e.local_addr}, net::Ipv4Addr{e.remote_addr}, r);
}

TimeWaitTable::Verdict TimeWaitTable::on_segment(Instant now, const FourTuple& tuple,
                                                 const TcpRepr& seg, const TcpEnv& env,
                                                 bool listening) {
    const std::uint32_t idx = find(tuple);
    if (idx == kNone) return Verdict::kNotFound;
    Entry& e = entries_[idx];
    const TcpConfig& cfg = *env.config;
    const SeqNum rcv_nxt(e.rcv_nxt);
    const auto& ts = seg.options.timestamps;
    // RFC 7323 §5.3 R1 (PAWS). TS.Recent is at most 2*MSL old here, far
    // from the 24 days after which it stops counting.
    const bool paws_reject = e.ts_enabled && ts && ts_before(ts->tsval, e.ts_recent);

    if (seg.rst()) {
        // RFC 1337 says to ignore RSTs in TIME-WAIT (an old duplicate RST
        // would cut it short: "assassination"). We honour a RST, as Linux
        // does by default (tcp_rfc1337=0), but only one that passes
        // RFC 5961 §3.2's exact-match rule (SEG.SEQ = RCV.NXT) and PAWS
        // (which RFC 7323 §5.3 waives for RSTs; Linux keeps it, as here): an
        // old duplicate or a blind RST then hardly ever qualifies, while a
        // peer that lost its state and answers our challenge ACK below with
        // <SEQ=SEG.ACK><CTL=RST> frees the tuple for its next SYN at once.
        if (!paws_reject && seg.seq == rcv_nxt) {
            ++counters_.resets_received;
            ++counters_.time_wait_resets;
            remove(idx);
        } else {
            ++counters_.time_wait_dropped;
        }
        return Verdict::kConsumed;
    }

    if (seg.syn() && !seg.ack_flag()) {
        if (listening && may_reopen(e, seg, cfg)) {
            ++counters_.time_wait_reopened;
            remove(idx);
            return Verdict::kReopen;
        }
        // RFC 6191 would drop it silently; RFC 5961 §4.2 (and Linux) send
        // a challenge ACK, which tells a peer that really starts afresh to
        // reset this incarnation (see the RST case above).
        if (env.challenge_limiter->allow(now, cfg.challenge_acks_per_second)) {
            ++counters_.challenge_acks;
            ++counters_.time_wait_acks;
            send_ack(now, e, env);
        } else {
            ++counters_.challenge_acks_suppressed;
            ++counters_.time_wait_dropped;
        }
        return Verdict::kConsumed;
    }

    if (e.ts_enabled && !ts) {
        // RFC 7323 §3.2: a non-RST segment without TSopt is dropped.
        ++counters_.missing_timestamp;
        ++counters_.time_wait_dropped;
        return Verdict::kConsumed;
    }

    // RFC 9293 §3.10.7.4, TIME-WAIT: "The only thing that can arrive in this
    // state is a retransmission of the remote FIN. Acknowledge it, and
    // restart the 2 MSL timeout." It ends exactly at RCV.NXT.
    if (!paws_reject && seg.fin() && seg.ack_flag() && seg.seq + seg.seg_len() == rcv_nxt) {
        if (ts && !ts_before(ts->tsval, e.ts_recent)) e.ts_recent = ts->tsval;  // §4.3 R3
        unlink(idx);
        e.expiry = now + 2 * cfg.msl;
        if (newest_ != kNone) e.expiry = std::max(e.expiry, entries_[newest_].expiry);
        link_newest(idx);  // restarted: now the newest (the FIFO stays in expiry order)
        ++counters_.time_wait_fin_acks;
        send_ack(now, e, env);
        return Verdict::kConsumed;
    }

    // A duplicate of the peer's last ACK: nothing to say. Answering it
    // could start an ACK loop with a peer that is in TIME-WAIT too (after a
    // simultaneous close its ACKs are exactly these).
    if (!paws_reject && seg.seq == rcv_nxt && seg.seg_len() == 0) {
        ++counters_.time_wait_dropped;
        return Verdict::kConsumed;
    }

    // Anything else (old duplicates, data after the FIN, PAWS failures,
    // stray ACKs): §3.10.7.4 "first, check sequence number" answers an
    // unacceptable segment with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. Rate
    // limited with the challenge ACKs (Linux: tcp_timewait_check_oow_rate_limit).
    if (paws_reject) ++counters_.paws_rejected;
    if (env.challenge_limiter->allow(now, cfg.challenge_acks_per_second)) {
        ++counters_.time_wait_acks;
        send_ack(now, e, env);
    } else {
        ++counters_.time_wait_dropped;
    }
    return Verdict::kConsumed;
}

}  // namespace l45::tcp
