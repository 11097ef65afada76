#include "stack/net/arp_cache.h"

#include <algorithm>

namespace l45::net {

ArpCache::ArpCache(const ArpConfig& config, Counters& counters)
    : lifetime_(config.reachable_lifetime),
      retry_interval_(config.retry_interval),
      max_retries_(config.max_retries),
      // RFC 1122 2.3.2.2: SHOULD save at least one (the latest) packet.
      max_held_(std::max<std::size_t>(config.max_held_packets, 1)),
      counters_(counters),
      entries_(std::max<std::size_t>(config.cache_capacity, 1)),
      held_(entries_.size() * max_held_, nullptr) {}

ArpCache::~ArpCache() {
    for (rte_mbuf* m : held_)
        if (m) rte_pktmbuf_free(m);
}

const rte_ether_addr* ArpCache::lookup(Instant now, Ipv4Addr ip) const {
    const Entry* e = find(ip);
    if (!e || e->state != State::reachable || e->deadline <= now) return nullptr;
    return &e->mac;
}

const ArpCache::Entry* ArpCache::find(Ipv4Addr ip) const {
    for (const Entry& e : entries_)
        if (e.state != State::empty && e.ip == ip) return &e;
    return nullptr;
}

ArpCache::Entry* ArpCache::find_mut(Ipv4Addr ip) {
    return const_cast<Entry*>(std::as_const(*this).find(ip));
}

ArpCache::Entry& ArpCache::allocate() {
    Entry* victim = nullptr;
    for (Entry& e : entries_) {
        if (e.state == State::empty) {
            ++num_used_;
            return e;
        }
        if (e.is_static) continue;  // set_static keeps one slot non-static
        // Prefer evicting a learned binding (it can be re-learned) over an
        // entry that is resolving with packets held; among equals, the oldest.
        if (!victim || (e.state == State::reachable && victim->state != State::reachable) ||
            (e.state == victim->state && e.updated < victim->updated))
            victim = &e;
    }
    ++counters_.arp_cache_evictions;
    clear(*victim);
    ++num_used_;
    return *victim;
}

void ArpCache::clear(Entry& e) {
    rte_mbuf** slots = held_slots(e);
    for (std::size_t i = 0; i < e.num_held; ++i) {
        rte_pktmbuf_free(std::exchange(slots[i], nullptr));
        ++counters_.arp_hold_dropped;
    }
    if (e.state != State::empty) --num_used_;
    if (e.is_static) --num_static_;
    e = Entry{};
}

ArpCache::HoldResult ArpCache::hold(Instant now, Ipv4Addr ip, MbufPtr m) {
    Entry* e = find_mut(ip);
    HoldResult result = HoldResult::held;
    if (!e || e->state == State::reachable) {
        // New, or a binding that aged out: (re)start resolution.
        if (!e) {
            e = &allocate();
            e->ip = ip;
        }
        e->state = State::incomplete;
        e->updated = now;
        e->deadline = now + retry_interval_;
        e->requests_sent = 1;  // the caller sends it on held_new
        result = HoldResult::held_new;
    }
    if (e->num_held == max_held_) {
        // The hold queue keeps the oldest packets: the transport will
        // retransmit the newer ones anyway.
        ++counters_.arp_hold_overflow;
        return HoldResult::overflow;  // a fresh entry has room: never on held_new
    }
    held_slots(*e)[e->num_held++] = m.release();
    return result;
}

Instant ArpCache::next_deadline() const {
    Instant next = Instant::max();
    for (const Entry& e : entries_)
        if (e.state != State::empty) next = std::min(next, e.deadline);
    return next;
}

}  // namespace l45::net
