#include "stack/net/checksum.h"

#include <rte_byteorder.h>
#include <rte_ip.h>

#include <algorithm>

namespace l45::net {

std::uint32_t checksum_add(std::uint32_t sum, ByteSpan data) {
    // Big-endian 16-bit words; an odd last byte is the high half of a word
    // padded with zero (RFC 1071 section 4.1).
    Reader r(data);
    std::uint16_t word = 0;
    while (r.u16(word))
        sum += word;
    std::uint8_t last = 0;
    if (r.u8(last)) sum += std::uint32_t{last} << 8;
    // Keep headroom: fold carries before the accumulator could overflow.
    return (sum & 0xffff) + (sum >> 16);
}

std::uint16_t checksum_fold(std::uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

std::uint16_t internet_checksum(ByteSpan data) {
    return static_cast<std::uint16_t>(~checksum_fold(checksum_add(0, data)));
}

bool checksum_ok(ByteSpan data) {
    return checksum_fold(checksum_add(0, data)) == 0xffff;
}

bool mbuf_checksum_sum(const rte_mbuf* m, std::uint32_t offset, std::uint32_t len,
                       std::uint16_t& out_sum) {
    if (offset > m->pkt_len || len > m->pkt_len - offset) return false;
    // Not rte_raw_cksum_mbuf: in DPDK 22.11 it truncates a segment's
    // unfolded 32-bit sum to 16 bits before byte-swapping it when the
    // segment starts at an odd offset, which corrupts the result for chains
    // with odd-sized segments. Here each piece is folded first.
    std::uint32_t sum = 0;
    std::uint32_t done = 0;
    const rte_mbuf* seg = m;
    while (seg && offset >= seg->data_len) {
        offset -= seg->data_len;
        seg = seg->next;
    }
    while (done < len) {
        if (!seg) return false;  // pkt_len disagrees with the chain
        const std::uint32_t avail = seg->data_len - offset;
        const std::uint32_t n = std::min(avail, len - done);
        const auto* p = rte_pktmbuf_mtod_offset(seg, const std::uint8_t*, offset);
        // rte_raw_cksum sums words as loaded in CPU order; the one's
        // complement sum commutes with byte swapping (RFC 1071 2(B)).
        std::uint16_t piece = rte_be_to_cpu_16(rte_raw_cksum(p, n));
        // A piece that starts at an odd offset of the message has its
        // bytes in the other halves of the words.
        if (done & 1) piece = rte_bswap16(piece);
        sum += piece;
        done += n;
        offset = 0;
        seg = seg->next;
    }
    out_sum = checksum_fold(sum);
    return true;
}

std::uint16_t checksum_update16(std::uint16_t checksum, std::uint16_t old_word,
                                std::uint16_t new_word) {
    std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
    sum += static_cast<std::uint16_t>(~old_word);
    sum += new_word;
    return static_cast<std::uint16_t>(~checksum_fold(sum));
}

}  // namespace l45::net
