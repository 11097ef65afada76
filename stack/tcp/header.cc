// TCP header parse/emit and checksum. See header.h for the RFCs.
#include "stack/tcp/header.h"

#include <bit>
#include <cstring>

namespace l45::tcp {

const char* to_string(TcpParseError e) {
    switch (e) {
        case TcpParseError::kTruncated:
            return "truncated";
        case TcpParseError::kBadDataOffset:
            return "bad data offset";
        case TcpParseError::kBadOption:
            return "bad option";
        case TcpParseError::kBadChecksum:
            return "bad checksum";
    }
    return "?";
}

std::size_t TcpOptions::wire_len() const {
    std::size_t len = 0;
    if (mss) len += 4;
    if (timestamps) len += 12;  // NOP NOP TS, or SACK-permitted TS
    if (sack_permitted && !timestamps) len += 4;
    if (window_scale) len += 4;  // NOP WS
    if (num_sack_blocks > 0) len += 4 + 8u * num_sack_blocks;
    return len;
}

namespace {

// RFC 9293 §3.1: each option is a kind byte, then for kinds other than EOL
// and NOP a length byte that counts kind and length. A length below 2 or one
// that runs past the data offset makes the segment unparseable: it is
// dropped (and counted by the caller). Known options with the wrong length
// are treated the same way (RFC 9293 §3.2 gives fixed lengths for them).
// Unknown kinds are skipped (RFC 9293 §3.1, MUST-6).
[[nodiscard]] bool parse_options(Reader r, TcpOptions& out) {
    while (!r.empty()) {
        std::uint8_t kind = 0;
        if (!r.u8(kind)) return false;
        if (kind == option::kEol) break;  // the rest is padding
        if (kind == option::kNop) continue;
        std::uint8_t len = 0;
        if (!r.u8(len) || len < 2) return false;
        Reader body;
        if (!r.sub(len - 2u, body)) return false;
        switch (kind) {
            case option::kMss: {
                std::uint16_t mss = 0;
                if (len != 4 || !body.u16(mss)) return false;
                out.mss = mss;
                break;
            }
            case option::kWindowScale: {
                std::uint8_t shift = 0;
                if (len != 3 || !body.u8(shift)) return false;
                out.window_scale = shift;
                break;
            }
            case option::kSackPermitted:
                if (len != 2) return false;
                out.sack_permitted = true;
                break;
            case option::kSack: {
                const std::size_t body_len = len - 2u;
                if (body_len == 0 || body_len % 8 != 0 || body_len / 8 > kMaxSackBlocks)
                    return false;
                out.num_sack_blocks = 0;
                while (!body.empty()) {
                    std::uint32_t left = 0, right = 0;
                    if (!body.u32(left) || !body.u32(right)) return false;
                    out.sack_blocks[out.num_sack_blocks++] = {SeqNum(left), SeqNum(right)};
                }
                break;
            }
            case option::kTimestamps: {
                Timestamps ts;
                if (len != 10 || !body.u32(ts.tsval) || !body.u32(ts.tsecr)) return false;
                out.timestamps = ts;
                break;
            }
            default:
                break;  // unknown: ignored
        }
    }
    return true;
}

}  // namespace

Result<TcpRepr, TcpParseError> TcpRepr::parse(ByteSpan segment) {
    return parse_header(segment, segment.size());
}

Result<TcpRepr, TcpParseError> TcpRepr::parse_header(ByteSpan header, std::size_t segment_len) {
    Reader r(header);
    TcpRepr repr;
    std::uint32_t seq = 0, ack = 0;
    std::uint8_t offset_byte = 0;
    std::uint16_t checksum = 0;
    if (segment_len < kTcpMinHeaderLen || !r.u16(repr.src_port) || !r.u16(repr.dst_port) ||
        !r.u32(seq) || !r.u32(ack) || !r.u8(offset_byte) || !r.u8(repr.flags) ||
        !r.u16(repr.window) || !r.u16(checksum) || !r.u16(repr.urgent))
        return unexpected(TcpParseError::kTruncated);
    const std::size_t header_len = static_cast<std::size_t>(offset_byte >> 4) * 4;
    if (header_len < kTcpMinHeaderLen) return unexpected(TcpParseError::kBadDataOffset);
    if (header_len > segment_len) return unexpected(TcpParseError::kTruncated);
    Reader options;
    if (!r.sub(header_len - kTcpMinHeaderLen, options))
        return unexpected(TcpParseError::kTruncated);
    if (!parse_options(options, repr.options)) return unexpected(TcpParseError::kBadOption);
    repr.seq = SeqNum(seq);
    repr.ack = SeqNum(ack);
    repr.payload_len = static_cast<std::uint32_t>(segment_len - header_len);
    return repr;
}

bool TcpRepr::emit(Writer& w) const {
    const std::size_t opts_len = options.wire_len();
    if (opts_len > kTcpMaxOptionsLen) return false;
    const std::size_t hlen = kTcpMinHeaderLen + opts_len;
    w.u16(src_port);
    w.u16(dst_port);
    w.u32(seq.value());
    w.u32(ack_flag() ? ack.value() : 0);
    w.u8(static_cast<std::uint8_t>((hlen / 4) << 4));
    w.u8(flags);
    w.u16(window);
    w.u16(0);  // checksum, filled in by the caller
    w.u16(urgent);
    if (options.mss) {
        w.u8(option::kMss);
        w.u8(4);
        w.u16(*options.mss);
    }
    if (options.timestamps) {
        if (options.sack_permitted) {
            w.u8(option::kSackPermitted);
            w.u8(2);
        } else {
            w.u8(option::kNop);
            w.u8(option::kNop);
        }
        w.u8(option::kTimestamps);
        w.u8(10);
        w.u32(options.timestamps->tsval);
        w.u32(options.timestamps->tsecr);
    } else if (options.sack_permitted) {
        w.u8(option::kNop);
        w.u8(option::kNop);
        w.u8(option::kSackPermitted);
        w.u8(2);
    }
    if (options.window_scale) {
        w.u8(option::kNop);
        w.u8(option::kWindowScale);
        w.u8(3);
        w.u8(*options.window_scale);
    }
    if (options.num_sack_blocks > 0) {
        w.u8(option::kNop);
        w.u8(option::kNop);
        w.u8(option::kSack);
        w.u8(static_cast<std::uint8_t>(2 + 8 * options.num_sack_blocks));
        for (std::size_t i = 0; i < options.num_sack_blocks && i < kMaxSackBlocks; ++i) {
            w.u32(options.sack_blocks[i].left.value());
            w.u32(options.sack_blocks[i].right.value());
        }
    }
    return w.ok();
}

// --- checksum ---

namespace {
// RFC 1071 §2(B): the one's complement sum does not depend on byte order, so
// the even-length middle is summed as native 32-bit words (four bytes per
// add, no byte swap; GCC vectorises the loop), folded to 16 bits and swapped
// once into the big-endian convention of the rest. The halves of each 64-bit
// load go into a 64-bit accumulator, which cannot overflow below 2^32 adds.
std::uint16_t be_sum_of_even_run(const std::uint8_t* p, std::size_t len) {
    std::uint64_t acc = 0;
    std::size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        std::uint64_t v;
        std::memcpy(&v, p + i, 8);
        acc += (v & 0xffffffffu) + (v >> 32);
    }
    for (; i < len; i += 2) {
        std::uint16_t w;
        std::memcpy(&w, p + i, 2);
        acc += w;
    }
    while (acc >> 16)
        acc = (acc & 0xffffu) + (acc >> 16);
    const auto native = static_cast<std::uint16_t>(acc);
    if constexpr (std::endian::native == std::endian::little)
        return static_cast<std::uint16_t>((native >> 8) | (native << 8));
    else
        return native;
}
}  // namespace

