// The ARP cache: a bounded table of IPv4 -> MAC bindings under an injected
// clock, with a bounded queue of packets held while an address resolves.
//
// Read first: RFC 826 ("Packet Reception": the merge algorithm this class's
// update() implements), RFC 1122 section 2.3.2.1 (entries must time out)
// and 2.3.2.2 (queue at least one packet per unresolved address, flood
// protection: a bounded number of requests at a bounded rate).
//
// Sans-IO: the cache never transmits. hold() tells the caller to send the
// first request; poll() calls back for retries; update() hands back released
// packets. No allocation after construction: entries and hold slots are two
// flat arrays sized from ArpConfig.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/mbuf.h"
#include "stack/net/addr.h"
#include "stack/net/config.h"
#include "stack/net/counters.h"

namespace l45::net {

class ArpCache {
  public:
    enum class State : std::uint8_t {
        empty,       // free slot
        incomplete,  // request sent, no answer yet; packets may be held
        reachable,   // a binding learned at `updated`, trusted until `deadline`
    };
    struct Entry {
        Ipv4Addr ip{};
        rte_ether_addr mac{};
        State state = State::empty;
        Instant updated{};
        Instant deadline{};  // reachable: expiry; incomplete: next retry
        std::uint32_t requests_sent = 0;
        std::size_t num_held = 0;
        // Set by configuration, not learnt: never ages, never evicted, and
        // ARP traffic does not change it (Linux's NUD_PERMANENT).
        bool is_static = false;
    };

    enum class HoldResult : std::uint8_t {
        held_new,  // a new incomplete entry: send the first request now
        held,      // queued behind a request already in flight
        overflow,  // the entry's hold queue is full: the packet was dropped
    };

    // Counters: arp_resolve_failed, arp_hold_overflow, arp_hold_dropped and
    // arp_cache_evictions are bumped in `counters`, which must outlive the cache.
    ArpCache(const ArpConfig& config, Counters& counters);
    ArpCache(const ArpCache&) = delete;
    ArpCache& operator=(const ArpCache&) = delete;
    ~ArpCache();  // frees held packets

    // The MAC for `ip` if a binding is reachable at `now`.
    [[nodiscard]] const rte_ether_addr* lookup(Instant now, Ipv4Addr ip) const;

    // Holds `m` (a complete frame whose destination MAC is to be filled in)
    // until `ip` resolves. Creates an incomplete entry if there is none,
    // evicting the oldest entry when the cache is full.
    [[nodiscard]] HoldResult hold(Instant now, Ipv4Addr ip, MbufPtr m);

    // RFC 826 merge: if an entry for `ip` exists, its MAC is updated (and an
    // incomplete one becomes reachable); otherwise one is created only when
    // `create`. Packets held for `ip` are passed, oldest first, to
    // release(MbufPtr, const rte_ether_addr&). Returns the merge flag (an
    // entry existed).
    template <class F>
    bool update(Instant now, Ipv4Addr ip, const rte_ether_addr& mac, bool create, F&& release);

    // A static binding (is_static above). Replaces a learnt or resolving
    // entry for `ip` (its held packets go to release(MbufPtr, mac)). False
    // when it would leave no slot for learnt entries (at most capacity - 1
    // static ones).
    template <class F>
    bool set_static(Ipv4Addr ip, const rte_ether_addr& mac, F&& release);

    // Timers. Incomplete entries whose retry is due either get another
    // request (send_request(Ipv4Addr)) or, after 1 + max_retries requests,
    // are given up: their held packets are freed and counted. Reachable
    // entries past their lifetime are forgotten.
    template <class F>
    void poll(Instant now, F&& send_request);

    // The earliest instant poll() has work; Instant::max() when none.
    [[nodiscard]] Instant next_deadline() const;

    [[nodiscard]] const Entry* find(Ipv4Addr ip) const;
    [[nodiscard]] std::size_t size() const { return num_used_; }
    [[nodiscard]] std::size_t capacity() const { return entries_.size(); }
    template <class F>
    void for_each(F&& f) const {
        for (const Entry& e : entries_)
            if (e.state != State::empty) f(e);
    }

  private:
    [[nodiscard]] Entry* find_mut(Ipv4Addr ip);
    // A free slot, evicting the oldest entry (reachable before incomplete) when full.
    [[nodiscard]] Entry& allocate();
    void clear(Entry& e);  // frees held packets (counted) and empties the slot
    [[nodiscard]] rte_mbuf** held_slots(const Entry& e) {
        return held_.data() + static_cast<std::size_t>(&e - entries_.data()) * max_held_;
    }
    template <class F>
    void release_held(Entry& e, F&& release);

    Duration lifetime_;
    Duration retry_interval_;
    std::uint32_t max_retries_;
    std::size_t max_held_;
    Counters& counters_;
    std::vector<Entry> entries_;
    std::vector<rte_mbuf*> held_;  // entries_.size() * max_held_ slots
    std::size_t num_used_ = 0;
    std::size_t num_static_ = 0;
};

// --- templates ---

template <class F>
void ArpCache::release_held(Entry& e, F&& release) {
    rte_mbuf** slots = held_slots(e);
    const std::size_t n = e.num_held;
    e.num_held = 0;
    for (std::size_t i = 0; i < n; ++i)
        release(MbufPtr(std::exchange(slots[i], nullptr)), e.mac);
}

template <class F>
bool ArpCache::update(Instant now, Ipv4Addr ip, const rte_ether_addr& mac, bool create,
                      F&& release) {
    Entry* e = find_mut(ip);
    const bool merged = e != nullptr;
    if (e && e->is_static) return true;  // configured: the wire does not override it
    if (!e) {
        if (!create) return false;
        e = &allocate();
        e->ip = ip;
    }
    e->mac = mac;
    e->state = State::reachable;
    e->updated = now;
    e->deadline = now + lifetime_;
    e->requests_sent = 0;
    release_held(*e, release);
    return merged;
}

template <class F>
bool ArpCache::set_static(Ipv4Addr ip, const rte_ether_addr& mac, F&& release) {
    Entry* e = find_mut(ip);
    if (e && e->is_static) {
        e->mac = mac;
        return true;
    }
    if (num_static_ + 1 >= entries_.size()) return false;
    if (!e) {
        e = &allocate();
        e->ip = ip;
    }
    e->mac = mac;
    e->state = State::reachable;
    e->deadline = Instant::max();
    e->requests_sent = 0;
    e->is_static = true;
    ++num_static_;
    release_held(*e, release);
    return true;
}

template <class F>
void ArpCache::poll(Instant now, F&& send_request) {
    for (Entry& e : entries_) {
        if (e.state == State::empty || e.is_static || e.deadline > now) continue;
        if (e.state == State::reachable) {
            clear(e);  // aged out; re-resolved on next use
        } else if (e.requests_sent <= max_retries_) {
            ++e.requests_sent;
            e.deadline = now + retry_interval_;
            send_request(e.ip);
        } else {
            ++counters_.arp_resolve_failed;
            clear(e);
        }
    }
}

}  // namespace l45::net
