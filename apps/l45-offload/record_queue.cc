#include "apps/l45-offload/record_queue.h"

#include <algorithm>
#include <cstring>

namespace l45::offload {

namespace {

// Whether decrypting in place may change m's bytes: every segment direct
// (its own data room) and referenced by us alone.
bool exclusive(const rte_mbuf* m) {
    for (const rte_mbuf* seg = m; seg != nullptr; seg = seg->next)
        if (!RTE_MBUF_DIRECT(seg) || rte_mbuf_refcnt_read(seg) != 1) return false;
    return true;
}

// Visits bytes [offset, offset + len) of packet m as one span per segment.
template <typename Visit>
bool visit_packet(rte_mbuf* m, std::uint32_t offset, std::uint32_t len, Visit&& visit_span) {
    for (rte_mbuf* seg = m; seg != nullptr && len > 0; seg = seg->next) {
        const std::uint32_t seg_len = seg->data_len;
        if (offset >= seg_len) {
            offset -= seg_len;
            continue;
        }
        const std::uint32_t n = std::min(seg_len - offset, len);
        if (!visit_span(MutableByteSpan(rte_pktmbuf_mtod_offset(seg, std::uint8_t*, offset), n)))
            return false;
        len -= n;
        offset = 0;
    }
    return len == 0;
}

}  // namespace

bool RecordQueue::push(MbufPtr& m, std::uint32_t offset, std::uint32_t len, rte_mempool* pool) {
    if (ring_.full() || !m) return false;
    if (len == 0) {
        m.reset();
        return true;
    }
    if (!exclusive(m.get())) {
        // Copy into an mbuf of our own: its bytes are someone else's too.
        if (pool == nullptr) return false;
        MbufPtr own(rte_pktmbuf_alloc(pool));
        if (!own || rte_pktmbuf_tailroom(own.get()) < len) return false;
        auto* dst = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(own.get(), len));
        std::uint32_t done = 0;
        if (!visit_packet(m.get(), offset, len, [&](MutableByteSpan s) {
                std::memcpy(dst + done, s.data(), s.size());
                done += static_cast<std::uint32_t>(s.size());
                return true;
            }))
            return false;
        ++copies_.shared_mbufs;
        copies_.bytes += len;
        m.reset();
        return ring_.push(own, 0, len);
    }
    return ring_.push(m, offset, len);
}

template <typename Visit>
bool RecordQueue::visit(std::uint64_t from, std::uint64_t len, Visit&& visit_span) const {
    std::uint64_t pos = 0;
    for (std::uint32_t i = 0; i < ring_.size() && len > 0; ++i) {
        const MbufRange& r = ring_.at(i);
        if (from >= pos + r.len) {
            pos += r.len;
            continue;
        }
        const auto skip = static_cast<std::uint32_t>(from - pos);
        const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(r.len - skip, len));
        if (!visit_packet(r.m.get(), r.offset + skip, n, visit_span)) return false;
        from += n;
        len -= n;
        pos += r.len;
    }
    return len == 0;
}

tls::TlsResult<bool> RecordQueue::front_complete() {
    if (!have_header_) {
        if (ring_.bytes() < tls::kRecordHeaderLen) return false;
        std::size_t got = 0;
        if (!visit(0, tls::kRecordHeaderLen, [&](MutableByteSpan s) {
                std::memcpy(header_bytes_.data() + got, s.data(), s.size());
                got += s.size();
                return true;
            }))
            return tls::fail(tls::Alert::internal_error, tls::ErrorOrigin::internal);
        auto h = tls::parse_record_header(ByteSpan(header_bytes_.data(), header_bytes_.size()));
        if (!h) return unexpected(h.error());
        header_ = *h;
        have_header_ = true;
    }
    return ring_.bytes() >= record_len();
}

std::size_t RecordQueue::fragment_slices(std::span<MutableByteSpan> out) const {
    std::size_t n = 0;
    const bool ok = visit(tls::kRecordHeaderLen, header_.length, [&](MutableByteSpan s) {
        if (n == out.size()) return false;
        out[n++] = s;
        return true;
    });
    return ok ? n : 0;
}

bool RecordQueue::copy_content(std::size_t offset, MutableByteSpan out) const {
    std::size_t done = 0;
    return visit(tls::kRecordHeaderLen + offset, out.size(), [&](MutableByteSpan s) {
        std::memcpy(out.data() + done, s.data(), s.size());
        done += s.size();
        return true;
    });
}

bool RecordQueue::coalesce(rte_mempool* pool) {
    const std::uint64_t len = ring_.bytes();
    if (pool == nullptr || len == 0) return false;
    MbufPtr own(rte_pktmbuf_alloc(pool));
    if (!own || rte_pktmbuf_tailroom(own.get()) < len) return false;
    auto* dst = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(own.get(), static_cast<std::uint16_t>(len)));
    std::size_t done = 0;
    if (!visit(0, len, [&](MutableByteSpan s) {
            std::memcpy(dst + done, s.data(), s.size());
            done += s.size();
            return true;
        }))
        return false;
    ring_.clear();
    ++copies_.coalesced;
    copies_.bytes += len;
    return ring_.push(own, 0, static_cast<std::uint32_t>(len));
}

void RecordQueue::clear() {
    ring_.clear();
    have_header_ = false;
}

}  // namespace l45::offload
