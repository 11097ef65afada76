// The TCP header on the wire: a plain representation (TcpRepr) that is parsed
// from and emitted to bytes through l45::Reader/Writer, the options l45
// understands, and the checksum with the IPv4 pseudo-header.
//
// Read first: RFC 9293 §3.1 (header format; option handling: "a TCP
// implementation MUST be able to receive a TCP option in any segment", "MUST
// ignore without error any TCP option it does not implement", illegal option
// lengths), §3.2 (option definitions), §3.7.1 (MSS), RFC 7323 §2 (window
// scale), §3 (timestamps), RFC 2018 §2-3 (SACK-permitted and SACK), RFC 9293
// §3.1 "Checksum" and RFC 1071 (the one's complement sum).
//
// Model: smoltcp's TcpPacket::new_checked + TcpRepr::parse/emit. After
// parse() succeeds nothing else reads raw header bytes.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <optional>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/net/addr.h"
#include "stack/tcp/seq.h"

namespace l45::tcp {

using net::Ipv4Addr;

inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::size_t kTcpMinHeaderLen = 20;
inline constexpr std::size_t kTcpMaxHeaderLen = 60;
inline constexpr std::size_t kTcpMaxOptionsLen = 40;
inline constexpr std::uint8_t kMaxWindowScale = 14;  // RFC 7323 §2.3
inline constexpr std::size_t kMaxSackBlocks = 4;     // fits 40 bytes of options

// Control bits (RFC 9293 §3.1; ECE/CWR from RFC 3168, not acted on yet).
namespace flags {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
inline constexpr std::uint8_t kUrg = 0x20;
inline constexpr std::uint8_t kEce = 0x40;
inline constexpr std::uint8_t kCwr = 0x80;
}  // namespace flags

// Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
namespace option {
inline constexpr std::uint8_t kEol = 0;
inline constexpr std::uint8_t kNop = 1;
inline constexpr std::uint8_t kMss = 2;
inline constexpr std::uint8_t kWindowScale = 3;
inline constexpr std::uint8_t kSackPermitted = 4;
inline constexpr std::uint8_t kSack = 5;
inline constexpr std::uint8_t kTimestamps = 8;
}  // namespace option

struct SackBlock {
    SeqNum left;   // first sequence number of the block
    SeqNum right;  // sequence number just after the block
    friend constexpr bool operator==(const SackBlock&, const SackBlock&) = default;
};

struct Timestamps {
    std::uint32_t tsval = 0;
    std::uint32_t tsecr = 0;
    friend constexpr bool operator==(const Timestamps&, const Timestamps&) = default;
};

struct TcpOptions {
    std::optional<std::uint16_t> mss;
    // As received (may exceed 14: the connection clamps it, RFC 7323 §2.3).
    std::optional<std::uint8_t> window_scale;
    bool sack_permitted = false;
    std::uint8_t num_sack_blocks = 0;
    std::array<SackBlock, kMaxSackBlocks> sack_blocks{};
    std::optional<Timestamps> timestamps;

    // Bytes the options take on the wire, padded to a multiple of 4.
    [[nodiscard]] std::size_t wire_len() const;
};

enum class TcpParseError : std::uint8_t {
    kTruncated,      // fewer bytes than the header (or data offset) says
    kBadDataOffset,  // data offset < 5
    kBadOption,      // option length < 2, overrunning the header, or wrong for its kind
    kBadChecksum,
};

[[nodiscard]] const char* to_string(TcpParseError e);

struct TcpRepr {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    SeqNum seq;
    SeqNum ack;  // meaningful only with flags::kAck
    std::uint8_t flags = 0;
    std::uint16_t window = 0;  // as on the wire (unscaled)
    std::uint16_t urgent = 0;
    TcpOptions options;
    std::uint32_t payload_len = 0;  // parse: bytes after the header; emit: informational

    [[nodiscard]] bool has(std::uint8_t f) const { return (flags & f) != 0; }
    [[nodiscard]] bool syn() const { return has(flags::kSyn); }
    [[nodiscard]] bool fin() const { return has(flags::kFin); }
    [[nodiscard]] bool rst() const { return has(flags::kRst); }
    [[nodiscard]] bool ack_flag() const { return has(flags::kAck); }
    // SEG.LEN of RFC 9293 §3.3.1: payload plus one for SYN and one for FIN.
    [[nodiscard]] std::uint32_t seg_len() const {
        return payload_len + (syn() ? 1u : 0u) + (fin() ? 1u : 0u);
    }

    [[nodiscard]] std::size_t header_len() const { return kTcpMinHeaderLen + options.wire_len(); }

    // Parses a segment (header + payload, `segment.size()` = the IP payload
    // length). The checksum is not looked at here: see tcp_checksum_ok.
    [[nodiscard]] static Result<TcpRepr, TcpParseError> parse(ByteSpan segment);
    // Parses the header found at the start of `header` when the whole segment
    // is `segment_len` bytes (the payload may live in chained mbufs).
    [[nodiscard]] static Result<TcpRepr, TcpParseError> parse_header(ByteSpan header,
                                                                     std::size_t segment_len);

    // Writes the header and options with a zero checksum; returns false when
    // `out` is too small or the options do not fit in 40 bytes.
    [[nodiscard]] bool emit(Writer& out) const;
};

// --- checksum (RFC 9293 §3.1, RFC 1071) ---

// One's complement sum of the IPv4 pseudo-header (RFC 9293 §3.1, "Checksum").
[[nodiscard]] std::uint32_t pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, std::uint32_t tcp_len);
// Adds big-endian 16-bit words of `data` to `sum`; `odd` tracks whether an
// odd number of bytes came before (so chained mbufs sum correctly).
[[nodiscard]] std::uint32_t ones_sum_add(std::uint32_t sum, ByteSpan data, bool& odd);
[[nodiscard]] std::uint16_t ones_fold(std::uint32_t sum);
// The checksum of a whole segment held in (possibly chained) mbuf `m`,
// whose data starts at the TCP header and whose pkt_len is the TCP length.
// With the checksum field zero, this is the value to store.
[[nodiscard]] std::uint16_t tcp_checksum(Ipv4Addr src, Ipv4Addr dst, const rte_mbuf* m);
// True when the stored checksum verifies.
[[nodiscard]] bool tcp_checksum_ok(Ipv4Addr src, Ipv4Addr dst, const rte_mbuf* m);
// For plain byte buffers (tests, fuzzing).
[[nodiscard]] std::uint16_t tcp_checksum(Ipv4Addr src, Ipv4Addr dst, ByteSpan segment);

// Offset of the checksum field inside the TCP header.
inline constexpr std::size_t kTcpChecksumOffset = 16;

}  // namespace l45::tcp