std::uint32_t ones_sum_add(std::uint32_t sum, ByteSpan data, bool& odd) {
    std::uint64_t acc = sum;
    std::size_t i = 0;
    if (odd && !data.empty()) {
        acc += data[0];  // low byte of the word started in the previous piece
        i = 1;
        odd = false;
    }
    const std::size_t even = (data.size() - i) & ~std::size_t{1};
    acc += be_sum_of_even_run(data.data() + i, even);
    i += even;
    if (i < data.size()) {
        acc += std::uint32_t{data[i]} << 8;
        odd = true;
    }
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return static_cast<std::uint32_t>(acc);
}

std::uint16_t ones_fold(std::uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

std::uint32_t pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, std::uint32_t tcp_len) {
    std::uint64_t acc = 0;
    acc += src.value >> 16;
    acc += src.value & 0xffffu;
    acc += dst.value >> 16;
    acc += dst.value & 0xffffu;
    acc += kIpProtoTcp;
    acc += tcp_len >> 16;
    acc += tcp_len & 0xffffu;
    return static_cast<std::uint32_t>(acc);
}

namespace {
std::uint32_t mbuf_sum(std::uint32_t sum, const rte_mbuf* m) {
    bool odd = false;
    for (const rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
        const ByteSpan data(rte_pktmbuf_mtod(seg, const std::uint8_t*), seg->data_len);
        sum = ones_sum_add(sum, data, odd);
    }
    return sum;
}
}  // namespace

std::uint16_t tcp_checksum(Ipv4Addr src, Ipv4Addr dst, const rte_mbuf* m) {
    const std::uint32_t sum = mbuf_sum(pseudo_header_sum(src, dst, m->pkt_len), m);
    return static_cast<std::uint16_t>(~ones_fold(sum));
}

bool tcp_checksum_ok(Ipv4Addr src, Ipv4Addr dst, const rte_mbuf* m) {
    return ones_fold(mbuf_sum(pseudo_header_sum(src, dst, m->pkt_len), m)) == 0xffff;
}

std::uint16_t tcp_checksum(Ipv4Addr src, Ipv4Addr dst, ByteSpan segment) {
    bool odd = false;
    const std::uint32_t sum = ones_sum_add(
        pseudo_header_sum(src, dst, static_cast<std::uint32_t>(segment.size())), segment, odd);
    return static_cast<std::uint16_t>(~ones_fold(sum));
}

}  // namespace l45::tcp
