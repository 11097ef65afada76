// Test frames for the driver tests: an Ethernet header and a payload that
// carries a sequence number, so a test can tell frames apart after faults.
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <span>
#include <vector>

#include "stack/base/bytes.h"

namespace l45::test {

inline constexpr std::uint16_t kTestEtherType = 0x88b5;  // IEEE local experimental

// dst 02:00:00:00:00:0b, src 02:00:00:00:00:0a, ethertype, u32 seq, then a
// pattern up to `len` bytes.
inline rte_mbuf* make_frame(rte_mempool* pool, std::uint32_t seq, std::uint16_t len = 128) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) return nullptr;
    auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, len));
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    Writer w({p, len});
    const std::uint8_t dst[6] = {2, 0, 0, 0, 0, 0x0b};
    const std::uint8_t src[6] = {2, 0, 0, 0, 0, 0x0a};
    w.bytes(dst);
    w.bytes(src);
    w.u16(kTestEtherType);
    w.u32(seq);
    for (std::size_t i = w.written(); i < len; ++i)
        w.u8(static_cast<std::uint8_t>(seq * 7 + i));
    return m;
}

// The whole frame (all segments) as bytes.
inline std::vector<std::uint8_t> frame_bytes(const rte_mbuf* m) {
    std::vector<std::uint8_t> out(rte_pktmbuf_pkt_len(m));
    const void* p = rte_pktmbuf_read(m, 0, static_cast<std::uint32_t>(out.size()), out.data());
    if (p != out.data() && !out.empty()) std::memcpy(out.data(), p, out.size());
    return out;
}

// The sequence number a make_frame() frame carries (offset 14).
inline std::uint32_t frame_seq(std::span<const std::uint8_t> f) {
    Reader r(f);
    std::uint32_t seq = 0;
    EXPECT_TRUE(r.skip(14) && r.u32(seq));
    return seq;
}

inline void free_all(std::span<rte_mbuf*> ms) {
    for (rte_mbuf*& m : ms) {
        rte_pktmbuf_free(m);
        m = nullptr;
    }
}

}  // namespace l45::test
