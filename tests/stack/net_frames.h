// Test helpers: frames built byte by byte, independently of stack/net's own
// emitters, and a naive RFC 1071 checksum to check the stack's against.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace l45::net::test {

using Bytes = std::vector<std::uint8_t>;

// The RFC 1071 reference: 16-bit big-endian words, end-around carry, complement.
inline std::uint16_t ref_checksum(const Bytes& b, std::size_t off, std::size_t len) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < len; i += 2) {
        std::uint16_t w = static_cast<std::uint16_t>(b[off + i] << 8);
        if (i + 1 < len) w = static_cast<std::uint16_t>(w | b[off + i + 1]);
        sum += w;
    }
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

inline void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v));
}
inline void put(Bytes& b, std::initializer_list<std::uint8_t> v) {
    b.insert(b.end(), v);
}
inline void put(Bytes& b, const Bytes& v) {
    b.insert(b.end(), v.begin(), v.end());
}
inline std::uint16_t get16(const Bytes& b, std::size_t off) {
    return static_cast<std::uint16_t>(b[off] << 8 | b[off + 1]);
}
inline std::uint32_t get32(const Bytes& b, std::size_t off) {
    return std::uint32_t{get16(b, off)} << 16 | get16(b, off + 2);
}

inline const Bytes kOurMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline const Bytes kPeerMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
inline const Bytes kGwMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
inline const Bytes kBcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr std::uint32_t kOurIp = 0xc6120001;   // 198.18.0.1
constexpr std::uint32_t kPeerIp = 0xc6120002;  // 198.18.0.2
constexpr std::uint32_t kGwIp = 0xc61200fe;    // 198.18.0.254
constexpr std::uint32_t kFarIp = 0xc6130005;   // 198.19.0.5 (off-link for a /24)

inline Bytes eth(const Bytes& dst, const Bytes& src, std::uint16_t type) {
    Bytes b;
    put(b, dst);
    put(b, src);
    put16(b, type);
    return b;
}

inline Bytes arp_frame(std::uint16_t op, const Bytes& eth_dst, const Bytes& smac, std::uint32_t sip,
                       const Bytes& tmac, std::uint32_t tip) {
    Bytes b = eth(eth_dst, smac, 0x0806);
    put16(b, 1);
    put16(b, 0x0800);
    put(b, {6, 4});
    put16(b, op);
    put(b, smac);
    put32(b, sip);
    put(b, tmac);
    put32(b, tip);
    return b;
}

struct IpOpts {
    std::uint32_t src = kPeerIp;
    std::uint32_t dst = kOurIp;
    std::uint8_t protocol = 1;
    std::uint8_t ttl = 64;
    std::uint16_t flags_frag = 0;
    std::uint16_t id = 0x1234;
    Bytes options;  // multiple of 4
    bool good_checksum = true;
};

// Ethernet + IPv4 header (checksum filled) + payload.
inline Bytes ip_frame(const IpOpts& o, const Bytes& payload, const Bytes& dst_mac = kOurMac,
                      const Bytes& src_mac = kPeerMac) {
    Bytes b = eth(dst_mac, src_mac, 0x0800);
    const std::size_t ihl = 20 + o.options.size();
    b.push_back(static_cast<std::uint8_t>(0x40 | ihl / 4));
    b.push_back(0);
    put16(b, static_cast<std::uint16_t>(ihl + payload.size()));
    put16(b, o.id);
    put16(b, o.flags_frag);
    b.push_back(o.ttl);
    b.push_back(o.protocol);
    put16(b, 0);
    put32(b, o.src);
    put32(b, o.dst);
    put(b, o.options);
    std::uint16_t ck = ref_checksum(b, 14, ihl);
    if (!o.good_checksum) ck = static_cast<std::uint16_t>(ck ^ 0x0101);
    b[24] = static_cast<std::uint8_t>(ck >> 8);
    b[25] = static_cast<std::uint8_t>(ck);
    put(b, payload);
    return b;
}

// An ICMP message with a correct checksum.
inline Bytes icmp_msg(std::uint8_t type, std::uint8_t code, std::uint16_t id, std::uint16_t seq,
                      const Bytes& data) {
    Bytes b = {type, code, 0, 0};
    put16(b, id);
    put16(b, seq);
    put(b, data);
    const std::uint16_t ck = ref_checksum(b, 0, b.size());
    b[2] = static_cast<std::uint8_t>(ck >> 8);
    b[3] = static_cast<std::uint8_t>(ck);
    return b;
}

// One mbuf (or a chain of segments of at most seg_len bytes) holding `b`.
inline rte_mbuf* to_mbuf(rte_mempool* pool, const Bytes& b, std::size_t seg_len = 0) {
    if (seg_len == 0) seg_len = b.size() ? b.size() : 1;
    rte_mbuf* head = nullptr;
    std::size_t off = 0;
    do {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (!m) {
            if (head) rte_pktmbuf_free(head);
            return nullptr;
        }
        const std::size_t n = std::min(seg_len, b.size() - off);
        if (n) {
            char* p = rte_pktmbuf_append(m, static_cast<std::uint16_t>(n));
            std::copy(b.begin() + static_cast<long>(off), b.begin() + static_cast<long>(off + n),
                      reinterpret_cast<std::uint8_t*>(p));
        }
        off += n;
        if (!head)
            head = m;
        else if (rte_pktmbuf_chain(head, m) != 0) {
            rte_pktmbuf_free(m);
            rte_pktmbuf_free(head);
            return nullptr;
        }
    } while (off < b.size());
    return head;
}

// The bytes of a (possibly chained) mbuf.
inline Bytes from_mbuf(const rte_mbuf* m) {
    Bytes out;
    for (const rte_mbuf* s = m; s; s = s->next) {
        const auto* p = rte_pktmbuf_mtod(s, const std::uint8_t*);
        out.insert(out.end(), p, p + s->data_len);
    }
    return out;
}

}  // namespace l45::net::test
