// The client's TLS records as they arrived: received TCP segments kept whole
// (mbufs taken with TcpStack::recv_mbuf), framed into records without
// copying, opened in place, and the plaintext handed on as mbuf ranges.
//
// Read first: RFC 8446 §5.1 (record header; records are independent of TCP
// segments: one may span many, one segment may end one and start the next),
// §5.2 (the header is the AAD), docs/appliance-proxy.md ("Zero-copy record
// path").
//
// A record is laid out over the queue's slices, in stream order:
//
//   slice 0           slice 1                      slice 2
//   [..hdr|ciphertext][ciphertext ..............][..ct|tag|next record..]
//
// The 5 header bytes are copied out (they are the AAD and must be
// contiguous); the fragment is described as a list of spans into the mbufs
// (fragment_slices), which RecordOpener decrypts in place: one span -> an
// AeadOp for the batch, several -> the init/update/finalize API. Once the
// tag verified, pop_record() hands the content bytes on as (mbuf, offset,
// len) ranges: a slice wholly inside the record moves, one shared with the
// next record is referenced twice (rte_pktmbuf_refcnt_update), so every
// holder frees its own reference.
//
// Copies happen only where in-place cannot work, and are counted:
//  - a received mbuf that is not ours alone (refcnt > 1 or indirect):
//    decrypting it in place would change another holder's bytes;
//  - a record that would need more than kMaxRecordSlices spans (tiny
//    segments) or a queue full of slices without a complete record:
//    coalesce() copies the queued bytes into one mbuf from the record pool.
//
// Memory: kSlots slots allocated inline (no heap); the mbufs are the
// client's received segments, bounded by the client leg's receive window.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "stack/base/bytes.h"
#include "stack/base/mbuf.h"
#include "tls/record/record.h"

namespace l45::offload {

// One range of bytes of a (possibly chained) packet: [offset, offset + len).
struct MbufRange {
    MbufPtr m;
    std::uint32_t offset = 0;
    std::uint32_t len = 0;
};

// A fixed-capacity FIFO of MbufRanges (the plaintext waiting for the
// backend leg uses one too).
template <std::uint32_t N>
class RangeRing {
  public:
    [[nodiscard]] bool empty() const { return count_ == 0; }
    [[nodiscard]] bool full() const { return count_ == N; }
    [[nodiscard]] std::uint32_t size() const { return count_; }
    [[nodiscard]] std::uint32_t free_slots() const { return N - count_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }
    [[nodiscard]] MbufRange& at(std::uint32_t i) { return slots_[(head_ + i) % N]; }
    [[nodiscard]] const MbufRange& at(std::uint32_t i) const { return slots_[(head_ + i) % N]; }
    [[nodiscard]] MbufRange& front() { return at(0); }
    // Takes m's bytes [offset, offset+len); false (m untouched) when full.
    [[nodiscard]] bool push(MbufPtr& m, std::uint32_t offset, std::uint32_t len) {
        if (full()) return false;
        MbufRange& r = slots_[(head_ + count_) % N];
        r.m = std::move(m);
        r.offset = offset;
        r.len = len;
        ++count_;
        bytes_ += len;
        return true;
    }
    void pop_front() {
        if (empty()) return;
        MbufRange& r = slots_[head_];
        bytes_ -= r.len;
        r = MbufRange{};
        head_ = (head_ + 1) % N;
        --count_;
    }
    // The front range lost n bytes at its start.
    void trim_front(std::uint32_t n) {
        MbufRange& r = front();
        r.offset += n;
        r.len -= n;
        bytes_ -= n;
    }
    void clear() {
        while (!empty())
            pop_front();
    }

  private:
    std::array<MbufRange, N> slots_{};
    std::uint32_t head_ = 0;
    std::uint32_t count_ = 0;
    std::uint64_t bytes_ = 0;
};

// What the queue copied instead of working in place (for the counters).
struct RecordQueueCopies {
    std::uint64_t shared_mbufs = 0;  // received mbufs copied because not ours alone
    std::uint64_t coalesced = 0;     // coalesce() calls
    std::uint64_t bytes = 0;         // bytes copied by either
};

class RecordQueue {
  public:
    static constexpr std::uint32_t kSlots = 64;

