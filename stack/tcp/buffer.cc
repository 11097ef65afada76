// Send/receive mbuf queues and the out-of-order queue. See buffer.h.
#include "stack/tcp/buffer.h"

#include <algorithm>
#include <cstring>

namespace l45::tcp {

bool mbuf_copy_out(const rte_mbuf* m, std::uint32_t offset, MutableByteSpan out) {
    if (m == nullptr || offset > m->pkt_len || out.size() > m->pkt_len - offset) return false;
    std::size_t done = 0;
    for (const rte_mbuf* seg = m; seg != nullptr && done < out.size(); seg = seg->next) {
        if (offset >= seg->data_len) {
            offset -= seg->data_len;
            continue;
        }
        const std::size_t n = std::min<std::size_t>(seg->data_len - offset, out.size() - done);
        std::memcpy(out.data() + done, rte_pktmbuf_mtod_offset(seg, const std::uint8_t*, offset),
                    n);
        done += n;
        offset = 0;
    }
    return done == out.size();
}

MbufQueue::MbufQueue(std::uint32_t num_slots)
    : slots_(std::make_unique<Entry[]>(num_slots ? num_slots : 1)),
      capacity_(num_slots ? num_slots : 1) {}

bool MbufQueue::push(MbufPtr& m, std::uint32_t offset, std::uint32_t len) {
    if (full() || !m) return false;
    Entry& e = slots_[(head_ + count_) % capacity_];
    e.m = std::move(m);
    e.offset = offset;
    e.len = len;
    e.appendable = false;
    ++count_;
    bytes_ += len;
    return true;
}

std::uint32_t MbufQueue::append_copy(ByteSpan data, rte_mempool* pool) {
    std::uint32_t done = 0;
    if (count_ > 0) {
        Entry& tail = at(count_ - 1);
        if (tail.appendable) {
            const std::uint32_t room = rte_pktmbuf_tailroom(tail.m.get());
            const std::uint32_t n =
                std::min<std::uint32_t>(room, static_cast<std::uint32_t>(data.size()));
            if (n > 0) {
                char* p = rte_pktmbuf_append(tail.m.get(), static_cast<std::uint16_t>(n));
                std::memcpy(p, data.data(), n);
                tail.len += n;
                bytes_ += n;
                done = n;
            }
        }
    }
    while (done < data.size() && !full()) {
        MbufPtr m(rte_pktmbuf_alloc(pool));
        if (!m) break;
        // Data mbufs need no headroom: transmission copies out of them.
        m->data_off = 0;
        const std::uint32_t room = rte_pktmbuf_tailroom(m.get());
        const std::uint32_t n =
            std::min<std::uint32_t>(room, static_cast<std::uint32_t>(data.size() - done));
        char* p = rte_pktmbuf_append(m.get(), static_cast<std::uint16_t>(n));
        std::memcpy(p, data.data() + done, n);
        if (!push(m, 0, n)) break;
        at(count_ - 1).appendable = true;
        done += n;
    }
    return done;
}

bool MbufQueue::copy_out(std::uint32_t offset, MutableByteSpan out) const {
    if (offset > bytes_ || out.size() > bytes_ - offset) return false;
    // Start at the cursor's entry when it is still queued and not beyond
    // the first byte wanted; else at the front.
    const std::uint64_t target = front_pos_ + offset;
    std::uint32_t i = 0;
    std::uint64_t pos = front_pos_;  // stream position of entry i's first byte
    if (cursor_entry_ > popped_ && cursor_entry_ < popped_ + count_ && cursor_pos_ <= target) {
        i = static_cast<std::uint32_t>(cursor_entry_ - popped_);
        pos = cursor_pos_;
    }
    offset = static_cast<std::uint32_t>(target - pos);
    std::size_t done = 0;
    for (; i < count_ && done < out.size(); ++i) {
        const Entry& e = at(i);
        if (offset >= e.len) {
            offset -= e.len;
            pos += e.len;
            continue;
        }
        const std::uint32_t n =
            std::min<std::uint32_t>(e.len - offset, static_cast<std::uint32_t>(out.size() - done));
        if (!mbuf_copy_out(e.m.get(), e.offset + offset, out.subspan(done, n))) return false;
        done += n;
        offset = 0;
        cursor_entry_ = popped_ + i;  // the last entry copied from
        cursor_pos_ = pos;
        pos += e.len;
    }
    return done == out.size();
}

ByteSpan MbufQueue::front_span() const {
    if (count_ == 0) return {};
    const Entry& e = at(0);
    std::uint32_t off = e.offset;
    for (const rte_mbuf* seg = e.m.get(); seg != nullptr; seg = seg->next) {
        if (off >= seg->data_len) {
            off -= seg->data_len;
            continue;
        }
        const std::uint32_t n = std::min<std::uint32_t>(seg->data_len - off, e.len);
        return {rte_pktmbuf_mtod_offset(seg, const std::uint8_t*, off), n};
    }
    return {};
}

void MbufQueue::pop_entry() {
    Entry& e = at(0);
    front_pos_ += e.len;
    bytes_ -= e.len;
    e.m.reset();
    e.len = 0;
    e.appendable = false;
    head_ = (head_ + 1) % capacity_;
    --count_;
    ++popped_;
}

bool MbufQueue::pop_front(MbufPtr& out, std::uint32_t& out_offset, std::uint32_t& out_len) {
    if (count_ == 0) return false;
    Entry& e = at(0);
    out = std::move(e.m);
    out_offset = e.offset;
    out_len = e.len;
    pop_entry();
    return true;
}

void MbufQueue::consume(std::uint32_t n) {
    while (n > 0 && count_ > 0) {
        Entry& e = at(0);
        const std::uint32_t k = std::min(n, e.len);
        e.offset += k;
        e.len -= k;
        bytes_ -= k;
        front_pos_ += k;
        n -= k;
        if (e.len == 0) pop_entry();
    }
}

void MbufQueue::clear() {
    while (count_ > 0)
        pop_entry();
    head_ = 0;
}

// --- OooQueue ---

OooQueue::OooQueue(std::uint32_t num_slots)
    : slots_(std::make_unique<Entry[]>(std::clamp<std::uint32_t>(num_slots, 1, kMaxSlots))),
      capacity_(std::clamp<std::uint32_t>(num_slots, 1, kMaxSlots)) {}

std::uint32_t OooQueue::bytes() const {
    std::uint32_t total = 0;
    for (std::uint32_t i = 0; i < count_; ++i)
        total += slots_[i].len;
    return total;
}

bool OooQueue::insert(SeqNum seq, MbufPtr& m, std::uint32_t offset, std::uint32_t len) {
    // Trim the new range against every entry; an entry that lies inside the
    // new range would split it, so such entries are replaced by the new data
    // only when they are entirely covered.
    SeqNum start = seq;
    SeqNum end = seq + len;
    for (std::uint32_t i = 0; i < count_ && start < end; ++i) {
        const SeqNum e_start = slots_[i].seq;
        const SeqNum e_end = e_start + slots_[i].len;
        if (e_end <= start || end <= e_start) continue;  // disjoint
        if (e_start <= start) {
            start = seq_min(e_end, end);  // the front is held already
        } else if (e_end >= end) {
            end = e_start;  // the back is held already
        }
        // else the entry lies strictly inside: handled below by removal.
    }
    if (!(start < end)) return false;
    // Remove entries the (trimmed) new range covers completely.
    std::uint32_t w = 0;
    for (std::uint32_t i = 0; i < count_; ++i) {
        const SeqNum e_start = slots_[i].seq;
        const SeqNum e_end = e_start + slots_[i].len;
        if (start <= e_start && e_end <= end) {
            slots_[i].m.reset();
            continue;
        }
        if (w != i) slots_[w] = std::move(slots_[i]);
        ++w;
    }
    count_ = w;
    if (count_ == capacity_) return false;
    // Insert sorted.
    std::uint32_t pos = count_;
    while (pos > 0 && slots_[pos - 1].seq > start) {
        slots_[pos] = std::move(slots_[pos - 1]);
        --pos;
    }
    Entry& e = slots_[pos];
    e.seq = start;
    e.offset = offset + seq_dist(seq, start);
    e.len = seq_dist(start, end);
    e.m = std::move(m);
    ++count_;
    // Remember it as the newest insertion (RFC 2018 §4 block order).
    const std::uint32_t keep = std::min(num_recent_, kRecent - 1);
    for (std::uint32_t i = keep; i > 0; --i)
        recent_[i] = recent_[i - 1];
    recent_[0] = start;
    num_recent_ = keep + 1;
    return true;
}

SeqNum OooQueue::drain_into(SeqNum rcv_nxt, MbufQueue& rx) {
    std::uint32_t i = 0;
    for (; i < count_; ++i) {
        Entry& e = slots_[i];
        const SeqNum e_end = e.seq + e.len;
        if (e.seq > rcv_nxt) break;  // still a hole
        if (e_end <= rcv_nxt) {
            e.m.reset();  // wholly duplicate
            continue;
        }
        const std::uint32_t skip = seq_dist(e.seq, rcv_nxt);
        if (rx.full()) break;
        if (!rx.push(e.m, e.offset + skip, e.len - skip)) break;
        rcv_nxt = e_end;
    }
    // Shift the remaining entries down.
    std::uint32_t w = 0;
    for (std::uint32_t j = i; j < count_; ++j)
        slots_[w++] = std::move(slots_[j]);
    for (std::uint32_t j = w; j < count_; ++j)
        slots_[j].m.reset();
    count_ = w;
    return rcv_nxt;
}

bool OooQueue::block_containing(SeqNum seq, SackBlock& out) const {
    for (std::uint32_t i = 0; i < count_; ++i) {
        const Entry& e = slots_[i];
        if (!seq_in_range(e.seq, seq, e.seq + e.len)) continue;
        std::uint32_t lo = i;
        while (lo > 0 && slots_[lo - 1].seq + slots_[lo - 1].len == slots_[lo].seq)
            --lo;
        std::uint32_t hi = i;
        while (hi + 1 < count_ && slots_[hi].seq + slots_[hi].len == slots_[hi + 1].seq)
            ++hi;
        out = {slots_[lo].seq, slots_[hi].seq + slots_[hi].len};
        return true;
    }
    return false;
}

std::uint8_t OooQueue::sack_blocks(SackBlock* out, std::uint8_t max) const {
    if (count_ == 0 || max == 0) return 0;
    std::uint8_t n = 0;
    auto already = [&](const SackBlock& b) {
        for (std::uint8_t k = 0; k < n; ++k)
            if (out[k] == b) return true;
        return false;
    };
    // The blocks of the latest insertions, newest first (an entry drained
    // since or merged into a bigger block is found through its block).
    for (std::uint32_t r = 0; r < num_recent_ && n < max; ++r) {
        SackBlock b;
        if (block_containing(recent_[r], b) && !already(b)) out[n++] = b;
    }
    // Then the highest blocks (nearest the newest data).
    std::uint32_t i = count_;
    while (i > 0 && n < max) {
        std::uint32_t lo = i - 1;
        while (lo > 0 && slots_[lo - 1].seq + slots_[lo - 1].len == slots_[lo].seq)
            --lo;
        const SackBlock b{slots_[lo].seq, slots_[i - 1].seq + slots_[i - 1].len};
        if (!already(b)) out[n++] = b;
        i = lo;
    }
    return n;
}

void OooQueue::clear() {
    for (std::uint32_t i = 0; i < count_; ++i)
        slots_[i].m.reset();
    count_ = 0;
    num_recent_ = 0;
}

}  // namespace l45::tcp