    // Takes a received range. A shared mbuf is copied into one from `pool`
    // first (see above); false (m untouched) when full or the pool is empty.
    [[nodiscard]] bool push(MbufPtr& m, std::uint32_t offset, std::uint32_t len, rte_mempool* pool);
    [[nodiscard]] bool full() const { return ring_.full(); }
    [[nodiscard]] bool empty() const { return ring_.empty(); }
    [[nodiscard]] std::uint64_t bytes() const { return ring_.bytes(); }

    // Whether a whole record is queued at the front. Parses its header once
    // 5 bytes are there (parse_record_header's errors: unexpected_message,
    // record_overflow).
    [[nodiscard]] tls::TlsResult<bool> front_complete();
    // Valid after front_complete() returned true.
    [[nodiscard]] const tls::RecordHeader& header() const { return header_; }
    [[nodiscard]] ByteSpan header_bytes() const {
        return {header_bytes_.data(), header_bytes_.size()};
    }
    [[nodiscard]] std::size_t record_len() const { return tls::kRecordHeaderLen + header_.length; }
    // The fragment as spans into the mbufs, in order. Returns how many were
    // written, or 0 when more than out.size() would be needed (coalesce()).
    [[nodiscard]] std::size_t fragment_slices(std::span<MutableByteSpan> out) const;

    // Drops the front record, handing its first content_len content bytes
    // (after the header) to emit(MbufPtr&, offset, len) in order. emit must
    // take the mbuf (move it out) or leave it to be freed.
    template <typename Emit>
    void pop_record(std::size_t content_len, Emit&& emit);
    // Drops the front record (a control record, already handed over).
    void drop_record() {
        pop_record(0, [](MbufPtr&, std::uint32_t, std::uint32_t) {});
    }
    // Copies `len` bytes starting `offset` bytes after the record's header
    // into out (control records spanning slices). False when out of range.
    [[nodiscard]] bool copy_content(std::size_t offset, MutableByteSpan out) const;

    // Copies every queued byte into one mbuf from `pool` (the record in
    // progress fits: at most 5 + 2^14 + 256 bytes are queued while no whole
    // record is). False when the pool is empty or the bytes do not fit.
    [[nodiscard]] bool coalesce(rte_mempool* pool);
    void clear();

    [[nodiscard]] const RecordQueueCopies& copies() const { return copies_; }

  private:
    // Visits the bytes [from, from + len) of the queue (stream offsets from
    // the front) as contiguous spans, one per mbuf segment.
    template <typename Visit>
    bool visit(std::uint64_t from, std::uint64_t len, Visit&& visit_span) const;

    RangeRing<kSlots> ring_;
    tls::RecordHeader header_{};
    std::array<std::uint8_t, tls::kRecordHeaderLen> header_bytes_{};
    bool have_header_ = false;
    RecordQueueCopies copies_{};
};

template <typename Emit>
void RecordQueue::pop_record(std::size_t content_len, Emit&& emit) {
    std::uint64_t remaining = record_len();
    // The content's stream range inside the record.
    const std::uint64_t content_from = tls::kRecordHeaderLen;
    const std::uint64_t content_to = content_from + content_len;
    std::uint64_t pos = 0;  // stream offset of the front slice's first byte
    while (remaining > 0 && !ring_.empty()) {
        MbufRange& r = ring_.front();
        const std::uint64_t take = std::min<std::uint64_t>(r.len, remaining);
        // Content bytes in [pos, pos + take).
        const std::uint64_t lo = std::max(pos, content_from);
        const std::uint64_t hi = std::min(pos + take, content_to);
        if (lo < hi) {
            const auto off = static_cast<std::uint32_t>(r.offset + (lo - pos));
            const auto n = static_cast<std::uint32_t>(hi - lo);
            if (take < r.len) {
                // The next record starts in this mbuf: a second reference.
                rte_pktmbuf_refcnt_update(r.m.get(), 1);
                MbufPtr shared(r.m.get());
                emit(shared, off, n);
            } else {
                emit(r.m, off, n);
            }
        }
        if (take < r.len)
            ring_.trim_front(static_cast<std::uint32_t>(take));
        else
            ring_.pop_front();
        pos += take;
        remaining -= take;
    }
    have_header_ = false;
}

}  // namespace l45::offload
